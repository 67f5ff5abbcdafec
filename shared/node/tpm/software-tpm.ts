import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A software TPM 2.0 (swtpm) serving on a unix socket in `stateDir`, for the `npm start` demo and
 * the tests: real TPM behaviour (keys generated inside, TPM2_Certify signed by a restricted AK)
 * on a machine without a TPM chip. Its state persists in `stateDir`, so keys made in one run are
 * there in the next.
 */

/** The swtpm and tpm2-tools commands a software TPM needs, with the Debian package of each. */
export const SOFTWARE_TPM_COMMANDS: readonly [string, string][] = [
  ['swtpm', 'swtpm'],
  ['tpm2_send', 'tpm2-tools'],
  ['tpm2_createprimary', 'tpm2-tools'],
];
export const SOFTWARE_TPM_APT_LINE = 'sudo apt-get install -y --no-install-recommends swtpm swtpm-tools tpm2-tools';

/** The commands of SOFTWARE_TPM_COMMANDS not on PATH (empty: a software TPM can run here). */
export function missingSoftwareTpmCommands(): string[] {
  return SOFTWARE_TPM_COMMANDS.filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status !== 0).map(([cmd]) => cmd);
}

/** What manufacturing a software TPM with an EK certificate needs beyond SOFTWARE_TPM_COMMANDS (swtpm-tools). */
export const SOFTWARE_TPM_MANUFACTURE_COMMANDS: readonly [string, string][] = [
  ['swtpm_setup', 'swtpm-tools'],
  ['swtpm_localca', 'swtpm-tools'],
];

/** The commands SOFTWARE_TPM_COMMANDS and SOFTWARE_TPM_MANUFACTURE_COMMANDS name that are not on PATH. */
export function missingSoftwareTpmManufactureCommands(): string[] {
  return [...SOFTWARE_TPM_COMMANDS, ...SOFTWARE_TPM_MANUFACTURE_COMMANDS].filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status !== 0).map(([cmd]) => cmd);
}

/**
 * The TPM's manufacturer, as `swtpm_setup --create-ek-cert` plays it: swtpm's local CA (a root
 * and an intermediate, made under `<stateDir>/ca`) certified the TPM's RSA EK, whose certificate
 * is in NV index 0x01c00002 and whose key is persistent at 0x81010001. The root is what a policy
 * names as a `tpm-ek` root.
 */
export interface SoftwareTpmManufacturer {
  rootPem: string;
  intermediatePem: string;
}

/**
 * Manufacture the TPM state in `stateDir` (before startSoftwareTpm on it): endorsement keys and
 * their certificates, signed by a local CA kept in `stateDir` (never swtpm's system-wide one).
 */
export async function manufactureSoftwareTpm(stateDir: string): Promise<SoftwareTpmManufacturer> {
  const ca = join(stateDir, 'ca');
  await mkdir(ca, { recursive: true, mode: 0o700 });
  await writeFile(join(stateDir, 'localca.conf'), `statedir = ${ca}\nsigningkey = ${ca}/signkey.pem\nissuercert = ${ca}/issuercert.pem\ncertserial = ${ca}/certserial\n`);
  await writeFile(join(stateDir, 'localca.options'), '--platform-manufacturer Breakglass\n--platform-version 2.1\n--platform-model software-tpm\n');
  const localca = spawnSync('sh', ['-c', 'command -v swtpm_localca'], { encoding: 'utf8' }).stdout.trim() || '/usr/bin/swtpm_localca';
  await writeFile(join(stateDir, 'setup.conf'), `create_certs_tool = ${localca}\ncreate_certs_tool_config = ${stateDir}/localca.conf\ncreate_certs_tool_options = ${stateDir}/localca.options\nactive_pcr_banks = sha256\n`);
  await new Promise<void>((resolve, reject) =>
    execFile('swtpm_setup', ['--tpm2', '--tpmstate', stateDir, '--create-ek-cert', '--config', join(stateDir, 'setup.conf'), '--overwrite'], (error, _stdout, stderr) => (error ? reject(new Error(`swtpm_setup failed: ${stderr.trim() || error.message}`)) : resolve())),
  );
  return { rootPem: await readFile(join(ca, 'swtpm-localca-rootca-cert.pem'), 'utf8'), intermediatePem: await readFile(join(ca, 'issuercert.pem'), 'utf8') };
}

export interface SoftwareTpm {
  /** TCTI configuration for tpm2-tools (TPM2TOOLS_TCTI). */
  tcti: string;
  stop(): Promise<void>;
}

/** How long swtpm may take to create its sockets on a loaded machine. */
const SWTPM_START_TIMEOUT_MS = 10_000;

export async function startSoftwareTpm(stateDir: string): Promise<SoftwareTpm> {
  const socket = join(stateDir, 'tpm.sock');
  // The swtpm TCTI finds the control channel at <path>.ctrl. swtpm runs under a small shell
  // watchdog holding our stdin pipe: when this process ends in any way (even SIGKILL) the pipe
  // closes and the watchdog kills swtpm, so no software TPM outlives the demo or a test.
  const args = ['socket', '--tpm2', '--tpmstate', `dir=${stateDir}`, '--server', `type=unixio,path=${socket}`, '--ctrl', `type=unixio,path=${socket}.ctrl`, '--flags', 'not-need-init,startup-clear'];
  const watchdog = 'exec 3<&0; swtpm "$@" </dev/null & p=$!; (read _ <&3; kill $p 2>/dev/null) & wait $p';
  const child = spawn('sh', ['-c', watchdog, 'swtpm', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  void spawnError.catch(() => undefined); // observed below while waiting for the sockets
  // swtpm creates both sockets (removing stale ones) before it serves; wait for them or its exit.
  const deadline = Date.now() + SWTPM_START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`swtpm exited before serving: ${stderr.trim() || `exit ${child.exitCode ?? child.signalCode}`}`);
    if (existsSync(socket) && existsSync(`${socket}.ctrl`) && child.pid !== undefined) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`swtpm did not create ${socket} within ${SWTPM_START_TIMEOUT_MS / 1000} s: ${stderr.trim()}`);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 20)), spawnError]);
  }
  return {
    tcti: `swtpm:path=${socket}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end(); // the watchdog kills swtpm, waits for it, and exits
        await exited;
      }
    },
  };
}
