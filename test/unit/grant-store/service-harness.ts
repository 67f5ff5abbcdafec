import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role } from '../../../shared/domain/common';
import { verifyDecisionBundle } from '../../../shared/node/signing/verify-decision';
import { EXAMPLE_POLICY_PATH } from '../../../grant-store/policy/example-policy-path';
import { PolicyHolder } from '../../../grant-store/policy/policy-holder';
import type { Caller, ServiceDeps } from '../../../grant-store/service/service-deps';
import { SqliteStore } from '../../../grant-store/storage/sqlite/sqlite-store';

/** The service layer over a real SQLite store in a temp dir, with a clock the test moves. */
export interface Harness {
  deps: ServiceDeps;
  store: SqliteStore;
  /** The SQLite file (tests that edit the database behind the store's back open it themselves). */
  dbPath: string;
  now: { ms: number };
  caller(principal: string, ...roles: Role[]): Caller;
  close(): Promise<void>;
}

export async function startHarness(policyPath = EXAMPLE_POLICY_PATH): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-service-'));
  const dbPath = join(dir, 'breakglass.db');
  const store = SqliteStore.open(dbPath);
  const now = { ms: Date.parse('2026-06-22T03:14:07.000Z') };
  const clock = () => new Date(now.ms);
  const policies = await PolicyHolder.load(policyPath, clock);
  return {
    deps: { store, policies, clock, verifyDecision: verifyDecisionBundle },
    store,
    dbPath,
    now,
    caller: (principal, ...roles) => ({ principal, roles, sourceAddress: '127.0.0.1' }),
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
