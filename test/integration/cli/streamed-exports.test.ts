import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { auditPages } from '../../../grant-store/cli/commands/audit';
import { exportBundle } from '../../../grant-store/cli/commands/ledger';
import { forEachEntryPage } from '../../../grant-store/cli/commands/ledger-export';
import { verifyOffline } from '../../../grant-store/cli/commands/ledger-verify';
import { AuditRecordSchema, type AuditRecord } from '../../../shared/domain/audit';
import type { ServedLedgerEntry } from '../../../shared/domain/ledger-entry';
import { StoreClient } from '../../../shared/node/http/store-client';
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
  payments: { members: [alice] }
  platform: { members: [bob] }
approvers:
  leads: [bob]
`;

const cli = runCliInProcess;

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}

/**
 * Issue 16: the auditor's exports through the CLI (`audit`, `ledger export` in all its formats)
 * go page by page, never the whole ledger in memory. Paged with tiny pages here, they must give
 * exactly what one big read gives, and an export that fails half-way must leave nothing behind.
 */
describe('CLI exports page by page: audit, ledger export (jsonl, csv, bundle)', () => {
  let fx: StoreFixture;
  let tmp: string;
  let admin: StoreClient;
  let env: Record<string, string>;
  let bobToken: string;

  before(async () => {
    fx = await startStoreFixture({ policyYaml: POLICY });
    tmp = await mkdtemp(join(tmpdir(), 'bg-streamed-exports-'));
    const alice = await fx.token('alice', ['requester']);
    const bob = await fx.approver('bob');
    bobToken = bob.token;
    for (let i = 0; i < 6; i++) {
      const created = await fx.call('POST', '/v1/requests', {
        token: alice,
        body: { gate: i % 2 ? 'perf-suite' : 'ci-tests', scope: { repo: `svc-${i}`, branch: 'main' }, reason: `the suite hangs on runner ${i}, "again"`, severity: 'sev3', ttl: '15m' },
      });
      assert.equal(created.status, 201, created.text);
      if (i < 2) {
        const request = created.json.request;
        const bundle = await fx.sign(request, 'bob', bob.signer, 'approve', { comment: 'checked the runner' });
        const decided = await fx.call('POST', `/v1/requests/${request.id}/decisions`, { token: bob.token, body: { bundle } });
        assert.equal(decided.status, 200, decided.text);
      }
    }
    // An export holds what a signed checkpoint covers: wait for one over every entry so far.
    const size = await fx.ledgerSize();
    for (let waited = 0; ((await fx.call('GET', '/v1/ledger/checkpoint', { token: fx.adminToken })).json as { treeSize: number }).treeSize < size; waited += 100) {
      assert.ok(waited < 20_000, 'no checkpoint covered the ledger within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    admin = new StoreClient({ baseUrl: fx.url, token: fx.adminToken, timeoutMs: 10_000 });
    env = { BREAKGLASS_STORE: fx.url, BREAKGLASS_TOKEN: fx.adminToken, XDG_CONFIG_HOME: join(tmp, 'config'), HOME: tmp };
  });
  after(async () => {
    await fx?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('audit: pages of 1, 2 and 7 records give the records of one read, none skipped or repeated; the CLI prints the same', async () => {
    const whole = (await fx.call('GET', '/v1/audit?format=json', { token: fx.adminToken })).json.records as AuditRecord[];
    assert.ok(whole.length > 10, `a ledger of several pages (${whole.length} records)`);
    for (const size of [1, 2, 7]) assert.deepEqual(await collect(auditPages(admin, { format: 'json' }, size)), whole, `pages of ${size}`);
    const filtered = (await fx.call('GET', '/v1/audit?format=json&gate=perf-suite', { token: fx.adminToken })).json.records as AuditRecord[];
    assert.ok(filtered.length >= 3);
    assert.deepEqual(await collect(auditPages(admin, { format: 'json', gate: 'perf-suite' }, 2)), filtered, 'a filter holds across pages');
    const printed = await cli(['audit', '--json'], env);
    assert.equal(printed.code, 0, printed.stderr);
    assert.deepEqual((JSON.parse(printed.stdout) as { records: unknown[] }).records.map((r) => AuditRecordSchema.parse(r)), whole);
    const lines = await cli(['audit', '--format', 'jsonl'], env);
    assert.equal(lines.stdout, whole.map((r) => `${JSON.stringify(r)}\n`).join(''));
  });

  test('audit: a window whose end is not after its start is refused by the store (400, naming to) and by the CLI (--to)', async () => {
    const http = await fx.call('GET', '/v1/audit?from=2026-02-01T00:00:00.000Z&to=2026-01-01T00:00:00.000Z', { token: fx.adminToken });
    assert.equal(http.status, 400, http.text);
    assert.deepEqual(http.json.error.fieldErrors, [{ path: 'to', message: 'must be after from (2026-02-01T00:00:00.000Z): the window [from, to) is empty' }]);
    const same = await fx.call('GET', '/v1/audit?from=2026-02-01T00:00:00.000Z&to=2026-02-01T00:00:00.000Z&limit=5', { token: fx.adminToken });
    assert.equal(same.status, 400, 'an empty window of zero length too');
    const printed = await cli(['audit', '--from', '2026-02-01T00:00:00.000Z', '--to', '2026-01-01T00:00:00.000Z'], env);
    assert.equal(printed.code, 2);
    assert.match(printed.stderr, /--to: must be after from \(2026-02-01T00:00:00\.000Z\)/);
  });

  test('ledger export --format jsonl|csv: entries in pages of 3 are the entries of one read; the CLI file and stdout agree', async () => {
    const paged: ServedLedgerEntry[] = [];
    const counts = await forEachEntryPage(admin, async (entries) => void paged.push(...entries), 3);
    const whole: ServedLedgerEntry[] = [];
    await forEachEntryPage(admin, async (entries) => void whole.push(...entries));
    assert.deepEqual(paged, whole);
    assert.deepEqual(counts, { entries: whole.length, redacted: 0 });
    assert.deepEqual(whole.map((e) => e.seq), whole.map((_, i) => i));
    const stdout = await cli(['ledger', 'export', '--format', 'jsonl'], env);
    assert.equal(stdout.code, 0, stdout.stderr);
    assert.equal(stdout.stdout, whole.map((e) => `${JSON.stringify(e)}\n`).join(''));
    const file = join(tmp, 'ledger.csv');
    const csv = await cli(['ledger', 'export', '--format', 'csv', '--out', file], env);
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(csv.stderr, new RegExp(`Wrote ${whole.length} ledger entries to `));
    const text = await readFile(file, 'utf8');
    assert.equal(text.split('\r\n').length, whole.length + 2, 'header, a row per entry, the last line end');
    assert.deepEqual((await readdir(tmp)).filter((f) => f.includes('partial')), []);
    // An approver's export: what is outside their view comes redacted, counted page by page.
    const approverFile = join(tmp, 'approver.jsonl');
    const approver = await cli(['ledger', 'export', '--format', 'jsonl', '--out', approverFile], { ...env, BREAKGLASS_TOKEN: bobToken });
    assert.equal(approver.code, 0, approver.stderr);
    const seen = (await readFile(approverFile, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as { seq: number; redacted?: true });
    const redacted = seen.filter((e) => e.redacted).length;
    assert.deepEqual(seen.map((e) => e.seq), whole.map((e) => e.seq));
    assert.ok(redacted > 0, 'the fixture has entries outside an approver\'s view (other principals\' enrolments)');
    assert.match(approver.stderr, new RegExp(`Wrote ${whole.length} ledger entries to .* \\(${redacted} redacted for your role: seq and leaf hash only\\)`));
  });

  test('ledger export (bundle): written in pages of 3 it is byte for byte the export of one read, and verifies offline', async () => {
    const small = join(tmp, 'paged');
    const big = join(tmp, 'whole');
    const a = await exportBundle(admin, small, 3);
    const b = await exportBundle(admin, big);
    assert.deepEqual(a, b);
    assert.ok(a.decisions.length === 2, `the two approvals are decision entries (${a.decisions.join(', ')})`);
    const files = (await readdir(big)).sort();
    assert.deepEqual((await readdir(small)).sort(), files);
    for (const name of files) assert.equal(await readFile(join(small, name), 'utf8'), await readFile(join(big, name), 'utf8'), name);
    const verified = await verifyOffline(small);
    assert.equal(verified.verdict.ok, true, JSON.stringify(verified.verdict));
    const viaCli = await cli(['ledger', 'export', '--out', join(tmp, 'cli'), '--sigstore-bundles'], env);
    assert.equal(viaCli.code, 0, viaCli.stderr);
    assert.deepEqual((await readdir(join(tmp, 'cli', 'decisions'))).sort(), a.decisions.map((seq) => `${seq}.sigstore.json`).sort());
  });

  test('an export that fails half-way leaves the earlier export in its directory whole, and no temporary file', async () => {
    const dir = join(tmp, 'kept');
    await exportBundle(admin, dir);
    const before = new Map<string, string>();
    for (const name of await readdir(dir)) before.set(name, await readFile(join(dir, name), 'utf8'));
    let calls = 0;
    const failing = {
      call: (route: string, input: unknown) => {
        if (route === 'ledgerExport' && ++calls === 3) return Promise.reject(new Error('connection reset by the store'));
        return (admin.call as (r: string, i: unknown) => Promise<unknown>)(route, input);
      },
    } as unknown as StoreClient;
    await assert.rejects(exportBundle(failing, dir, 4), /connection reset/);
    assert.deepEqual((await readdir(dir)).sort(), [...before.keys()].sort());
    for (const [name, text] of before) assert.equal(await readFile(join(dir, name), 'utf8'), text, `${name} untouched`);
    // And a fresh directory gets no half-written files either.
    const fresh = join(tmp, 'fresh');
    await mkdir(fresh);
    calls = 0;
    await assert.rejects(exportBundle(failing, fresh, 4), /connection reset/);
    assert.deepEqual(await readdir(fresh), []);
  });
});
