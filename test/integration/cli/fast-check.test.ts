import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fastCheck } from '../../../grant-store/cli/fast-check';
import { main } from '../../../grant-store/cli/main';
import type { CliIO } from '../../../grant-store/cli/output';
import { activeBypass } from '../../support/bypass-fixture';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { builtModules, ROOT, runCli, runTracingModules } from './cli-harness';

const POLICY = `version: 1
ttlChoices: [15m, 1h]
tiers:
  low: { approvals: 1, approverGroups: [leads], maxTtl: 1h }
gates:
  - { id: ci-tests, kind: slow, tier: low, scopeKeys: [repo, branch] }
teams:
  payments: { members: [alice] }
  platform: { members: [bob] }
approvers:
  leads: [bob]
`;

interface Run {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

function capture(): { io: CliIO; out: () => { stdout: string; stderr: string } } {
  let stdout = '';
  let stderr = '';
  return { io: { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }, out: () => ({ stdout, stderr }) };
}

/** The fast path, in process: undefined when it leaves the command line to the full CLI. */
async function fast(args: string[], env: Record<string, string>): Promise<Run> {
  const { io, out } = capture();
  const code = await fastCheck(args, env, io);
  return { code, ...out() };
}

/** The full CLI (commander, zod, StoreClient), in process. */
async function full(args: string[], env: Record<string, string>): Promise<Run> {
  const { io, out } = capture();
  const code = await main(args, io, env);
  return { code, ...out() };
}

/** What differs between two asks of the same check: the clock and the ledger entry of an evaluation under bypass. */
function normalize(text: string): string {
  return text
    .replace(/"checkedAt": "[^"]+"/g, '"checkedAt": "…"')
    .replace(/"evaluationSeq": \d+/g, '"evaluationSeq": …')
    .replace(/as entry \d+/g, 'as entry …')
    .replace(/\(in [^)]*\)/g, '(in …)')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>');
}

describe("breakglass check's fast path (no commander, no zod) answers as the full command does", () => {
  let fx: StoreFixture;
  let tmp: string;
  let env: Record<string, string>;

  before(async () => {
    fx = await startStoreFixture({ policyYaml: POLICY });
    tmp = await mkdtemp(join(tmpdir(), 'bg-fast-check-'));
    await activeBypass(fx, 'ci-tests', { repo: 'payments-api', branch: 'main' });
    // No config.yaml unless a test writes one.
    env = { BREAKGLASS_STORE: fx.url, BREAKGLASS_TOKEN: await fx.token('ci-gate', ['gate']), XDG_CONFIG_HOME: join(tmp, 'config'), HOME: tmp, PATH: process.env.PATH ?? '' };
  });
  after(async () => {
    await fx?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('block, warn, --json, --rule and --context, flags before the verb, --flag=value: the same output and exit code', async () => {
    const lines = [
      ['check', '--gate', 'ci-tests', '--subject', 'repo=other-api,branch=main'],
      ['check', '--gate', 'ci-tests', '--subject', 'repo=other-api', '--subject', 'branch=main', '--context', 'job=https://ci.example/jobs/1,commit=abc', '--rule', 'unit tests must pass', '--json'],
      ['check', '--gate', 'ci-tests', '--subject', 'repo=payments-api,branch=main'],
      ['--json', 'check', '--gate=ci-tests', '--subject=repo=payments-api,branch=main', '--timeout', '2s'],
    ];
    const verdicts: number[] = [];
    for (const args of lines) {
      const f = await fast(args, env);
      assert.notEqual(f.code, undefined, `the fast path left ${args.join(' ')} to the full CLI`);
      const c = await full(args, env);
      assert.equal(f.code, c.code, args.join(' '));
      assert.equal(normalize(f.stdout), normalize(c.stdout), args.join(' '));
      assert.equal(f.stderr, c.stderr, args.join(' '));
      verdicts.push(f.code!);
    }
    assert.deepEqual(verdicts, [1, 1, 0, 0]);
  });

  test('--dotenv writes the same file', async () => {
    const args = (file: string) => ['check', '--gate', 'ci-tests', '--subject', 'repo=payments-api,branch=main', '--dotenv', join(tmp, file)];
    assert.equal((await fast(args('fast.env'), env)).code, 0);
    assert.equal((await full(args('full.env'), env)).code, 0);
    const written = await readFile(join(tmp, 'fast.env'), 'utf8');
    assert.match(written, /^BREAKGLASS_VERDICT=warn\n/);
    assert.equal(written, await readFile(join(tmp, 'full.env'), 'utf8'));
  });

  test('answers that are not plainly valid are read as the full command reads them: refused (fail closed), unknown gate, unreachable store', async () => {
    const cases: [string, string[], Record<string, string>][] = [
      ['a token the store does not know', ['check', '--gate', 'ci-tests', '--subject', 'repo=a'], { ...env, BREAKGLASS_TOKEN: 'bgt_not-a-token' }],
      ['a gate the policy does not have', ['check', '--gate', 'no-such-gate', '--subject', 'repo=a', '--json'], env],
      ['a store that is not there', ['check', '--gate', 'ci-tests', '--subject', 'repo=a,branch=main'], { ...env, BREAKGLASS_STORE: 'http://127.0.0.1:9' }],
    ];
    for (const [what, args, runEnv] of cases) {
      const f = await fast(args, runEnv);
      assert.equal(f.code, 1, `${what}: ${f.stdout}${f.stderr}`);
      const c = await full(args, runEnv);
      assert.equal(normalize(f.stdout), normalize(c.stdout), what);
      assert.equal(f.stderr, c.stderr, what);
      assert.match(f.stdout, /BLOCKED \(fail closed\)/, what);
    }
  });

  test('leaves to the full CLI, before asking anything, every command line it does not plainly read', async () => {
    await mkdir(join(tmp, 'with-config', 'breakglass'), { recursive: true });
    await writeFile(join(tmp, 'with-config', 'breakglass', 'config.yaml'), 'currentContext: prod\ncontexts:\n  prod: { store: "http://127.0.0.1:9" }\n');
    const base = ['check', '--gate', 'ci-tests', '--subject', 'repo=a'];
    const noToken = { ...env, BREAKGLASS_TOKEN: '' };
    const cases: [string, string[], Record<string, string>][] = [
      ['--help', [...base, '--help'], env],
      ['no token (a saved sign-in may apply)', base, noToken],
      ['a config.yaml that names the store', base, { ...env, BREAKGLASS_STORE: '', XDG_CONFIG_HOME: join(tmp, 'with-config') }],
      ['--use-context', [...base, '--use-context', 'prod'], env],
      ['BREAKGLASS_CONTEXT', base, { ...env, BREAKGLASS_CONTEXT: 'prod' }],
      ['a subject that is not key=value', ['check', '--gate', 'ci-tests', '--subject', 'repo'], env],
      ['a subject value with a space', ['check', '--gate', 'ci-tests', '--subject', 'repo=a b'], env],
      ['a gate that is no slug', ['check', '--gate', 'CI Tests', '--subject', 'repo=a'], env],
      ['no --subject and no ID token', ['check', '--gate', 'ci-tests'], env],
      ['a bad --timeout', [...base, '--timeout', 'soon'], env],
      ['an empty --rule', [...base, '--rule', ' '], env],
      ['an unknown option', [...base, '--verbose'], env],
      ['a value that looks like an option', ['check', '--gate', '--json', '--subject', 'repo=a'], env],
      ['--gate twice', [...base, '--gate', 'other'], env],
      ['a check option before the verb', ['--gate', 'ci-tests', 'check', '--subject', 'repo=a'], env],
      ['a store URL that is not http(s)', base, { ...env, BREAKGLASS_STORE: 'ftp://store' }],
      ['another verb', ['status', 'check'], env],
    ];
    for (const [what, args, runEnv] of cases) {
      const f = await fast(args, runEnv);
      assert.deepEqual(f, { code: undefined, stdout: '', stderr: '' }, what);
    }
    // And the full CLI then says what is wrong, as before (exit 2).
    const bad = await runCli(['check', '--gate', 'ci-tests', '--subject', 'repo'], env);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--subject: "repo" is not key=value/);
  });

  test('a workload check (a CI job ID token, no gate token) takes the fast path to the workload route', async () => {
    // The store refuses this token (no OIDC issuer in the policy): what matters is the route and
    // that the answer is the full command's.
    const workload = { ...env, BREAKGLASS_TOKEN: '', BREAKGLASS_ID_TOKEN: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' };
    const args = ['check', '--gate', 'ci-tests', '--json'];
    const f = await fast(args, workload);
    assert.equal(f.code, 1);
    const c = await full(args, workload);
    assert.equal(normalize(f.stdout), normalize(c.stdout));
    assert.equal(JSON.parse(f.stdout).error.code, JSON.parse(c.stdout).error.code);
  });

  test('the shipped bin answers a check from dist/cli/fast-check.cjs alone: no other built file, nothing from node_modules, no ES module', async () => {
    const run = await runTracingModules(['check', '--gate', 'ci-tests', '--subject', 'repo=payments-api,branch=main'], env);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /^WARN: gate ci-tests passes for repo=payments-api,branch=main under bypass byp_/);
    assert.deepEqual(builtModules(run.loaded), ['fast-check']);
    // Only the bin and the fast path, both CommonJS: no ES module file, for which Node 20 would set
    // up its ES module loader at a gate's start (the tracer's own data: modules aside).
    assert.deepEqual(
      run.loaded.filter((u) => u.startsWith('file:')).map((u) => u.slice(`file://${ROOT}`.length)),
      ['bin/breakglass.cjs', 'dist/cli/fast-check.cjs'],
    );
    // One request over a bare socket: node:http (client, agent, parser: ~5 ms of a start) is not loaded.
    assert.ok(!run.loaded.includes('node:http'), run.loaded.join('\n'));
    // The file itself holds neither zod nor commander (the build refuses them too).
    const text = await readFile(join(ROOT, 'dist', 'cli', 'fast-check.cjs'), 'utf8');
    assert.doesNotMatch(text, /ZodError|\$ZodType|CommanderError/);
    assert.ok((await readdir(join(ROOT, 'dist', 'cli'))).includes('check-answer.mjs'));
  });
});
