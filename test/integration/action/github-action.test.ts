import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseRequestLink } from '../../../shared/gates/request-link';
import { activeBypass } from '../../support/bypass-fixture';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { startOidcProvider, type OidcProviderHarness } from '../../support/oidc-provider';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ACTION = join(ROOT, 'action', 'dist', 'index.js');

interface StepResult {
  code: number | null;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

/** GITHUB_OUTPUT as the runner reads it: `name<<DELIM\nvalue\nDELIM` blocks. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i] as string);
    if (!m) continue;
    const [, name, delimiter] = m as unknown as [string, string, string];
    const value: string[] = [];
    while (lines[++i] !== delimiter) value.push(lines[i] as string);
    outputs[name] = value.join('\n');
  }
  return outputs;
}

/**
 * Run the bundled action as the runner does: `node action/dist/index.js` with the inputs as
 * INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, and the job's GITHUB_* context.
 */
async function runStep(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<StepResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-action-'));
  try {
    const outputFile = join(dir, 'output');
    const summaryFile = join(dir, 'summary');
    await writeFile(outputFile, '');
    await writeFile(summaryFile, '');
    const runnerEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      GITHUB_ACTIONS: 'true',
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/payments-api',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_SHA: '4f1c2e0b9a7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b',
      GITHUB_RUN_ID: '9912345678',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_WORKFLOW: 'release',
      GITHUB_JOB: 'sign-and-push',
      GITHUB_EVENT_NAME: 'push',
      ...env,
    };
    // The runner keeps dashes and upper-cases: `bypass-id` would arrive as INPUT_BYPASS-ID.
    for (const [name, value] of Object.entries(inputs)) runnerEnv[`INPUT_${name.toUpperCase()}`] = value;
    const child = spawn(process.execPath, [ACTION], { cwd: ROOT, env: runnerEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(stderr, '', 'the action writes nothing to stderr');
    return { code, stdout, outputs: parseOutputs(await readFile(outputFile, 'utf8')), summary: await readFile(summaryFile, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

describe('GitHub Action (action/dist/index.js run as the runner runs it)', () => {
  let f: StoreFixture;
  let idp: OidcProviderHarness;
  let gateToken: string;

  before(async () => {
    [f, idp] = await Promise.all([startStoreFixture(), startOidcProvider()]);
    gateToken = await f.token('ci-gate', ['gate']);
  });
  after(async () => {
    await Promise.all([f?.close(), idp?.stop()]);
  });

  test('action.yml: node20, the bundled entry, the inputs and outputs the code reads and writes', async () => {
    const meta = parseYaml(await readFile(join(ROOT, 'action', 'action.yml'), 'utf8')) as {
      runs: { using: string; main: string };
      inputs: Record<string, { required?: boolean; default?: string }>;
      outputs: Record<string, unknown>;
    };
    assert.deepEqual(meta.runs, { using: 'node20', main: 'dist/index.js' });
    assert.deepEqual(Object.keys(meta.inputs).sort(), ['audience', 'context', 'gate', 'rule', 'store', 'subject', 'timeout', 'token']);
    assert.equal(meta.inputs.store?.required, true);
    assert.equal(meta.inputs.gate?.required, true);
    assert.deepEqual(Object.keys(meta.outputs).sort(), ['bypass-id', 'expires-at', 'message', 'request-url', 'subject', 'verdict']);
  });

  test('no bypass: the step fails, with an error annotation, outputs and a summary carrying the pre-filled request link', async () => {
    const before = await f.ledgerSize();
    const step = await runStep({ store: f.url, gate: 'ci-tests', token: gateToken, rule: 'integration suite green' });
    assert.equal(step.code, 1);
    assert.equal(step.outputs.verdict, 'block');
    assert.equal(step.outputs.subject, 'repo=acme/payments-api,branch=main');
    assert.equal(step.outputs['bypass-id'], '');
    assert.match(step.outputs.message ?? '', /ci-tests/);
    const link = step.outputs['request-url'] ?? '';
    assert.ok(link.startsWith(`${f.url}/request?`), link);
    const parsed = parseRequestLink(new URL(link).search);
    assert.equal(parsed.gate, 'ci-tests');
    assert.deepEqual(parsed.scope, { repo: 'acme/payments-api', branch: 'main' });
    assert.equal(parsed.rule, 'integration suite green');
    assert.equal(parsed.context.run, 'https://github.com/acme/payments-api/actions/runs/9912345678/attempts/1');
    assert.equal(parsed.context.commit, '4f1c2e0b9a7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b');
    assert.ok(!link.includes(gateToken), 'no secret in the link');
    assert.match(step.stdout, /^::error title=Breakglass%3A ci-tests blocked::.*ci-tests.*%0ARequest a bypass: http/m);
    assert.match(step.summary, /### ⛔ Breakglass: `ci-tests` blocked/);
    assert.ok(step.summary.includes(`**[Request a bypass](${link})**`), step.summary);
    assert.equal(await f.ledgerSize(), before, 'a block writes no ledger entry');
  });

  test('under an active bypass: the step passes with a warning; the evaluation is recorded with the run', async () => {
    const scope = { repo: 'acme/payments-api', branch: 'release-2' };
    const request = await activeBypass(f, 'ci-tests', scope);
    const step = await runStep({ store: f.url, gate: 'ci-tests', token: gateToken }, { GITHUB_REF: 'refs/heads/release-2' });
    assert.equal(step.code, 0, step.stdout);
    assert.equal(step.outputs.verdict, 'warn');
    assert.match(step.outputs['bypass-id'] ?? '', /^byp_/);
    assert.ok(step.outputs['expires-at'], 'expires-at is set');
    assert.equal(step.outputs['request-url'], '');
    assert.match(step.stdout, /^::warning title=Breakglass%3A ci-tests passes under bypass byp_\w+::/m);
    assert.match(step.summary, /### ⚠️ Breakglass: `ci-tests` passes under a bypass/);
    assert.match(step.summary, new RegExp(`\\| bypass \\| ${step.outputs['bypass-id']} \\(request ${request.id}\\) \\|`));
    const entries = await f.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: f.adminToken });
    const evaluation = (entries.json.entries as { type: string; target: string; data: { context?: Record<string, string> } }[]).filter((e) => e.type === 'evaluation_under_bypass').at(-1);
    assert.ok(evaluation, 'an evaluation_under_bypass entry');
    assert.equal(evaluation.data.context?.run, 'https://github.com/acme/payments-api/actions/runs/9912345678/attempts/1');
    assert.equal(evaluation.data.context?.workflow, 'release');
  });

  test('the job OIDC token: requested from the runner with the audience, masked, and presented to the workload route', async () => {
    const job = { repository: 'acme/payments-api', ref: 'refs/heads/main' };
    const requests = idp.github.tokenRequests.length;
    const step = await runStep({ store: f.url, gate: 'ci-tests', audience: 'breakglass-prod' }, idp.github.runnerEnv(job));
    assert.deepEqual(idp.github.tokenRequests.slice(requests), [{ audience: 'breakglass-prod' }]);
    const masked = /^::add-mask::(.+)$/m.exec(step.stdout)?.[1] ?? '';
    assert.equal(masked.split('.').length, 3, 'the ID token is masked before anything else is printed');
    assert.ok(step.stdout.indexOf('::add-mask::') < step.stdout.indexOf('::error'), 'masked first');
    assert.equal(step.stdout.split(masked).length, 2, 'the token appears only in the mask command');
    // Until the store serves POST /v1/checks/workload it answers 404, and the gate fails closed.
    assert.equal(step.code, 1);
    assert.equal(step.outputs.verdict, 'block');
    assert.match(step.outputs.message ?? '', /BLOCKED \(fail closed\)/);
  });

  test('without id-token permission and without a token, the step fails saying what to add', async () => {
    const step = await runStep({ store: f.url, gate: 'ci-tests' });
    assert.equal(step.code, 1);
    assert.equal(step.outputs.verdict, 'block');
    assert.match(step.stdout, /::error title=Breakglass%3A the gate could not run::.*permissions: id-token: write/);
  });

  test('bad inputs are named; an unreachable store blocks (fail closed)', async () => {
    let step = await runStep({ store: 'not a url', gate: '', token: gateToken, subject: 'image', timeout: 'soon' });
    assert.equal(step.code, 1);
    for (const part of ['store: "not a url" is not', 'gate: required', 'subject: "image" is not key=value', 'timeout: "soon" is not a duration']) assert.ok(step.outputs.message?.includes(part), `${part} in ${step.outputs.message}`);

    const closed = await closedPort();
    step = await runStep({ store: `http://127.0.0.1:${closed}`, gate: 'ci-tests', token: gateToken, timeout: '2s' });
    assert.equal(step.code, 1);
    assert.equal(step.outputs.verdict, 'block');
    assert.equal(step.outputs.message, `BLOCKED (fail closed): gate ci-tests could not be checked, so it blocks: cannot reach the grant store at http://127.0.0.1:${closed}: ECONNREFUSED`);
    assert.ok(step.outputs['request-url']?.startsWith(`http://127.0.0.1:${closed}/request?gate=ci-tests&`), 'the way out is offered even so');
  });
});
