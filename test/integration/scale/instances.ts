import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Role } from '../../../shared/domain/common';
import type { BypassRequest } from '../../../shared/domain/request';
import { signDecision } from '../../../shared/node/signing/sign-decision';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../shared/node/signing/software-signer';
import type { DecisionSigner } from '../../../shared/node/signing/signer';
import { newDecisionStatement } from '../../../shared/signing/decision-statement';
import type { DecisionKind, SigstoreBundleJson } from '../../../shared/domain/decision';
import { waitForReadyLine } from '../../support/ready-line';
import { sseFrames } from '../../support/sse-frames';

/**
 * Real grant-store processes (`breakglass serve --database-url`) on one Postgres database, and
 * the HTTP helpers the scale tests drive them with. Every instance has its own data dir holding
 * the same policy and log key (what a fleet of stateless instances is given as configuration).
 */

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'breakglass.cjs');
/** A process that has not printed its URL by then is not coming up. */
const START_TIMEOUT_MS = 60_000;

export interface Instance {
  name: string;
  url: string;
  dataDir: string;
  child: ChildProcess;
  stderr: () => string;
  /** SIGTERM (clean) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown of any kind, open transactions die with the connection. */
  kill(): Promise<void>;
}

/** A fresh data dir for one more instance: same policy and log key as `template`. */
export async function instanceDataDir(template: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await copyFile(join(template, 'policy.yaml'), join(dir, 'policy.yaml'));
  await copyFile(join(template, 'log-key.pem'), join(dir, 'log-key.pem'));
  // The log's name (admin init writes it beside the key): without it the copy would be an older
  // data dir's log, breakglass.local/<id>, and refuse the fleet's checkpoints as another log's.
  if (existsSync(join(template, 'log-origin'))) await copyFile(join(template, 'log-origin'), join(dir, 'log-origin'));
  return dir;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** `databaseUrl` undefined: the instance serves the data dir's own SQLite database. */
export async function startInstance(name: string, dataDir: string, databaseUrl: string | undefined): Promise<Instance> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, ...(databaseUrl ? ['--database-url', databaseUrl] : []), '--port', '0', '--json'], {
    cwd: ROOT,
    env: { ...process.env, BREAKGLASS_DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const ready = await waitForReadyLine(child, { what: name, timeoutMs: START_TIMEOUT_MS, diagnostics: () => `:\n${err}` });
  const url = (JSON.parse(ready) as { url: string }).url;
  return {
    name,
    url,
    dataDir,
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited(child);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited(child);
    },
  };
}

export interface CallResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export async function call(base: string, method: string, path: string, token: string, body?: unknown): Promise<CallResult> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

export async function createToken(base: string, adminToken: string, principal: string, roles: Role[]): Promise<string> {
  const r = await call(base, 'POST', '/v1/admin/tokens', adminToken, { principal, roles });
  if (r.status !== 201) throw new Error(`token for ${principal}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.token as string;
}

export interface Approver {
  name: string;
  token: string;
  signer: DecisionSigner;
}

export async function enrollApprover(base: string, adminToken: string, name: string): Promise<Approver> {
  const pair = generateSoftwareKeyPair();
  const r = await call(base, 'POST', `/v1/admin/approvers/${name}/keys`, adminToken, { publicKeyPem: pair.publicKeyPem });
  if (r.status !== 201) throw new Error(`enroll ${name}: ${r.status} ${JSON.stringify(r.json)}`);
  return { name, token: await createToken(base, adminToken, name, ['approver']), signer: fileKeySigner(pair.privateKeyPem) };
}

export function signAs(approver: Approver, request: Pick<BypassRequest, 'id' | 'digest' | 'ttl'>, decision: DecisionKind = 'approve'): Promise<SigstoreBundleJson> {
  const statement = newDecisionStatement({
    request: { id: request.id, digest: request.digest },
    decision,
    approver: approver.name,
    comment: `${decision}: checked the incident and the scope`,
    ...(decision === 'approve' ? { ttl: request.ttl } : {}),
    nonceHex: randomBytes(16).toString('hex'),
    now: new Date(),
  });
  return signDecision(statement, approver.signer);
}

export async function writePolicy(dataDir: string, yaml: string): Promise<void> {
  await writeFile(join(dataDir, 'policy.yaml'), yaml);
}

/** Read an SSE stream, calling `onEvent` for each `data:` payload until `signal` aborts. */
export async function readEvents(base: string, token: string, signal: AbortSignal, onEvent: (data: string) => void): Promise<void> {
  const response = await fetch(`${base}/v1/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal });
  if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
  try {
    for await (const block of sseFrames(response.body as unknown as AsyncIterable<Uint8Array>)) {
      for (const line of block.split('\n')) if (line.startsWith('data: ')) onEvent(line.slice(6));
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}
