import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { main } from '../../../grant-store/cli/main';
import type { CliIO } from '../../../grant-store/cli/output';
import { waitForReadyLine } from '../../support/ready-line';

/** Repository root and the real `breakglass` entry point the tests drive. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = `${ROOT}bin/breakglass.cjs`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment for a CLI run: none of the caller's BREAKGLASS_* leaks in. */
function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BREAKGLASS_')) env[k] = v;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Run `breakglass ...args` as a real process and collect its output and exit code. */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code: code ?? -1, stdout, stderr };
}

/**
 * Run `breakglass ...args` in this process (grant-store/cli/main.ts), its output collected
 * through CliIO, with exactly `env` as its environment: quicker than a process, for tests that
 * run many commands against one store.
 */
export async function runCliInProcess(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) };
  const code = await main(args, io, env as NodeJS.ProcessEnv);
  return { code, stdout, stderr };
}

/** A `breakglass serve` child process and the URL it printed. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  stop: () => Promise<number | null>;
}

/** How long `serve` may take to print its URL on a loaded machine. */
const SERVE_START_TIMEOUT_MS = 30_000;

/** Start `breakglass serve --json ...args` and wait for the line announcing its URL. */
export async function startServe(args: string[], env: Record<string, string | undefined> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--json', ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const ready = await waitForReadyLine(child, {
    what: 'serve',
    timeoutMs: SERVE_START_TIMEOUT_MS,
    accept: (line) => line.includes('"url"'),
    diagnostics: () => `:\n${out}\n${err}`,
  });
  const url = (JSON.parse(ready) as { url: string }).url;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const closed = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await closed) as [number | null];
    return code;
  };
  return { child, url, output: () => `${out}\n${err}`, stop };
}

/**
 * Run the built CLI (or another `script`) and report every module file it loaded (as file: URLs),
 * so a test can say what a command line costs in modules. Two tracers, because Node 20's module
 * hooks see only what goes through the ES module loader: a load hook writes each ES module's URL
 * to stderr (`loaded <url>`) as it loads, and at exit every file in require.cache (everything
 * CommonJS loaded: the bin, the check fast path, a package or a .ts file a require hook compiled)
 * and the public built-in modules the process loaded (`node:http`), the tracer's own included.
 */
export async function runTracingModules(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  script: string = BIN,
): Promise<{ code: number | null; stdout: string; loaded: string[] }> {
  const hooks = `export async function load(url, context, next) { process.stderr.write('loaded ' + url + '\\n'); return next(url, context); }`;
  const tracer = [
    "import { register, createRequire } from 'node:module';",
    "import { pathToFileURL } from 'node:url';",
    `register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`,
    // Any absolute path will do: every require shares one cache.
    'const { cache } = createRequire(process.execPath);',
    "const trace = (what) => process.stderr.write('loaded ' + what + '\\n');",
    "process.on('exit', () => {",
    '  for (const file of Object.keys(cache)) trace(pathToFileURL(file).href);',
    "  for (const name of process.moduleLoadList) if (/^NativeModule (?!internal\\/)/.test(name)) trace('node:' + name.slice('NativeModule '.length));",
    '});',
  ].join('\n');
  // Not spawnSync: the store a test runs in its own process must go on answering meanwhile.
  const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(tracer)}`, script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  const loaded = [
    ...new Set(
      stderr
        .split('\n')
        .filter((l) => l.startsWith('loaded '))
        .map((l) => l.slice('loaded '.length)),
    ),
  ];
  return { code, stdout, loaded };
}

/** The built files a run loaded, by name (content hashes stripped): `check`, `chunk`, `main`, `fast-check`. */
export function builtModules(loaded: string[]): string[] {
  return loaded.filter((u) => u.includes('/dist/cli/')).map((u) => (u.split('/').pop() as string).replace(/-[A-Z0-9]{8}\.mjs$/, '').replace(/\.[cm]js$/, ''));
}
