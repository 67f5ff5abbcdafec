import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role } from '../../shared/domain/common';
import type { DecisionKind, SigstoreBundleJson } from '../../shared/domain/decision';
import type { BypassRequest } from '../../shared/domain/request';
import { fileKeySigner, generateSoftwareKeyPair } from '../../shared/node/signing/software-signer';
import { signDecision } from '../../shared/node/signing/sign-decision';
import type { DecisionSigner } from '../../shared/node/signing/signer';
import { newDecisionStatement } from '../../shared/signing/decision-statement';
import { initDataDir } from '../../grant-store/admin/init';
import { startGrantStore, type RunningGrantStore } from '../../grant-store/http/server';
import { buildPivAttestation } from './piv-attestation';

const FIXTURE_ROOT_ID = 'fixture-piv';

/**
 * The policy text with one more attestation root (PIV unless `kind` says tpm): appended to its `attestation.roots` list
 * when it has one (the example policy does), else as a new `attestation` section.
 */
export function withAttestationRoot(policyYaml: string, id: string, rootPem: string, kind: 'piv' | 'tpm' = 'piv'): string {
  const certificate = rootPem.trimEnd().split('\n').map((l) => `        ${l}`).join('\n');
  const entry = `    - id: ${id}\n      kind: ${kind}\n      certificate: |\n${certificate}\n`;
  if (/^attestation:\n {2}roots:\n/m.test(policyYaml)) return policyYaml.replace(/^attestation:\n {2}roots:\n/m, (head) => head + entry);
  return `${policyYaml.trimEnd()}\nattestation:\n  roots:\n${entry}`;
}

/**
 * A real grant store on a temp data dir (port 0, 127.0.0.1) for integration tests, with helpers
 * to call it as any principal and to sign decisions with freshly enrolled software keys.
 * The caller must `await fixture.close()` (it removes the data dir too).
 */
export interface StoreFixture {
  url: string;
  dataDir: string;
  adminToken: string;
  clock: TestClock;
  store: RunningGrantStore;
  call(method: string, path: string, opts?: CallOptions): Promise<CallResult>;
  token(principal: string, roles: Role[]): Promise<string>;
  /**
   * Token + enrolled key for an approver: a software key, or (`attested`) a key enrolled with a
   * PIV attestation chaining to the fixture's test root, as a safety gate's tier requires.
   */
  approver(principal: string, opts?: { hardwareBacked?: boolean; attested?: boolean; roles?: Role[] }): Promise<{ token: string; signer: DecisionSigner }>;
  sign(request: BypassRequest, approver: string, signer: DecisionSigner, decision: DecisionKind, opts?: { ttl?: string; comment?: string }): Promise<SigstoreBundleJson>;
  ledgerSize(): Promise<number>;
  close(): Promise<void>;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as is (malformed JSON tests). */
  rawBody?: string | Buffer;
  contentType?: string | null;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  text: string;
}

/** A settable clock: real time plus an offset the test can advance. */
export class TestClock {
  offsetMs = 0;
  now = (): Date => new Date(Date.now() + this.offsetMs);
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** `databaseUrl`: run on PostgreSQL (a database of the caller's, e.g. createTempDatabase()) instead of the data dir's SQLite. */
export async function startStoreFixture(opts: { policyYaml?: string; databaseUrl?: string } = {}): Promise<StoreFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-store-'));
  const { adminToken, policyPath } = await initDataDir(dataDir, opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : undefined);
  // The fixture's own PIV root, added to the policy's attestation roots, so `approver(name,
  // { attested: true })` can enroll keys a safety gate's tier accepts.
  const piv = await buildPivAttestation();
  await writeFile(policyPath, withAttestationRoot(opts.policyYaml ?? (await readFile(policyPath, 'utf8')), FIXTURE_ROOT_ID, piv.rootPem));
  const clock = new TestClock();
  const store = await startGrantStore({ dataDir, port: 0, clock: clock.now, sweepIntervalMs: 50, databaseUrl: opts.databaseUrl });

  const call = async (method: string, path: string, o: CallOptions = {}): Promise<CallResult> => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let payload: string | Buffer | undefined;
    if (o.rawBody !== undefined) payload = o.rawBody;
    else if (o.body !== undefined) payload = JSON.stringify(o.body);
    if (payload !== undefined && o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
    const response = await fetch(store.url + path, { method, headers, body: payload });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text };
  };

  const token = async (principal: string, roles: Role[]): Promise<string> => {
    const r = await call('POST', '/v1/admin/tokens', { token: adminToken, body: { principal, roles } });
    if (r.status !== 201) throw new Error(`token create failed: ${r.text}`);
    return r.json.token as string;
  };

  const approver = async (principal: string, o: { hardwareBacked?: boolean; attested?: boolean; roles?: Role[] } = {}) => {
    const attested = o.attested ? await buildPivAttestation({ root: piv.root }) : undefined;
    const pair = attested ?? generateSoftwareKeyPair();
    const body = attested ? { publicKeyPem: attested.publicKeyPem, attestation: { kind: 'piv', certificates: attested.certificates } } : { publicKeyPem: pair.publicKeyPem, hardwareBacked: o.hardwareBacked ?? false };
    const r = await call('POST', `/v1/admin/approvers/${principal}/keys`, { token: adminToken, body });
    if (r.status !== 201) throw new Error(`key enroll failed: ${r.text}`);
    return { token: await token(principal, o.roles ?? ['approver']), signer: fileKeySigner(pair.privateKeyPem) };
  };

  const sign = async (request: BypassRequest, approverName: string, signer: DecisionSigner, decision: DecisionKind, o: { ttl?: string; comment?: string } = {}) => {
    const statement = newDecisionStatement({
      request: { id: request.id, digest: request.digest },
      decision,
      approver: approverName,
      comment: o.comment ?? `${decision} after looking at the incident`,
      ...(decision === 'approve' ? { ttl: o.ttl ?? request.ttl } : {}),
      nonceHex: randomBytes(16).toString('hex'),
      now: new Date(),
    });
    return signDecision(statement, signer);
  };

  const ledgerSize = async () => {
    const r = await call('GET', '/v1/ledger/entries?from=0&limit=1', { token: adminToken });
    return r.json.treeSize as number;
  };

  return {
    url: store.url,
    dataDir,
    adminToken,
    clock,
    store,
    call,
    token,
    approver,
    sign,
    ledgerSize,
    async close() {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
