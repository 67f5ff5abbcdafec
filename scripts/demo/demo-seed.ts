import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Role } from '../../shared/domain/common';
import type { TpmChallenge, TpmChallengeInput, TpmEkAttestationInput } from '../../shared/domain/identity';
import { AppError, ErrorResponseSchema } from '../../shared/errors';
import { writeKeyPairFiles } from '../../shared/node/signing/key-files';

/** Demo principals, matching the example policy's teams and approver groups. */
export const DEMO_PRINCIPALS: { name: string; roles: Role[]; about: string; signingKey: boolean }[] = [
  { name: 'alice', roles: ['requester'], about: 'requester, team payments', signingKey: false },
  { name: 'bob', roles: ['approver'], about: 'approver, team platform (platform-leads)', signingKey: true },
  { name: 'carol', roles: ['approver'], about: 'approver, team security (security-leads)', signingKey: true },
  { name: 'erin', roles: ['auditor'], about: 'auditor: reviews, ledger export', signingKey: false },
  { name: 'ci-gate', roles: ['gate'], about: 'a CI job asking the gate', signingKey: false },
];

/** What the demo remembers between runs (demo only: real tokens are never stored like this). */
export interface DemoCredentials {
  tokens: Record<string, string>;
  /** Private key file per approver, relative to the repository root. */
  keys: Record<string, string>;
  /**
   * Where swtpm is installed: a second key per approver, made in the demo's software TPM and
   * enrolled as attested (the TPM key file, relative to the repository root). The walkthrough's
   * critical-tier approvals sign with it.
   */
  tpmKeys?: Record<string, string>;
}

/** Makes an approver's TPM key, its certification and the answer to the store's challenge (scripts/demo/demo-tpm.ts). */
export type DemoTpmKeyMaker = (principal: string, index: number, challenge: (input: TpmChallengeInput) => Promise<TpmChallenge>) => Promise<{ keyFile: string; attestation: TpmEkAttestationInput; publicKeyPem: string }>;

const CREDENTIALS_FILE = 'demo-credentials.json';
const CREDENTIALS_MODE = 0o600;

/** Where the demo keeps an approver's private key (0600, in a 0700 dir). */
export function demoKeyPath(dataDir: string, principal: string): string {
  return join(dataDir, 'keys', `${principal}.pem`);
}

export function credentialsPath(dataDir: string): string {
  return join(dataDir, CREDENTIALS_FILE);
}

export async function readCredentials(dataDir: string): Promise<DemoCredentials | undefined> {
  try {
    return JSON.parse(await readFile(credentialsPath(dataDir), 'utf8')) as DemoCredentials;
  } catch {
    return undefined;
  }
}

async function call<T>(storeUrl: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${storeUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const parsed = ErrorResponseSchema.safeParse(json);
    throw parsed.success ? AppError.fromBody(parsed.data.error) : new AppError('internal', `${method} ${path}: HTTP ${response.status}`);
  }
  return json as T;
}

/**
 * Create a token for every demo principal and a software signing key for each approver
 * (written under <dataDir>/keys, enrolled with the store), through the store's own API.
 */
export async function seedDemo(storeUrl: string, adminToken: string, dataDir: string, relativeTo: (path: string) => string, tpmKey?: DemoTpmKeyMaker): Promise<DemoCredentials> {
  const credentials: DemoCredentials = { tokens: { admin: adminToken }, keys: {}, ...(tpmKey ? { tpmKeys: {} } : {}) };
  let tpmIndex = 0;
  await mkdir(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
  for (const p of DEMO_PRINCIPALS) {
    const created = await call<{ token: string }>(storeUrl, adminToken, 'POST', '/v1/admin/tokens', { principal: p.name, roles: p.roles });
    credentials.tokens[p.name] = created.token;
    if (p.signingKey) {
      const written = await writeKeyPairFiles(demoKeyPath(dataDir, p.name));
      await call(storeUrl, adminToken, 'POST', `/v1/admin/approvers/${p.name}/keys`, { publicKeyPem: written.publicKeyPem, hardwareBacked: false, label: 'demo software key' });
      credentials.keys[p.name] = relativeTo(written.privateKeyPath);
      if (tpmKey && credentials.tpmKeys) {
        const made = await tpmKey(p.name, tpmIndex++, (input) => call<TpmChallenge>(storeUrl, adminToken, 'POST', `/v1/approvers/${p.name}/tpm-challenges`, input));
        const keyFilePath = join(dataDir, 'keys', `${p.name}.tpm.json`);
        await writeFile(keyFilePath, made.keyFile, { mode: 0o600 });
        await call(storeUrl, adminToken, 'POST', `/v1/admin/approvers/${p.name}/keys`, { publicKeyPem: made.publicKeyPem, attestation: made.attestation, label: 'demo key in swtpm' });
        credentials.tpmKeys[p.name] = relativeTo(keyFilePath);
      }
    }
  }
  await writeFile(credentialsPath(dataDir), `${JSON.stringify(credentials, null, 2)}\n`, { mode: CREDENTIALS_MODE });
  await chmod(credentialsPath(dataDir), CREDENTIALS_MODE);
  return credentials;
}
