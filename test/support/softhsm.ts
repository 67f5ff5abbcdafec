// A throwaway SoftHSM2 token for tests of hardware-key signing. Each call makes its own
// SOFTHSM2_CONF and token directory under os.tmpdir(), so tests never see a real token.
//
//   const token = await createSoftHsmToken();
//   process.env.SOFTHSM2_CONF = token.confPath; // before the first C_Initialize in this process
//   ... openPkcs11Signer({ modulePath: token.modulePath, tokenLabel: token.label, ... })
//   await token.cleanup(); // in after()
//
// SoftHSM reads SOFTHSM2_CONF at C_Initialize; pass token.env to child processes.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const MODULE_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

export interface TestToken {
  modulePath: string;
  confPath: string;
  dir: string;
  label: string;
  userPin: string;
  soPin: string;
  env: { SOFTHSM2_CONF: string };
  cleanup(): Promise<void>;
}

export function softHsmModulePath(): string {
  const found = MODULE_CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error(`libsofthsm2.so not found (looked in ${MODULE_CANDIDATES.join(', ')}): apt-get install softhsm2`);
  return found;
}

export async function createSoftHsmToken(opts: { label?: string; userPin?: string; soPin?: string } = {}): Promise<TestToken> {
  const label = opts.label ?? 'bg-test';
  const userPin = opts.userPin ?? '123456';
  const soPin = opts.soPin ?? '654321';
  const dir = await mkdtemp(join(tmpdir(), 'bg-softhsm-'));
  const tokenDir = join(dir, 'tokens');
  await mkdir(tokenDir);
  const confPath = join(dir, 'softhsm2.conf');
  await writeFile(confPath, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const env = { SOFTHSM2_CONF: confPath };
  await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', userPin, '--so-pin', soPin], { env: { ...process.env, ...env } });
  return { modulePath: softHsmModulePath(), confPath, dir, label, userPin, soPin, env, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Add another initialized token to the same SoftHSM configuration. */
export async function addSoftHsmToken(token: TestToken, label: string): Promise<void> {
  await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', token.userPin, '--so-pin', token.soPin], { env: { ...process.env, ...token.env } });
}
