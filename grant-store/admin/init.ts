import { generateKeyPairSync } from 'node:crypto';
import { access, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { AppError } from '../../shared/errors';
import { EXAMPLE_POLICY_PATH } from '../policy/example-policy-path';
import { PolicyHolder } from '../policy/policy-holder';
import { createTokenInTx } from '../service/identity-service';
import { recordPolicyLoaded } from '../service/policy-service';
import type { Caller, ServiceDeps } from '../service/service-deps';
import { ORIGIN_HOST, checkOrigin, loadLogKey, machineLogOrigin, originFromPublicUrl, readLogOrigin } from '../ledger/log-key';
import type { EntryBindingVersion } from '../../shared/ledger/entry-binding';
import { isLoopbackHost } from '../http/loopback';
import { rawEd25519PublicKey } from '../../shared/node/ledger/node-crypto';
import { TransparencyLog } from '../ledger/transparency-log';
import { PgStore } from '../storage/postgres/pg-store';
import { SqliteStore } from '../storage/sqlite/sqlite-store';
import type { Store } from '../storage/store';
import { dataDirPaths } from './data-dir';

const DEFAULT_ADMIN = 'admin';
/** Private key files are readable by their owner only. */
const PRIVATE_FILE_MODE = 0o600;

/** The store's public address for naming a new log, and where it came from (for messages). */
export interface PublicUrl {
  url: string;
  /** The flag or variable it came from, e.g. `--public-url`, `BREAKGLASS_STORE`. */
  from: string;
  /**
   * Asked for on purpose (`--public-url`): refused when it would rename an existing log. A store
   * URL the CLI happens to be configured with only names a new log.
   */
  explicit: boolean;
}

/**
 * The origin a public URL names; a loopback address names no store anyone else reaches. A URL
 * asked for on purpose that cannot name a log is bad input; one the CLI merely happens to be
 * configured with names nothing (undefined) and the machine's name is used instead.
 */
function originOfPublicUrl(publicUrl: PublicUrl): string | undefined {
  let origin: string;
  try {
    origin = originFromPublicUrl(publicUrl.url, publicUrl.from);
  } catch (error) {
    if (publicUrl.explicit) throw error;
    return undefined;
  }
  if (isLoopbackHost(new URL(publicUrl.url).hostname)) {
    if (!publicUrl.explicit) return undefined;
    throw new AppError('invalid_input', `${publicUrl.from} ${publicUrl.url} is a loopback address: a log is named after the address its clients reach (e.g. https://breakglass.example.com)`, {
      fieldErrors: [{ path: publicUrl.from, message: 'not a loopback address' }],
    });
  }
  return origin;
}

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
  /** origin: the log's name in every checkpoint; set once, at the first init (see publicUrl for the default). */
  /** publicUrl: the store's public address; a new log without `origin` is named after it, else after this machine (log-key.ts machineLogOrigin). */
  /** entryBindings: which bindings its entries get (v1 during a rolling upgrade, docs/scaling.md); default v2. */
  opts: { adminPrincipal?: string; force?: boolean; databaseUrl?: string; origin?: string; publicUrl?: PublicUrl; entryBindings?: EntryBindingVersion } = {},
): Promise<{ adminToken: string; policyPath: string; logKeyPath: string; origin: string }> {
  const { policyPath, logKeyPath, logOriginPath, databasePath } = dataDirPaths(dataDir);
  if (opts.origin !== undefined) checkOrigin(opts.origin);
  const fromUrl = opts.origin === undefined && opts.publicUrl ? originOfPublicUrl(opts.publicUrl) : undefined;
  const initialized = (await exists(policyPath)) || (!opts.databaseUrl && (await exists(databasePath)));
  if (initialized && !opts.force) {
    throw new AppError('conflict', `${dataDir} is already initialized (found ${(await exists(policyPath)) ? policyPath : databasePath}); use --force to write a fresh policy and a new admin token`);
  }
  const keyExisted = await exists(logKeyPath);
  // Checkpoints, cosignatures and every client's saved state name the log by its origin: it never changes.
  const current = await readLogOrigin(logOriginPath);
  const asked = opts.origin ?? (opts.publicUrl?.explicit ? fromUrl : undefined);
  if (asked !== undefined) {
    const how = opts.origin !== undefined ? '--origin' : opts.publicUrl!.from;
    if (current !== undefined && current !== asked) throw new AppError('conflict', `${dataDir}'s log is named ${current} (${logOriginPath}); a log keeps its origin (leave out ${how})`);
    if (current === undefined && keyExisted) throw new AppError('conflict', `${dataDir}'s log already signs as ${ORIGIN_HOST}/<id> with ${logKeyPath}; a log keeps its origin (leave out ${how})`);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await copyFile(EXAMPLE_POLICY_PATH, policyPath);
  if (!keyExisted) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    // A new log is named before its key is written: a data dir with a key and no log-origin is one from before origins.
    const origin = current ?? opts.origin ?? fromUrl ?? machineLogOrigin(hostname(), rawEd25519PublicKey(publicKey));
    if (current === undefined) await writeFile(logOriginPath, `${origin}\n`, { mode: 0o644, flag: 'wx' });
    await writeFile(logKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  }
  // Entries are bound by the log key as they are appended, and a checkpoint signed before the
  // store first starts: its start-up check refuses unbound rows and rows with no checkpoint.
  const logKey = await loadLogKey(logKeyPath, { originPath: logOriginPath, entryBindings: opts.entryBindings });
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
