import { generateKeyPairSync } from 'node:crypto';
import { access, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { AppError } from '../../shared/errors';
import { EXAMPLE_POLICY_PATH } from '../policy/example-policy-path';
import { PolicyHolder } from '../policy/policy-holder';
import { createTokenInTx } from '../service/identity-service';
import { recordPolicyLoaded } from '../service/policy-service';
import type { Caller, ServiceDeps } from '../service/service-deps';
import { loadLogKey } from '../ledger/log-key';
import { TransparencyLog } from '../ledger/transparency-log';
import { PgStore } from '../storage/postgres/pg-store';
import { SqliteStore } from '../storage/sqlite/sqlite-store';
import type { Store } from '../storage/store';
import { dataDirPaths } from './data-dir';

const DEFAULT_ADMIN = 'admin';
/** Private key files are readable by their owner only. */
const PRIVATE_FILE_MODE = 0o600;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Initialize a data directory: the commented example policy, the store's Ed25519 log signing key
 * (PKCS#8 PEM, mode 0600), the database, and the first admin token (returned once; only its hash
 * is stored). Refuses an initialized directory unless `force`; even then it never replaces an
 * existing log key or database (checkpoints and history must stay verifiable): force rewrites
 * the policy file and issues a new admin token.
 */
export async function initDataDir(
  dataDir: string,
  /** databaseUrl: a PostgreSQL database instead of <dataDir>/breakglass.db; migrated here. */
  opts: { adminPrincipal?: string; force?: boolean; databaseUrl?: string } = {},
): Promise<{ adminToken: string; policyPath: string; logKeyPath: string }> {
  const { policyPath, logKeyPath, databasePath } = dataDirPaths(dataDir);
  const initialized = (await exists(policyPath)) || (!opts.databaseUrl && (await exists(databasePath)));
  if (initialized && !opts.force) {
    throw new AppError('conflict', `${dataDir} is already initialized (found ${(await exists(policyPath)) ? policyPath : databasePath}); use --force to write a fresh policy and a new admin token`);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await copyFile(EXAMPLE_POLICY_PATH, policyPath);
  if (!(await exists(logKeyPath))) {
    const { privateKey } = generateKeyPairSync('ed25519');
    await writeFile(logKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  }
  // Entries are bound by the log key as they are appended, and a checkpoint signed before the
  // store first starts: its start-up check refuses unbound rows and rows with no checkpoint.
  const logKey = await loadLogKey(logKeyPath);
  const store: Store = opts.databaseUrl ? await PgStore.open({ databaseUrl: opts.databaseUrl, binder: logKey.binder }) : SqliteStore.open(databasePath, { binder: logKey.binder });
  try {
    const policies = await PolicyHolder.load(policyPath);
    const clock = () => new Date();
    const deps: ServiceDeps = {
      store,
      policies,
      clock,
      verifyDecision: async () => {
        throw new AppError('internal', 'init does not verify decisions');
      },
    };
    const principal = opts.adminPrincipal ?? DEFAULT_ADMIN;
    const caller: Caller = { principal, roles: ['admin'], sourceAddress: 'local:admin-init' };
    await recordPolicyLoaded(deps, caller);
    const created = await store.transaction((tx) => createTokenInTx(tx, caller, { principal, roles: ['admin'] }, clock()));
    const log = await TransparencyLog.open({ store, dataDir, clock });
    await log.close();
    return { adminToken: created.token, policyPath, logKeyPath };
  } finally {
    await store.close();
  }
}
