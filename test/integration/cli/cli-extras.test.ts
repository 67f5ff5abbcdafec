import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditRecordSchema } from '../../../shared/domain/audit';
import { HistorySchema } from '../../../shared/domain/api';
import type { BypassRequest } from '../../../shared/domain/request';
import { generateSoftwareKeyPair } from '../../../shared/node/signing/software-signer';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { runCliInProcess } from './cli-harness';

const POLICY = `version: 1
ttlChoices: [15m, 1h]
tiers:
  low: { approvals: 1, approverGroups: [leads], maxTtl: 1h }
gates:
  - { id: ci-tests, kind: slow, tier: low, scopeKeys: [repo, branch] }
  - { id: perf-suite, kind: slow, tier: low, scopeKeys: [repo, branch] }
teams:
  payments: { members: [alice], bypassBudget: 2 }
  platform: { members: [bob] }
approvers:
  leads: [bob]
`;

const cli = runCliInProcess;

describe('CLI extras (issue 13): history, audit, friendly errors, decision key from config, export --force, completion', () => {
  let fx: StoreFixture;
  let tmp: string;
  let alice: Record<string, string>;
  let auditor: Record<string, string>;
  let bobToken: string;
  const filed: BypassRequest[] = [];

  before(async () => {
    fx = await startStoreFixture({ policyYaml: POLICY });
    tmp = await mkdtemp(join(tmpdir(), 'bg-cli-extras-'));
    const aliceToken = await fx.token('alice', ['requester']);
    bobToken = (await fx.approver('bob')).token;
    for (const gate of ['ci-tests', 'perf-suite']) {
      const created = await fx.call('POST', '/v1/requests', { token: aliceToken, body: { gate, scope: { repo: 'payments-api', branch: 'main' }, reason: 'the suite hangs on the shared runner again', severity: 'sev3', ttl: '15m' } });
      assert.equal(created.status, 201, created.text);
      filed.push(created.json.request as BypassRequest);
    }
    // No config file unless a test writes one: XDG_CONFIG_HOME points into the temp dir.
    alice = { BREAKGLASS_STORE: fx.url, BREAKGLASS_TOKEN: aliceToken, XDG_CONFIG_HOME: join(tmp, 'config-none'), HOME: tmp };
    auditor = { ...alice, BREAKGLASS_TOKEN: await fx.token('audrey', ['auditor']) };
  });
  after(async () => {
    await fx?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('history: your own by default; --team shows the budget; a requester may not look at a team', async () => {
    const mine = await cli(['history'], alice);
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stdout, /^requester alice: 0 bypasses in the last 30 days, 0 in 90/);
    for (const r of filed) assert.ok(mine.stdout.includes(r.id), `lists ${r.id}`);
    const json = HistorySchema.parse(JSON.parse((await cli(['history', '--json'], alice)).stdout));
    assert.equal(json.requester?.recent.length, 2);
    const team = await cli(['history', '--team', 'payments', '--requester', 'alice'], auditor);
    assert.equal(team.code, 0, team.stderr);
    assert.match(team.stdout, /team payments: .*\n {2}budget: {2}0\/2 used this quarter \(2 left\)/);
    const refused = await cli(['history', '--team', 'payments'], alice);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /requesters may only see their own history/);
    const bad = await cli(['history', '--team', 'Not A Team', '--json'], alice);
    assert.equal(bad.code, 2);
    assert.equal(JSON.parse(bad.stderr).error.fieldErrors[0].path, '--team');
  });

  test("audit: the API's filters, a table, JSON, JSON lines and CSV; bad filters say what is allowed", async () => {
    const all = await cli(['audit', '--json'], auditor);
    assert.equal(all.code, 0, all.stderr);
    const records = (JSON.parse(all.stdout) as { records: unknown[] }).records.map((r) => AuditRecordSchema.parse(r));
    assert.ok(records.some((r) => r.action === 'request_created' && r.gate === 'perf-suite'));
    const perf = await cli(['audit', '--gate', 'perf-suite', '--actor', 'alice', '--format', 'jsonl'], auditor);
    const lines = perf.stdout.trimEnd().split('\n').map((l) => AuditRecordSchema.parse(JSON.parse(l)));
    assert.deepEqual(lines.map((r) => [r.action, r.target]), [['request_created', filed[1]!.id]]);
    const csv = await cli(['audit', '--team', 'payments', '--format', 'csv'], auditor);
    assert.match(csv.stdout, /^seq,time,actor,/);
    assert.equal(csv.stdout.trimEnd().split('\r\n').length, 3, 'header + two requests of team payments');
    const table = await cli(['audit', '--from', '2000-01-01T00:00:00.000Z', '--gate', 'ci-tests'], auditor);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^SEQ\s+TIME\s+ACTOR\s+ROLE\s+ACTION/);
    assert.match(table.stdout, new RegExp(`request_created\\s+${filed[0]!.id}\\s+ci-tests`));
    assert.equal((await cli(['audit', '--to', '2000-01-01T00:00:00.000Z'], auditor)).stdout, 'no audit records match\n');
    const format = await cli(['audit', '--format', 'xml'], auditor);
    assert.equal(format.code, 2);
    assert.equal(format.stderr.split('\n')[0], 'error: invalid filters: --format: must be one of: table, jsonl, csv, json');
    const window = await cli(['audit', '--from', '2026-02-01T00:00:00.000Z', '--to', '2026-01-01T00:00:00.000Z'], auditor);
    assert.equal(window.code, 2);
    assert.match(window.stderr, /--to: must be after from \(2026-02-01T00:00:00.000Z\)/);
    const when = await cli(['audit', '--from', 'yesterday', '--json'], auditor);
    assert.equal(when.code, 2);
    assert.deepEqual(JSON.parse(when.stderr).error.fieldErrors.map((f: { path: string }) => f.path), ['--from']);
    const role = await cli(['audit'], alice);
    assert.equal(role.code, 1, 'a requester is refused');
  });

  test('friendly messages instead of zod text: --state lists the states, --limit says a number', async () => {
    const state = await cli(['request', 'list', '--state', 'bogus'], alice);
    assert.equal(state.code, 2);
    assert.equal(state.stderr.split('\n')[0], 'error: invalid filters: --state: must be one of: pending, needs_info, active, denied, cancelled, lapsed, expired, revoked, open');
    const limit = await cli(['request', 'list', '--limit', 'abc', '--json'], alice);
    assert.equal(limit.code, 2);
    assert.deepEqual(JSON.parse(limit.stderr).error.fieldErrors, [{ path: '--limit', message: 'must be a number' }]);
    const severity = await cli(['request', '--gate', 'ci-tests', '--scope', 'repo=a,branch=main', '--reason', 'the suite hangs on the shared runner again', '--severity', 'sev9', '--ttl', '15m'], alice);
    assert.match(severity.stderr, /--severity: must be one of: sev1, sev2, sev3, sev4/);
    // The store's own 400s read the same way (fieldErrorsFromZod is shared).
    const http = await fx.call('GET', '/v1/requests?state=bogus', { token: alice.BREAKGLASS_TOKEN });
    assert.equal(http.status, 400);
    assert.match(http.json.error.message, /state: must be one of: pending, needs_info/);
    for (const run of [state, limit, severity]) assert.doesNotMatch(run.stderr, /Invalid (input|option)/);
  });

  test("approve signs with the current context's decisionKey when --key is not given", async () => {
    const key = generateSoftwareKeyPair();
    const enrolled = await fx.call('POST', '/v1/admin/approvers/bob/keys', { token: fx.adminToken, body: { publicKeyPem: key.publicKeyPem, hardwareBacked: false } });
    assert.equal(enrolled.status, 201, enrolled.text);
    const configHome = join(tmp, 'config');
    await mkdir(join(configHome, 'breakglass'), { recursive: true });
    await writeFile(join(configHome, 'breakglass', 'bob.pem'), key.privateKeyPem, { mode: 0o600 });
    const bob = { BREAKGLASS_STORE: fx.url, BREAKGLASS_TOKEN: bobToken, XDG_CONFIG_HOME: configHome, HOME: tmp };
    const noConfig = await cli(['approve', filed[0]!.id], bob);
    assert.equal(noConfig.code, 2);
    assert.match(noConfig.stderr, /--key: no key to sign with: pass --key FILE, or set decisionKey on the current context \(no context is selected in .*config\.yaml\)/);
    await writeFile(join(configHome, 'breakglass', 'config.yaml'), `currentContext: local\ncontexts:\n  local:\n    store: ${fx.url}\n    auth: token\n    decisionKey: bob.pem\n`);
    const approved = await cli(['approve', filed[0]!.id, '--comment', 'checked the runner', '--json'], bob);
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal(JSON.parse(approved.stdout).request.state, 'active');
    // An explicit --key still wins: a file that is not a key is refused by name.
    const wrong = await cli(['deny', filed[1]!.id, '--comment', 'not an incident', '--key', join(tmp, 'missing.pem')], bob);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--key/);
  });

  test('ledger export --out refuses a non-empty directory (or an existing file) unless --force, before fetching anything', async () => {
    const admin = { ...alice, BREAKGLASS_TOKEN: fx.adminToken };
    const dir = join(tmp, 'export');
    const first = await cli(['ledger', 'export', '--out', dir], admin);
    assert.equal(first.code, 0, first.stderr);
    const before = await readFile(join(dir, 'entries.jsonl'), 'utf8');
    const treeSize = async () => ((await fx.call('GET', '/v1/ledger/checkpoint', { token: fx.adminToken })).json as { treeSize: number }).treeSize;
    await fx.call('POST', '/v1/requests', { token: alice.BREAKGLASS_TOKEN, body: { gate: 'ci-tests', scope: { repo: 'other', branch: 'main' }, reason: 'the suite hangs on the shared runner again', severity: 'sev3', ttl: '15m' } });
    // An export holds what a signed checkpoint covers: wait until one covers every entry so far,
    // the new request included (the log signs shortly after an append, later on a loaded machine).
    const ledgerSize = await fx.ledgerSize();
    for (let waited = 0; (await treeSize()) < ledgerSize; waited += 100) {
      assert.ok(waited < 20_000, 'no checkpoint covered the new request within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const again = await cli(['ledger', 'export', '--out', dir, '--json'], admin);
    assert.equal(again.code, 2);
    const error = JSON.parse(again.stderr).error;
    assert.equal(error.fieldErrors[0].path, '--out');
    assert.match(error.fieldErrors[0].message, /is not empty .*pass --force to replace an earlier export there/);
    assert.equal(await readFile(join(dir, 'entries.jsonl'), 'utf8'), before, 'the earlier export is untouched');
    // A forced export replaces the earlier one: a decision bundle left from it does not stay.
    await mkdir(join(dir, 'decisions'));
    await writeFile(join(dir, 'decisions', '999.sigstore.json'), '{}');
    const forced = await cli(['ledger', 'export', '--out', dir, '--force'], admin);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual((await readdir(dir)).filter((f) => f === 'decisions'), []);
    assert.match(await readFile(join(dir, 'entries.jsonl'), 'utf8'), /"type":"request_created"/);
    const empty = join(tmp, 'empty');
    await mkdir(empty);
    assert.equal((await cli(['ledger', 'export', '--out', empty], admin)).code, 0, 'an empty directory is fine');
    assert.ok((await readdir(empty)).includes('checkpoint'));
    const file = join(tmp, 'ledger.csv');
    assert.equal((await cli(['ledger', 'export', '--format', 'csv', '--out', file], admin)).code, 0);
    const overwrite = await cli(['ledger', 'export', '--format', 'csv', '--out', file], admin);
    assert.equal(overwrite.code, 2);
    assert.match(overwrite.stderr, /already exists: choose a new file, or pass --force/);
    assert.equal((await cli(['ledger', 'export', '--format', 'csv', '--out', file, '--force'], admin)).code, 0);
  });

  test('completion: bash completes verbs, subcommands, options and their values; zsh and fish name every verb', async () => {
    const bash = await cli(['completion', 'bash'], {});
    assert.equal(bash.code, 0, bash.stderr);
    const script = join(tmp, 'breakglass.bash');
    await writeFile(script, bash.stdout);
    const complete = (...words: string[]) => {
      const quoted = words.map((w) => `'${w}'`).join(' ');
      const r = spawnSync('bash', ['-c', `source '${script}'; COMP_WORDS=(breakglass ${quoted}); COMP_CWORD=${words.length}; _breakglass; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8', cwd: tmp });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean);
    };
    assert.deepEqual(complete('hi'), ['history']);
    assert.ok(complete('').includes('audit') && complete('').includes('completion') && complete('').includes('check'));
    assert.deepEqual(complete('request', 'l'), ['list']);
    assert.deepEqual(complete('request', 'list', '--st'), ['--state', '--store']);
    assert.deepEqual(complete('request', 'list', '--state', 'p'), ['pending']);
    assert.deepEqual(complete('--store', 'http://x', 'audit', '--format', ''), ['table', 'jsonl', 'csv', 'json']);
    assert.deepEqual(complete('completion', '--json', 'z'), []);
    assert.deepEqual(complete('ledger', 'export', '--fo'), ['--format', '--force']);
    assert.ok(complete('approve', 'req_1', '--key', '').includes('breakglass.bash'), '--key completes files');

    const zsh = await cli(['completion', 'zsh'], {});
    assert.match(zsh.stdout, /^#compdef breakglass\n/);
    assert.match(zsh.stdout, /'request'\) reply=\(.*'list:list requests/);
    const fish = await cli(['completion', 'fish'], {});
    assert.match(fish.stdout, /complete -c breakglass -n '__breakglass_at \\'\\'' -a 'audit' -d /);
    assert.match(fish.stdout, /complete -c breakglass -n '__breakglass_at \\'request list\\'' -l 'state' -r -x -a 'pending needs_info active denied cancelled lapsed expired revoked open'/);
    const bad = await cli(['completion', 'powershell', '--json'], {});
    assert.equal(bad.code, 2);
    assert.match(JSON.parse(bad.stderr).error.message, /one of bash, zsh, fish/);
  });
});
