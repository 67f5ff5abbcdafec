import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../shared/errors';
import { initDataDir } from '../../grant-store/admin/init';
import { startGrantStore, type RunningGrantStore } from '../../grant-store/http/server';
import { credentialsPath, DEMO_PRINCIPALS, readCredentials, seedDemo, type DemoCredentials } from './demo-seed';
import { launchConsole } from './console-launcher';
import { demoTpmProvisioned, demoTpmUnavailable, startDemoTpm, withDemoTpmRoot, type DemoTpm } from './demo-tpm';
import { SOFTWARE_TPM_APT_LINE } from '../../shared/node/tpm/software-tpm';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Demo data lives in the checkout (git-ignored), so `rm -rf .breakglass-demo` starts over.
 * BREAKGLASS_DEMO_DIR moves it (tests use a temp dir).
 */
const DEMO_DIR = resolve(ROOT, process.env.BREAKGLASS_DEMO_DIR || '.breakglass-demo');
const DEFAULT_DEMO_PORT = 7410;
const MAX_PORT = 65_535;

/** Something `npm start` runs and must stop on Ctrl-C. */
interface Running {
  name: string;
  stop(): Promise<void>;
}

/**
 * Launchers started after the grant store, in order (e.g. the desktop console, or the browser
 * host when Electron cannot start). Each gets the store URL and the demo credentials.
 */
type Launcher = (store: { url: string; credentials: DemoCredentials; dataDir: string }) => Promise<Running | undefined>;
const AFTER_STORE: Launcher[] = [launchConsole];

function rel(path: string): string {
  return relative(process.cwd(), path) || '.';
}

/** The demo's software TPM state (swtpm), where swtpm is installed: its presence says the demo's approvers have attested keys. */
const DEMO_TPM_DIR = resolve(DEMO_DIR, 'tpm');

/**
 * A fresh demo dir gets the example policy and, where swtpm is installed, a software TPM whose
 * manufacturer (swtpm's local CA, which issued its EK certificate) becomes a `tpm-ek` root: the demo then keeps every rule of the example. Without
 * swtpm the policy relaxes only the attestation requirement (relaxAttestation). A demo dir made
 * one way stays that way (its policy says which).
 */
async function prepare(): Promise<{ fresh: boolean; adminToken?: string; tpm?: DemoTpm; noTpmReason?: string }> {
  if (existsSync(resolve(DEMO_DIR, 'policy.yaml'))) {
    if (!existsSync(credentialsPath(DEMO_DIR))) {
      throw new AppError('conflict', `${rel(DEMO_DIR)} exists but has no demo credentials (an interrupted first run?): remove it with \`rm -rf ${rel(DEMO_DIR)}\` and run npm start again`);
    }
    if (!demoTpmProvisioned(DEMO_TPM_DIR)) return { fresh: false, noTpmReason: 'this demo dir was made without a software TPM' };
    const unavailable = demoTpmUnavailable();
    if (unavailable) throw new AppError('unavailable', `${rel(DEMO_DIR)} keeps its approvers' attested keys in a software TPM, but ${unavailable}: ${SOFTWARE_TPM_APT_LINE}, or rm -rf ${rel(DEMO_DIR)} to start over without one`);
    return { fresh: false, tpm: await startDemoTpm(DEMO_TPM_DIR) };
  }
  await mkdir(DEMO_DIR, { recursive: true, mode: 0o700 });
  const { adminToken, policyPath } = await initDataDir(DEMO_DIR);
  const noTpmReason = demoTpmUnavailable();
  if (noTpmReason) {
    await writeFile(policyPath, relaxAttestation(await readFile(policyPath, 'utf8')));
    return { fresh: true, adminToken, noTpmReason };
  }
  const tpm = await startDemoTpm(DEMO_TPM_DIR);
  await writeFile(policyPath, withDemoTpmRoot(await readFile(policyPath, 'utf8'), tpm.rootPem));
  return { fresh: true, adminToken, tpm };
}

/**
 * The demo's approvers sign with software keys (this machine has no attested hardware key to
 * give them), so the demo policy relaxes exactly one thing of the example: the critical tier
 * takes keys without attestation. It is still two distinct approvers from outside the
 * requester's team and a notify list; the store is told (demoSafetyRelaxation) and says so.
 */
export function relaxAttestation(example: string): string {
  const relaxed = example
    .replace(/^( {4}hardwareKeyRequired: )true( .*)?$/m, '$1false # npm start demo: software keys (this machine has no attested key)')
    .replace(/^( {4}attestationRequired: )true$/m, '$1false # npm start demo only: `serve` refuses this for a safety gate');
  if (relaxed === example || !/attestationRequired: false/.test(relaxed)) throw new AppError('internal', 'the example policy no longer has the critical tier the demo relaxes (hardwareKeyRequired/attestationRequired: true)');
  return relaxed;
}

function usage(url: string, c: DemoCredentials, noTpmReason: string | undefined): string {
  const t = (name: string) => c.tokens[name] ?? '?';
  // The critical tier needs attested keys: the TPM keys where the demo has them.
  const criticalKey = (name: string) => c.tpmKeys?.[name] ?? c.keys[name] ?? '?';
  const scope = 'repo=payments-api,branch=main';
  const lines = [
    '',
    `Breakglass grant store (demo) on ${url}`,
    `  data dir: ${rel(DEMO_DIR)}   policy: ${rel(resolve(DEMO_DIR, 'policy.yaml'))}   (rm -rf ${rel(DEMO_DIR)} to start over)`,
    '',
    'Demo principals and tokens (DEMO ONLY: real tokens are printed once and never stored in a file):',
    `  admin    ${t('admin')}`,
    ...DEMO_PRINCIPALS.map((p) => `  ${p.name.padEnd(8)} ${t(p.name)}   ${p.about}${c.keys[p.name] ? `, key ${c.keys[p.name]}` : ''}${c.tpmKeys?.[p.name] ? ` (+ attested TPM key ${c.tpmKeys[p.name]})` : ''}`),
    '',
    'Try the whole workflow from another terminal in this directory (copy-paste, line by line):',
    '',
    `  export BREAKGLASS_STORE=${url}`,
    `  A=${t('alice')} B=${t('bob')} C=${t('carol')} E=${t('erin')} G=${t('ci-gate')}`,
    '  # 1. the gate blocks (exit 1) and says how to ask for a bypass',
    `  BREAKGLASS_TOKEN=$G npx breakglass check --gate container-signing --subject ${scope}`,
    '  # 2. alice asks for a bypass on the critical tier (two approvers from other teams)',
    noTpmReason
      ? `  #    (a SAFETY gate: ${noTpmReason}, so the demo policy relaxes only its tier's attested-hardware-key requirement; \`serve\` would refuse that. Install swtpm swtpm-tools tpm2-tools and start over for attested keys)`
      : "  #    (a SAFETY gate: bob and carol sign with keys in the demo's software TPM (swtpm), attested through its endorsement key (credential activation), as the policy requires)",
    `  REQ=$(BREAKGLASS_TOKEN=$A npx breakglass request --gate container-signing --scope ${scope} --reason "Hotfix for INC-1190: the image signer is down" --incident INC-1190 --severity sev1 --ttl 15m --json | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).request.id'); echo $REQ`,
    '  # 3. bob asks a question, alice answers',
    `  BREAKGLASS_TOKEN=$B npx breakglass ask $REQ --comment "Which images? Is the rollback tested?" --key ${c.keys.bob ?? '?'}`,
    '  BREAKGLASS_TOKEN=$A npx breakglass request reply $REQ --message "Only payments-api 1.42.1; rollback tested in staging"',
    '  # 4. bob and carol approve, each signing with their own key: the bypass activates',
    `  BREAKGLASS_TOKEN=$B npx breakglass approve $REQ --comment "Checked INC-1190" --key ${criticalKey('bob')}`,
    `  BREAKGLASS_TOKEN=$C npx breakglass approve $REQ --comment "Security agrees" --key ${criticalKey('carol')}`,
    '  # 5. the gate now warns (exit 0), and the countdown runs',
    `  BREAKGLASS_TOKEN=$G npx breakglass check --gate container-signing --subject ${scope}`,
    '  BREAKGLASS_TOKEN=$A npx breakglass status $REQ',
    '  # 6. end it early (or wait 15 minutes), then review and audit',
    `  BREAKGLASS_TOKEN=$B npx breakglass revoke $REQ --comment "Signer is back" --key ${c.keys.bob ?? '?'}`,
    '  BREAKGLASS_TOKEN=$E npx breakglass review list',
    '  BREAKGLASS_TOKEN=$E npx breakglass ledger export --format csv',
    '',
    'Every command has --help with examples; add --json for machine-readable output.',
    'Ctrl-C stops the demo.',
    '',
  ];
  return lines.join('\n');
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolveSignal(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** `npm start`. Returns the exit code. */
export async function startDemo(_argv: string[]): Promise<number> {
  const port = Number(process.env.BREAKGLASS_DEMO_PORT || DEFAULT_DEMO_PORT);
  const running: Running[] = [];
  // Listen for Ctrl-C before anything slow starts: a signal that arrives while the console is
  // still launching must stop the demo cleanly, not kill it with the default handler.
  const stopSignal = untilSignal();
  try {
    if (!Number.isInteger(port) || port < 0 || port > MAX_PORT) throw new AppError('invalid_input', `BREAKGLASS_DEMO_PORT must be a port number (0-${MAX_PORT}), not "${process.env.BREAKGLASS_DEMO_PORT}"`);
    const { fresh, adminToken, tpm, noTpmReason } = await prepare();
    if (tpm) running.push({ name: 'software TPM', stop: () => tpm.tpm.stop() });
    let store: RunningGrantStore;
    try {
      store = await startGrantStore({ dataDir: DEMO_DIR, port, ...(tpm ? {} : { demoSafetyRelaxation: { attestation: true } }) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new AppError('unavailable', `port ${port} is in use (another grant store?): stop it, or run BREAKGLASS_DEMO_PORT=7411 npm start`);
      }
      throw error;
    }
    running.push({ name: 'grant store', stop: () => store.close() });
    const credentials = fresh ? await seedDemo(store.url, adminToken!, DEMO_DIR, (p) => rel(p), tpm?.approverKey) : ((await readCredentials(DEMO_DIR)) as DemoCredentials);
    process.stdout.write(usage(store.url, credentials, noTpmReason));
    for (const launch of AFTER_STORE) {
      const started = await launch({ url: store.url, credentials, dataDir: DEMO_DIR });
      if (started) running.push(started);
    }
    const signal = await stopSignal;
    process.stderr.write(`\n${signal}: stopping...\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`npm start: ${error instanceof AppError ? error.message : ((error as Error).stack ?? String(error))}\n`);
    return 1;
  } finally {
    for (const r of running.reverse()) {
      await r.stop().catch((error: unknown) => process.stderr.write(`could not stop the ${r.name}: ${(error as Error).message}\n`));
    }
  }
}
