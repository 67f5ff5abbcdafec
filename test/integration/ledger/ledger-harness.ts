import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PublicKey, TrustedRoot } from '@sigstore/protobuf-specs';
import { bundleFromJSON } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import type { SigstoreBundleJson } from '../../../shared/domain/decision';
import { keyIdFromPublicKeyPem } from '../../../shared/node/signing/key-id';
import { signDecision } from '../../../shared/node/signing/sign-decision';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../shared/node/signing/software-signer';
import { newDecisionStatement } from '../../../shared/signing/decision-statement';
import { initDataDir } from '../../../grant-store/admin/init';
import { startGrantStore, type GrantStoreOptions, type RunningGrantStore } from '../../../grant-store/http/server';

/** A real store (in-process, real HTTP on 127.0.0.1, real SQLite) with a few people and decisions. */
export interface LedgerWorld {
  tmp: string;
  dataDir: string;
  store: RunningGrantStore;
  tokens: Record<string, string>;
  keys: Record<string, { privateKeyPem: string; publicKeyPem: string; keyId: string }>;
  api<T>(who: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  restart(): Promise<void>;
}

/**
 * `databaseUrl`: the same world on PostgreSQL instead of the embedded SQLite file; `origin`: the
 * log's origin (admin init --origin); `beforeStart`: a last change to the data dir (the policy) before the store starts;
 * `storeOptions`: an injected clock, witness timers and logger.
 */
export async function startLedgerWorld(
  opts: { databaseUrl?: string; origin?: string; beforeStart?: (dataDir: string) => Promise<void>; storeOptions?: Pick<GrantStoreOptions, 'clock' | 'witnessTimers' | 'logger'> } = {},
): Promise<LedgerWorld> {
  const tmp = await mkdtemp(join(tmpdir(), 'breakglass-ledger-'));
  const dataDir = join(tmp, 'data');
  const { databaseUrl } = opts;
  const { adminToken } = await initDataDir(dataDir, { databaseUrl, origin: opts.origin });
  await opts.beforeStart?.(dataDir);
  const world: LedgerWorld = {
    tmp,
    dataDir,
    store: await startGrantStore({ dataDir, port: 0, databaseUrl, ...opts.storeOptions }),
    tokens: { admin: adminToken },
    keys: {},
    async api<T>(who: string, method: string, path: string, body?: unknown) {
      const res = await fetch(world.store.url + path, {
        method,
        headers: { authorization: `Bearer ${world.tokens[who]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as T };
    },
    async restart() {
      // Same port: the client's saved checkpoint is kept per store host:port.
      const port = Number(new URL(world.store.url).port);
      await world.store.close();
      world.store = await startGrantStore({ dataDir, port, databaseUrl, ...opts.storeOptions });
    },
  };
  for (const [principal, roles] of [
    ['alice', ['requester']],
    ['bob', ['approver']],
    ['carol', ['approver']],
    ['erin', ['auditor']],
  ] as const) {
    const r = await world.api<{ token: string }>('admin', 'POST', '/v1/admin/tokens', { principal, roles });
    if (r.status !== 201) throw new Error(`token for ${principal}: ${JSON.stringify(r.body)}`);
    world.tokens[principal] = r.body.token;
  }
  for (const who of ['bob', 'carol']) {
    const pair = generateSoftwareKeyPair();
    const r = await world.api('admin', 'POST', `/v1/admin/approvers/${who}/keys`, { publicKeyPem: pair.publicKeyPem });
    if (r.status !== 201) throw new Error(`enroll ${who}: ${JSON.stringify(r.body)}`);
    world.keys[who] = { ...pair, keyId: keyIdFromPublicKeyPem(pair.publicKeyPem) };
  }
  return world;
}

/** alice files a request on ci-tests; `approver` signs `decision` on it. Returns the request id. */
export async function fileAndDecide(world: LedgerWorld, approver: 'bob' | 'carol', decision: 'approve' | 'deny'): Promise<string> {
  const created = await world.api<{ request: { id: string } }>('alice', 'POST', '/v1/requests', {
    gate: 'ci-tests',
    scope: { repo: 'payments-api', branch: 'main' },
    reason: 'Flaky integration suite blocks the INC-7 hotfix release',
    severity: 'sev3',
    ttl: '1h',
  });
  if (created.status !== 201) throw new Error(`request: ${JSON.stringify(created.body)}`);
  const id = created.body.request.id;
  const detail = await world.api<{ request: { digest: string } }>(approver, 'GET', `/v1/requests/${id}`);
  const statement = newDecisionStatement({
    request: { id, digest: detail.body.request.digest },
    decision,
    approver,
    comment: decision === 'approve' ? 'ok for the hotfix' : 'use the retry job instead',
    ...(decision === 'approve' ? { ttl: '1h' } : {}),
    nonceHex: randomBytes(16).toString('hex'),
    now: new Date(),
  });
  const bundle = await signDecision(statement, fileKeySigner(world.keys[approver]!.privateKeyPem));
  const r = await world.api('bob' === approver ? 'bob' : 'carol', 'POST', `/v1/requests/${id}/decisions`, { bundle });
  if (r.status !== 200 && r.status !== 201) throw new Error(`decision: ${r.status} ${JSON.stringify(r.body)}`);
  return id;
}

/** Stock @sigstore/verify with the ledger's trusted root and approver keys; throws when it refuses. */
export function sigstoreVerify(bundle: SigstoreBundleJson | unknown, trustedRoot: unknown, publicKeys: Record<string, unknown>): void {
  const keys = Object.fromEntries(Object.entries(publicKeys).map(([hint, key]) => [hint, PublicKey.fromJSON(key)]));
  const material = toTrustMaterial(TrustedRoot.fromJSON(trustedRoot), keys);
  new Verifier(material, { tlogThreshold: 1 }).verify(toSignedEntity(bundleFromJSON(bundle)));
}
