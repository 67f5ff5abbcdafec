import { generateKeyPairSync } from 'node:crypto';
import { access, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { AppError } from '../../shared/errors';
import { EXAMPLE_POLICY_PATH } from '../policy/example-policy-path';
import { PolicyHolder } from '../policy/policy-holder';
import { createTokenInTx } from '../service/identity-service';
import { recordPolicyLoaded } from '../service/policy-service';
import type { Caller, ServiceDeps } from '../service/service-deps';
import { ORIGIN_HOST, checkOrigin, loadLogKey, readLogOrigin } from '../ledger/log-key';
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
  /** origin: the log's name in every checkpoint (default breakglass.local/<id from the key>); set once, at the first init. */
  opts: { adminPrincipal?: string; force?: boolean; databaseUrl?: string; origin?: string } = {},
): Promise<{ adminToken: string; policyPath: string; logKeyPath: string; origin: string }> {
  const { policyPath, logKeyPath, logOriginPath, databasePath } = dataDirPaths(dataDir);
  if (opts.origin !== undefined) checkOrigin(opts.origin);
  const initialized = (await exists(policyPath)) || (!opts.databaseUrl && (await exists(databasePath)));
  if (initialized && !opts.force) {
    throw new AppError('conflict', `${dataDir} is already initialized (found ${(await exists(policyPath)) ? policyPath : databasePath}); use --force to write a fresh policy and a new admin token`);
  }
  const keyExisted = await exists(logKeyPath);
  if (opts.origin !== undefined) {
    // Checkpoints, cosignatures and every client's saved state name the log by its origin: it never changes.
    const current = await readLogOrigin(logOriginPath);
    if (current !== undefined && current !== opts.origin) throw new AppError('conflict', `${dataDir}'s log is named ${current} (${logOriginPath}); a log keeps its origin`);
    if (current === undefined && keyExisted) throw new AppError('conflict', `${dataDir}'s log already signs as ${ORIGIN_HOST}/<id> with ${logKeyPath}; a log keeps its origin (leave out --origin)`);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await copyFile(EXAMPLE_POLICY_PATH, policyPath);
  if (opts.origin !== undefined && !(await exists(logOriginPath))) await writeFile(logOriginPath, `${opts.origin}\n`, { mode: 0o644, flag: 'wx' });
  if (!keyExisted) {
    const { privateKey } = generateKeyPairSync('ed25519');
    await writeFile(logKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  }
  // Entries are bound by the log key as they are appended, and a checkpoint signed before the
  // store first starts: its start-up check refuses unbound rows and rows with no checkpoint.
  const logKey = await loadLogKey(logKeyPath, { originPath: logOriginPath });
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
    const log = await TransparencyLog.open({ store, dataDir, clock, key: logKey });
    await log.close();
    return { adminToken: created.token, policyPath, logKeyPath, origin: logKey.origin };
  } finally {
    await store.close();
  }
}
