/**
 * bench/cli-start: how long a gate waits for the shipped `breakglass` CLI, against `node -e 0`
 * measured in the same run on the same machine (the ratio is what matters on a shared box).
 *
 *   npm run bench:cli-start [-- --rounds 15]
 *
 * Each round spawns, one after another: `node -e 0` (the baseline: Node's own start), cold
 * `breakglass --version`, and `breakglass check` against a local store (`breakglass serve` on a
 * temp data dir, started once, a gate token from `breakglass admin token create`): a new
 * process every time, timed from spawn to exit, through the package's bin (bin/breakglass.cjs,
 * what `npx breakglass` runs) as a user runs it.
 * Rounds interleave the three so load drift on a shared machine hits all alike.
 * Targets (issue 13): `--version` ≤ 2× `node -e 0` (median ratio); `check` ≤ 150 ms end to end (median).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { waitForReadyLine } from '../test/support/ready-line';
import { minMedianMax as stats } from './support/stats';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The file `npx breakglass` runs: the package's bin. */
const BIN = join(ROOT, (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { breakglass: string } }).bin.breakglass);
/** Issue 13 targets. */
const TARGET_VERSION_RATIO = 2;
const TARGET_CHECK_MS = 150;
const SERVE_START_TIMEOUT_MS = 30_000;

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const ROUNDS = Number(args.rounds);

interface Spawned {
  code: number | null;
  ms: number;
  stdout: string;
  stderr: string;
}

function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): Spawned {
  const started = performance.now();
  const result = spawnSync(process.execPath, argv, { cwd: ROOT, env, encoding: 'utf8' });
  const ms = performance.now() - started;
  return { code: result.status, ms, stdout: result.stdout, stderr: result.stderr };
}

function cli(argv: string[], env: NodeJS.ProcessEnv): Spawned {
  const run = timed([BIN, ...argv], env);
  return run;
}

const fmtLoad = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const built = timed([BIN, '--version'], process.env);
  if (built.code !== 0) throw new Error(`breakglass --version failed (is the CLI built? npm run build:cli):\n${built.stderr}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-bench-cli-'));
  const env: NodeJS.ProcessEnv = { ...process.env, BREAKGLASS_DATA_DIR: dataDir };
  for (const key of ['BREAKGLASS_STORE', 'BREAKGLASS_TOKEN']) delete env[key];
  const init = cli(['admin', 'init', '--json'], env);
  if (init.code !== 0) throw new Error(`admin init failed: ${init.stderr}`);
  const adminToken = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;

  const serve = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const ready = await waitForReadyLine(serve, { what: 'breakglass serve', timeoutMs: SERVE_START_TIMEOUT_MS, accept: (line) => line.includes('"url"') });
    const storeUrl = (JSON.parse(ready) as { url: string }).url;
    const created = cli(['admin', 'token', 'create', '--principal', 'bench-gate', '--role', 'gate', '--json'], { ...env, BREAKGLASS_STORE: storeUrl, BREAKGLASS_TOKEN: adminToken });
    if (created.code !== 0) throw new Error(`token create failed: ${created.stderr}`);
    const gateEnv = { ...env, BREAKGLASS_STORE: storeUrl, BREAKGLASS_TOKEN: (JSON.parse(created.stdout) as { token: string }).token };
    const gate = 'container-signing';
    const checkArgs = ['check', '--gate', gate, '--subject', 'repo=payments-api,branch=main'];
    // The answer must be the store's (block, exit 1, from the hot path), not a fail-closed error.
    const probe = cli([...checkArgs, '--json'], gateEnv);
    const verdict = JSON.parse(probe.stdout) as { verdict: string; error?: unknown };
    if (probe.code !== 1 || verdict.verdict !== 'block' || verdict.error) throw new Error(`unexpected check answer: ${probe.stdout}${probe.stderr}`);

    const loadBefore = fmtLoad();
    const samples = { node: [] as number[], version: [] as number[], check: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      samples.node.push(timed(['-e', '0']).ms);
      const version = cli(['--version'], env);
      if (version.code !== 0) throw new Error(`--version exited ${version.code}: ${version.stderr}`);
      samples.version.push(version.ms);
      const check = cli(checkArgs, gateEnv);
      if (check.code !== 1 || !check.stdout.startsWith('BLOCKED')) throw new Error(`check: exit ${check.code}: ${check.stdout}${check.stderr}`);
      samples.check.push(check.ms);
    }
    const node = stats(samples.node);
    const version = stats(samples.version);
    const check = stats(samples.check);
    const row = (name: string, s: typeof node) =>
      `${name.padEnd(34)} min ${s.min.toFixed(0).padStart(5)} ms  median ${s.median.toFixed(0).padStart(5)} ms  max ${s.max.toFixed(0).padStart(5)} ms  ratio ${(s.median / node.median).toFixed(2)} (min/min ${(s.min / node.min).toFixed(2)})`;
    console.log(`bench/cli-start: ${ROUNDS} rounds, each a fresh process, spawn to exit (Node ${process.version}, ${process.platform}/${process.arch})`);
    console.log(`load average (1/5/15 min): before ${loadBefore}, after ${fmtLoad()}`);
    console.log(row('node -e 0 (baseline)', node));
    console.log(row('breakglass --version', version));
    console.log(row('breakglass check (local store)', check));
    // Paired within each round, so load drift between rounds cancels: what the CLI adds to Node's own start.
    const added = (xs: number[]) => stats(xs.map((ms, i) => ms - (samples.node[i] as number)));
    const over = (name: string, s: ReturnType<typeof stats>) => `${name.padEnd(34)} min ${s.min.toFixed(0).padStart(5)} ms  median ${s.median.toFixed(0).padStart(5)} ms  max ${s.max.toFixed(0).padStart(5)} ms`;
    console.log(over('--version − node -e 0, per round', added(samples.version)));
    console.log(over('check − node -e 0, per round', added(samples.check)));
    const versionRatio = version.median / node.median;
    console.log(`${versionRatio <= TARGET_VERSION_RATIO ? 'PASS' : 'FAIL'} --version: ${versionRatio.toFixed(2)}× node -e 0 (target ≤ ${TARGET_VERSION_RATIO}×)`);
    console.log(`${check.median <= TARGET_CHECK_MS ? 'PASS' : 'FAIL'} check: ${check.median.toFixed(0)} ms end to end, ${(check.median / node.median).toFixed(2)}× node -e 0 (target ≤ ${TARGET_CHECK_MS} ms)`);
  } finally {
    const exited = new Promise((resolve) => serve.once('exit', resolve));
    serve.kill('SIGTERM');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
