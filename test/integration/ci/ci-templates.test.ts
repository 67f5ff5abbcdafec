import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseRequestLink } from '../../../shared/gates/request-link';
import { EXAMPLE_POLICY_PATH } from '../../../grant-store/policy/example-policy-path';
import { activeBypass } from '../../support/bypass-fixture';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a shell script with `sh` (POSIX, as GitLab's runner and most CI run job scripts) in `cwd`. */
async function sh(script: string, args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  const child = spawn('sh', ['-c', script, 'sh', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

interface GitLabJob {
  image: string;
  variables: Record<string, string>;
  id_tokens: Record<string, { aud: string }>;
  script: string[];
  artifacts: { when: string; reports: { dotenv: string } };
}

describe('CI integrations: the shell snippet and the GitLab CI template, run against a real store', () => {
  let f: StoreFixture;
  let gateToken: string;
  let work: string;
  let bin: string;
  const baseEnv = (): Record<string, string> => ({ PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: work });

  before(async () => {
    // Tag pipelines name a tag, not a branch: a gate for them declares [repo, tag].
    const example = await readFile(EXAMPLE_POLICY_PATH, 'utf8');
    f = await startStoreFixture({ policyYaml: example.replace('gates:\n', 'gates:\n  - { id: release-tests, kind: slow, tier: low, scopeKeys: [repo, tag] }\n') });
    gateToken = await f.token('ci-gate', ['gate']);
    work = await mkdtemp(join(tmpdir(), 'bg-ci-'));
    // The CLI as a CI image has it: a `breakglass` command on PATH.
    bin = join(work, 'bin');
    await sh(`mkdir -p "${bin}"`, [], { PATH: process.env.PATH ?? '' }, work);
    await writeFile(join(bin, 'breakglass'), `#!/bin/sh\nexec "${process.execPath}" "${ROOT}bin/breakglass.cjs" "$@"\n`);
    await chmod(join(bin, 'breakglass'), 0o755);
  });
  after(async () => {
    await f?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe('ci/breakglass-gate.sh', () => {
    const run = async (args: string[], extra: Record<string, string> = {}) =>
      sh(await readFile(join(ROOT, 'ci', 'breakglass-gate.sh'), 'utf8'), args, { ...baseEnv(), BREAKGLASS_STORE: f.url, BREAKGLASS_TOKEN: gateToken, ...extra }, work);

    test('blocked: exit 1, the gate message and the pre-filled request link', async () => {
      const r = await run(['ci-tests', 'repo=payments-api,branch=main', 'integration suite green']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^breakglass: BLOCKED.*ci-tests/m);
      const url = /^breakglass: request a bypass: (\S+)$/m.exec(r.stderr)?.[1] ?? '';
      assert.deepEqual(parseRequestLink(new URL(url).search), { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, rule: 'integration suite green', context: {} });
    });

    test('under a bypass: exit 0 naming the bypass, its expiry and the ledger entry', async () => {
      await activeBypass(f, 'ci-tests', { repo: 'payments-api', branch: 'hotfix' });
      const r = await run(['ci-tests', 'repo=payments-api,branch=hotfix']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^breakglass: gate ci-tests passes under bypass byp_\w+ until \d{4}-\d\d-\d\dT[\d:.]+Z \(ledger entry \d+\)$/m);
    });

    test('misconfigured: exit 2 with the CLI\'s JSON error on stderr; an unreachable store blocks (fail closed)', async () => {
      let r = await run(['ci-tests', 'repo=has space']);
      assert.equal(r.code, 2);
      assert.equal(JSON.parse(r.stderr.split('\n')[0] ?? '').error.code, 'invalid_input');
      assert.match(r.stderr, /the gate is misconfigured \(exit 2\)/);
      r = await run(['ci-tests', 'repo=payments-api'], { BREAKGLASS_STORE: 'http://127.0.0.1:1' });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /BLOCKED \(fail closed\)/);
    });
  });

  describe('ci/gitlab/breakglass.gitlab-ci.yml', () => {
    let job: GitLabJob;
    before(async () => {
      const doc = parseYaml(await readFile(join(ROOT, 'ci', 'gitlab', 'breakglass.gitlab-ci.yml'), 'utf8')) as Record<string, GitLabJob>;
      assert.deepEqual(Object.keys(doc), ['.breakglass-gate'], 'one hidden job to extend, nothing that runs by itself');
      job = doc['.breakglass-gate'] as GitLabJob;
    });

    test('the job: an ID token for the store (id_tokens, aud breakglass), the dotenv report kept even on failure, every variable declared', () => {
      assert.deepEqual(job.id_tokens, { BREAKGLASS_ID_TOKEN: { aud: 'breakglass' } });
      assert.deepEqual(job.artifacts, { when: 'always', reports: { dotenv: 'breakglass.env' } });
      assert.equal(job.image, '$BREAKGLASS_IMAGE');
      for (const v of ['BREAKGLASS_IMAGE', 'BREAKGLASS_CLI', 'BREAKGLASS_STORE', 'BREAKGLASS_GATE', 'BREAKGLASS_SUBJECT', 'BREAKGLASS_RULE', 'BREAKGLASS_TIMEOUT']) assert.ok(v in job.variables, v);
      assert.ok(Array.isArray(job.script) && job.script.length > 0);
    });

    /** Run the job's script as the runner does: the template's variables, the job's, GitLab's predefined ones. */
    const runJob = async (variables: Record<string, string>, predefined: Record<string, string> = {}) => {
      const dir = await mkdtemp(join(work, 'job-'));
      const env = {
        ...baseEnv(),
        ...job.variables,
        CI_PROJECT_PATH: 'acme/payments-api',
        CI_COMMIT_BRANCH: 'main',
        CI_COMMIT_SHA: '4f1c2e0b9a7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b',
        CI_PIPELINE_URL: 'https://gitlab.acme.example/acme/payments-api/-/pipelines/812',
        CI_JOB_URL: 'https://gitlab.acme.example/acme/payments-api/-/jobs/9912',
        ...predefined,
        ...variables,
      };
      const r = await sh(job.script.join('\n'), [], env, dir);
      let report = '';
      try {
        report = await readFile(join(dir, 'breakglass.env'), 'utf8');
      } catch {
        report = '';
      }
      const dotenv = Object.fromEntries(
        report
          .split('\n')
          .filter(Boolean)
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      return { ...r, dotenv };
    };

    test('blocked: the job fails with the message and link in its log; the dotenv report says block and carries the link', async () => {
      const r = await runJob({ BREAKGLASS_STORE: f.url, BREAKGLASS_GATE: 'ci-tests', BREAKGLASS_TOKEN: gateToken, BREAKGLASS_RULE: 'integration suite green' });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^BLOCKED.*ci-tests/m);
      assert.equal(r.dotenv.BREAKGLASS_VERDICT, 'block');
      assert.equal(r.dotenv.BREAKGLASS_SUBJECT, 'repo=acme/payments-api,branch=main');
      const link = parseRequestLink(new URL(r.dotenv.BREAKGLASS_REQUEST_URL ?? '').search);
      assert.deepEqual(link.scope, { repo: 'acme/payments-api', branch: 'main' });
      assert.equal(link.context.pipeline, 'https://gitlab.acme.example/acme/payments-api/-/pipelines/812');
      assert.ok(r.stdout.includes(r.dotenv.BREAKGLASS_REQUEST_URL ?? '-'), 'the log shows the link');
      assert.ok(!(r.dotenv.BREAKGLASS_REQUEST_URL ?? '').includes(gateToken), 'no secret in the link');
    });

    test('a tag pipeline under a bypass: the job passes and hands the bypass to later jobs', async () => {
      await activeBypass(f, 'release-tests', { repo: 'acme/payments-api', tag: 'v1.42.1' });
      const r = await runJob({ BREAKGLASS_STORE: f.url, BREAKGLASS_GATE: 'release-tests', BREAKGLASS_TOKEN: gateToken }, { CI_COMMIT_BRANCH: '', CI_COMMIT_TAG: 'v1.42.1' });
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^WARN: gate release-tests passes for repo=acme\/payments-api,tag=v1\.42\.1 under bypass byp_/m);
      assert.equal(r.dotenv.BREAKGLASS_VERDICT, 'warn');
      assert.match(r.dotenv.BREAKGLASS_BYPASS_ID ?? '', /^byp_/);
      assert.equal(r.dotenv.BREAKGLASS_REQUEST_URL, '');
    });

    test('misconfigured jobs fail with exit 2 saying what to set', async () => {
      let r = await runJob({ BREAKGLASS_GATE: 'ci-tests' });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /set BREAKGLASS_STORE \(the grant store URL\) and BREAKGLASS_GATE/);
      r = await runJob({ BREAKGLASS_STORE: f.url, BREAKGLASS_GATE: 'ci-tests', BREAKGLASS_CLI: 'breakglass-missing' });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /'breakglass-missing' is not in this image: set BREAKGLASS_IMAGE/);
    });
  });
});
