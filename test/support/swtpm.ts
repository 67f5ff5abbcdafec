// A real software TPM 2.0 (swtpm) for tests of TPM key attestation, started per test file on a
// unix socket in a temp dir and stopped (its process killed, the dir removed) by stop().
//
//   const tpm = await startSwtpm();
//   const key = await tpm.createKey('approver');           // a signing key, persistent
//   const ak = await tpm.createKey('ak', { restricted: true });
//   ... tpmEnrollmentAttestation({ tcti: tpm.tcti, keyHandle: key.handle, akHandle: ak.handle, ... })
//   await tpm.stop();                                       // in after()
//
// tpm2-tools talk to it without a resource manager, so every object a command loads is flushed
// right after it (swtpm holds only 3 transient objects); the keys live at persistent handles.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What the TPM tests need from the machine, with the package that provides each. */
const TPM_TOOLS: [string, string][] = [
  ['swtpm', 'swtpm'],
  ['tpm2_send', 'tpm2-tools'],
  ['tpm2_createprimary', 'tpm2-tools'],
];
export const SWTPM_APT_LINE = 'sudo apt-get install -y --no-install-recommends swtpm swtpm-tools tpm2-tools';

/** Fail (never skip) when the software TPM is not installed, with the exact install line. */
export function requireSwtpm(): void {
  const missing = TPM_TOOLS.filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0).map(([cmd]) => cmd);
  if (missing.length) throw new Error(`the TPM attestation tests need a real software TPM; missing ${missing.join(', ')}. Install with:\n  ${SWTPM_APT_LINE}`);
}

export interface TpmKey {
  /** Persistent handle (0x81…). */
  handle: number;
  /** TPM2B_PUBLIC as the TPM returned it. */
  publicArea: Uint8Array;
  /** SPKI PEM of the key. */
  publicKeyPem: string;
}

export interface Swtpm {
  tcti: string;
  dir: string;
  /** Run a tpm2-tools command against this TPM, then flush what it left loaded. */
  tool(name: string, args: string[]): Promise<string>;
  /**
   * Create an ECDSA P-256 signing key under the storage primary and make it persistent.
   * `restricted` makes an attestation key; `attributes` overrides the object attributes.
   */
  createKey(name: string, opts?: { restricted?: boolean; attributes?: string }): Promise<TpmKey>;
  stop(): Promise<void>;
}

const PRIMARY_HANDLE = 0x81000001;

export async function startSwtpm(): Promise<Swtpm> {
  requireSwtpm();
  const dir = await mkdtemp(join(tmpdir(), 'bg-swtpm-'));
  const socket = join(dir, 'tpm.sock');
  // The swtpm TCTI finds the control channel at <path>.ctrl.
  const child: ChildProcess = spawn('swtpm', ['socket', '--tpm2', '--tpmstate', `dir=${dir}`, '--server', `type=unixio,path=${socket}`, '--ctrl', `type=unixio,path=${socket}.ctrl`, '--flags', 'not-need-init,startup-clear'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // swtpm creates both sockets before it serves; wait for them (or for it to die).
  const deadline = Date.now() + 10_000;
  while (!(existsSync(socket) && existsSync(`${socket}.ctrl`))) {
    if (child.exitCode !== null) throw new Error(`swtpm exited before serving: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`swtpm did not create ${socket} within 10 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const tcti = `swtpm:path=${socket}`;
  const env = { ...process.env, TPM2TOOLS_TCTI: tcti };
  let counter = 0;
  const tool = async (name: string, args: string[]): Promise<string> => {
    try {
      const { stdout } = await run(name, args, { env, cwd: dir });
      return stdout;
    } catch (error) {
      throw new Error(`${name} ${args.join(' ')}: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`);
    } finally {
      await run('tpm2_flushcontext', ['-t'], { env }).catch(() => undefined); // nothing loaded is fine
    }
  };
  await tool('tpm2_createprimary', ['-C', 'o', '-g', 'sha256', '-G', 'ecc', '-c', 'primary.ctx', '-Q']);
  await tool('tpm2_evictcontrol', ['-C', 'o', '-c', 'primary.ctx', `0x${PRIMARY_HANDLE.toString(16)}`, '-Q']);
  let nextHandle = PRIMARY_HANDLE + 1;
  return {
    tcti,
    dir,
    tool,
    async createKey(name, opts = {}) {
      const n = `${name}-${counter++}`;
      const attributes = opts.attributes ?? `fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign${opts.restricted ? '|restricted' : ''}`;
      // A restricted signing key needs a null symmetric algorithm.
      await tool('tpm2_create', ['-C', `0x${PRIMARY_HANDLE.toString(16)}`, '-G', opts.restricted ? 'ecc256:ecdsa-sha256:null' : 'ecc256:ecdsa-sha256', '-a', attributes, '-u', `${n}.pub`, '-r', `${n}.priv`, '-Q']);
      await tool('tpm2_load', ['-C', `0x${PRIMARY_HANDLE.toString(16)}`, '-u', `${n}.pub`, '-r', `${n}.priv`, '-c', `${n}.ctx`, '-Q']);
      const handle = nextHandle++;
      await tool('tpm2_evictcontrol', ['-C', 'o', '-c', `${n}.ctx`, `0x${handle.toString(16)}`, '-Q']);
      await tool('tpm2_readpublic', ['-c', `0x${handle.toString(16)}`, '-f', 'pem', '-o', `${n}.pem`, '-Q']);
      return { handle, publicArea: new Uint8Array(await readFile(join(dir, `${n}.pub`))), publicKeyPem: await readFile(join(dir, `${n}.pem`), 'utf8') };
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
