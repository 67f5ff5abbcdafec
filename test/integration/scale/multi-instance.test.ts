import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { initDataDir } from '../../../grant-store/admin/init';
import { MIGRATIONS } from '../../../grant-store/storage/postgres/migrations';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../../shared/domain/request';
import { runCli } from '../cli/cli-harness';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';
import { call, createToken, enrollApprover, instanceDataDir, readEvents, signAs, startInstance, writePolicy, type Approver, type Instance } from './instances';

/**
 * Three grant-store PROCESSES on one PostgreSQL database, hammered at once: exactly-once
 * activation under racing approvals, a gap-free ledger that `breakglass ledger verify`
 * accepts, expiry and review opening exactly once with no leader, no acknowledged decision
 * lost to a SIGKILL, live events and check freshness across instances within a second.
 */

/** Issue 6: a console on A sees B's request, and a check on C honours A's approval, within this. */
const CROSS_INSTANCE_MS = 1_000;
/** The shortest TTL the schema allows: the expiry scenario waits for it. */
const SHORT_TTL = '1m';
/** After expiresAt: the sweepers run every 250 ms; leave room for a loaded CI machine. */
const EXPIRY_GRACE_MS = 5_000;
/** Decisions acknowledged by the doomed instance before it is killed. */
const KILL_AFTER_ACKS = 8;
const APPROVERS = ['ann', 'ben', 'cat', 'dan', 'eve', 'fay'];

const POLICY = `version: 1
ttlChoices: [${SHORT_TTL}, 15m, 1h]
decisionWindow: 1h
tiers:
  low:
    approvals: 1
    approverGroups: [leads]
    maxTtl: 1h
  critical:
    approvals: 2
    approverGroups: [leads]
    allowSameTeam: false
    maxTtl: 1h
gates:
  - id: ci-tests
    kind: slow
    tier: low
    scopeKeys: [repo, branch]
  - id: container-signing
    kind: slow # two-approver races with software keys; a safety gate would need attested keys
    tier: critical
    scopeKeys: [repo, branch]
teams:
  payments:
    members: [alice]
    bypassBudget: 100000
  platform:
    members: [${APPROVERS.join(', ')}]
approvers:
  leads: [${APPROVERS.join(', ')}]
`;

const REASON = 'INC-1190 hotfix: the suite is red on an unrelated flaky test';
let counter = 0;
const uniqueScope = () => ({ repo: `svc-${process.pid}-${++counter}`, branch: 'main' });

function requestBody(gate: string, scope: Record<string, string>, ttl = '15m') {
  return { gate, scope, reason: REASON, incidentRef: 'INC-1190', severity: 'sev2', ttl };
}

async function ledgerEntries(base: string, token: string): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for (;;) {
    const r = await call(base, 'GET', `/v1/ledger/entries?from=${out.length}&limit=5000`, token);
    assert.equal(r.status, 200);
    const page = r.json.entries as LedgerEntry[];
    out.push(...page);
    if (page.length < 5000) return out;
  }
}

describe('three grant-store processes on one Postgres database', { timeout: 300_000 }, () => {
  let db: TempDatabase;
  let root: string;
  let instances: Instance[] = [];
  let extra: Instance | undefined;
  let adminToken: string;
  let alice: string;
  let gate: string;
  let approvers: Approver[];
  let expiring: BypassRequest;

  const [a, b, c] = [0, 1, 2];
  const url = (i: number) => instances[i]!.url;

  async function file(i: number, gateId: string, scope: Record<string, string>, ttl?: string): Promise<BypassRequest> {
    const r = await call(url(i), 'POST', '/v1/requests', alice, requestBody(gateId, scope, ttl));
    assert.equal(r.status, 201, JSON.stringify(r.json));
    return r.json.request as BypassRequest;
  }

  async function approve(i: number, approver: Approver, request: BypassRequest) {
    return call(url(i), 'POST', `/v1/requests/${request.id}/decisions`, approver.token, { bundle: await signAs(approver, request) });
  }

  before(async () => {
    db = await createTempDatabase('bg_scale');
    root = await mkdtemp(join(tmpdir(), 'bg-scale-'));
    const template = join(root, 'template');
    ({ adminToken } = await initDataDir(template, { databaseUrl: db.url }));
    await writePolicy(template, POLICY);
    const dirs = await Promise.all(['a', 'b', 'c'].map((n) => instanceDataDir(template, join(root, n))));
    // Started together: they race to migrate the same (already initialised) database.
    instances = await Promise.all(dirs.map((dir, i) => startInstance(`instance-${'abc'[i]}`, dir, db.url)));
    alice = await createToken(url(a), adminToken, 'alice', ['requester']);
    gate = await createToken(url(b), adminToken, 'ci-gate', ['gate']);
    approvers = [];
    for (const [i, name] of APPROVERS.entries()) approvers.push(await enrollApprover(url(i % 3), adminToken, name));
    // The expiry scenario starts now and is checked last: a 1m bypass approved on B.
    const filed = await file(c, 'ci-tests', uniqueScope(), SHORT_TTL);
    const approved = await approve(b, approvers[0]!, filed);
    assert.equal(approved.status, 200, JSON.stringify(approved.json));
    expiring = approved.json.request as BypassRequest;
    assert.equal(expiring.state, 'active');
  });

  after(async () => {
    await Promise.all([...instances, ...(extra ? [extra] : [])].map((i) => i.kill()));
    await db?.drop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('the schema was migrated exactly once', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const rows = (await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows;
      assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
    } finally {
      await client.end();
    }
  });

  test(`a console on instance A sees a request filed on instance B within ${CROSS_INSTANCE_MS} ms`, async () => {
    const abort = new AbortController();
    const seen = new Map<string, number>();
    const stream = readEvents(url(a), adminToken, abort.signal, (data) => {
      const entry = JSON.parse(data) as LedgerEntry;
      if (entry.type === 'request_created') seen.set(entry.target, Date.now());
    });
    try {
      await new Promise((r) => setTimeout(r, 200)); // the stream is open and live
      const delays: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        const filed = await file(b, 'ci-tests', uniqueScope());
        const deadline = started + 5_000;
        while (!seen.has(filed.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        assert.ok(seen.has(filed.id), `request ${filed.id} filed on B never reached A's event stream`);
        delays.push(seen.get(filed.id)! - started);
      }
      assert.ok(Math.max(...delays) < CROSS_INSTANCE_MS, `cross-instance event delays ${delays.join(', ')} ms`);
    } finally {
      abort.abort();
      await stream.catch(() => undefined);
    }
  });

  test(`a bypass approved on A takes effect on C within ${CROSS_INSTANCE_MS} ms, and on A at once`, async () => {
    const scope = uniqueScope();
    const filed = await file(b, 'ci-tests', scope);
    const before = await call(url(c), 'POST', '/v1/checks', gate, { gate: 'ci-tests', subject: scope });
    assert.equal(before.json.verdict, 'block');
    const approved = await approve(a, approvers[1]!, filed);
    assert.equal(approved.status, 200, JSON.stringify(approved.json));
    const approvedAt = Date.now();
    const onA = await call(url(a), 'POST', '/v1/checks', gate, { gate: 'ci-tests', subject: scope });
    assert.equal(onA.json.verdict, 'warn', 'the approving instance answers warn right after the approval returns');
    let verdict = 'block';
    while (verdict !== 'warn' && Date.now() - approvedAt < 5_000) {
      verdict = (await call(url(c), 'POST', '/v1/checks', gate, { gate: 'ci-tests', subject: scope })).json.verdict as string;
    }
    const delay = Date.now() - approvedAt;
    assert.equal(verdict, 'warn');
    assert.ok(delay < CROSS_INSTANCE_MS, `took ${delay} ms to take effect on C`);
    // Another subject and another gate still block everywhere.
    for (const i of [a, b, c]) {
      assert.equal((await call(url(i), 'POST', '/v1/checks', gate, { gate: 'ci-tests', subject: { ...scope, branch: 'dev' } })).json.verdict, 'block');
      assert.equal((await call(url(i), 'POST', '/v1/checks', gate, { gate: 'container-signing', subject: scope })).json.verdict, 'block');
    }
  });

  test(`a token revoked on A is refused by C within ${CROSS_INSTANCE_MS} ms (token caches follow the ledger)`, async () => {
    const created = await call(url(a), 'POST', '/v1/admin/tokens', adminToken, { principal: 'ci-temp', roles: ['gate'] });
    assert.equal(created.status, 201);
    const temp = created.json.token as string;
    const check = (i: number) => call(url(i), 'POST', '/v1/checks', temp, { gate: 'ci-tests', subject: uniqueScope() });
    assert.equal((await check(c)).status, 200, 'C knows (and caches) the token');
    assert.equal((await call(url(a), 'DELETE', `/v1/admin/tokens/${created.json.info.id}`, adminToken)).status, 200);
    const revokedAt = Date.now();
    assert.equal((await check(a)).status, 401, 'the revoking instance refuses it at once');
    let status = 200;
    while (status !== 401 && Date.now() - revokedAt < 5_000) status = (await check(c)).status;
    assert.equal(status, 401);
    assert.ok(Date.now() - revokedAt < CROSS_INSTANCE_MS, `C accepted the revoked token for ${Date.now() - revokedAt} ms`);
  });

  test('many approvals racing on two-approver requests activate each exactly once', async () => {
    for (let round = 0; round < 3; round++) {
      const filed = await file(round % 3, 'container-signing', uniqueScope(), '15m');
      // Every approver sends a signed approval to every instance at once (18 racing calls).
      const bundles = await Promise.all(approvers.map((ap) => signAs(ap, filed)));
      const results = await Promise.all(
        approvers.flatMap((ap, k) => [a, b, c].map((i) => call(url(i), 'POST', `/v1/requests/${filed.id}/decisions`, ap.token, { bundle: bundles[k] }))),
      );
      const accepted = results.filter((r) => r.status === 200);
      assert.equal(accepted.length, 2, `accepted: ${JSON.stringify(results.map((r) => r.status))}`);
      for (const r of results) if (r.status !== 200) assert.equal(r.status, 409, JSON.stringify(r.json));
      assert.equal(accepted.filter((r) => (r.json.request as BypassRequest).state === 'active').length, 1, 'exactly one call activated it');
      const detail = await call(url(c), 'GET', `/v1/requests/${filed.id}`, adminToken);
      assert.equal(detail.json.request.state, 'active');
      assert.equal(detail.json.request.approvals.length, 2);
      assert.equal(detail.json.decisions.length, 2);
      const entries = (await ledgerEntries(url(a), adminToken)).filter((e) => e.target === filed.id);
      assert.equal(entries.filter((e) => e.type === 'bypass_activated').length, 1);
      assert.equal(entries.filter((e) => e.type === 'decision').length, 2);
    }
  });

  test('a process killed with SIGKILL mid-transaction loses no acknowledged decision', async (t) => {
    extra = await startInstance('instance-d', await instanceDataDir(join(root, 'a'), join(root, 'd')), db.url);
    const pending = await Promise.all(Array.from({ length: 60 }, (_, i) => file(i % 3, 'ci-tests', uniqueScope())));
    const bundles = await Promise.all(pending.map((r, i) => signAs(approvers[i % approvers.length]!, r).then((bundle) => ({ r, bundle, approver: approvers[i % approvers.length]! }))));
    const acknowledged: string[] = [];
    const victim = extra;
    // Kill once a few decisions were acknowledged, with the rest still streaming in: some of
    // them are then inside their transaction (row lock and ledger head held) when the process dies.
    let killAfter!: () => void;
    const enoughAcknowledged = new Promise<void>((resolve) => (killAfter = resolve));
    const calls = bundles.map(async ({ r, bundle, approver }, i) => {
      await new Promise((res) => setTimeout(res, i * 4));
      try {
        const res = await call(victim.url, 'POST', `/v1/requests/${r.id}/decisions`, approver.token, { bundle });
        if (res.status === 200) acknowledged.push(r.id);
        if (acknowledged.length >= KILL_AFTER_ACKS) killAfter();
      } catch {
        // Connection reset by the kill: not acknowledged, so nothing is promised.
      }
    });
    await Promise.race([enoughAcknowledged, new Promise((res) => setTimeout(res, 10_000))]);
    await victim.kill();
    await Promise.all(calls);
    t.diagnostic(`${acknowledged.length} of ${pending.length} decisions acknowledged before SIGKILL`);
    assert.ok(acknowledged.length > 0, 'some decisions were acknowledged before the kill');
    assert.ok(acknowledged.length < pending.length, 'the kill landed while decisions were still in flight');
    for (const id of acknowledged) {
      const detail = await call(url(b), 'GET', `/v1/requests/${id}`, adminToken);
      assert.equal(detail.json.request.state, 'active', `acknowledged decision on ${id} was lost`);
      assert.equal(detail.json.decisions.length, 1);
    }
    // The survivors carry on: the dead instance's open transactions were rolled back.
    const after = await file(a, 'ci-tests', uniqueScope());
    assert.equal((await approve(c, approvers[2]!, after)).status, 200);
  });

  test('concurrent appends from all instances give a gap-free ledger that `breakglass ledger verify` accepts', async () => {
    const active = await file(a, 'ci-tests', uniqueScope());
    const activated = (await approve(b, approvers[3]!, active)).json.request as BypassRequest;
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 90; i++) {
      const at = i % 3;
      if (i % 3 === 0) work.push(file(at, 'ci-tests', uniqueScope()));
      else if (i % 3 === 1) work.push(call(url(at), 'POST', '/v1/checks', gate, { gate: 'ci-tests', subject: activated.scope })); // warn: an evaluation entry
      else work.push(file(at, 'ci-tests', uniqueScope()).then((r) => approve((at + 1) % 3, approvers[i % approvers.length]!, r)));
    }
    await Promise.all(work);
    const views = await Promise.all([a, b, c].map((i) => ledgerEntries(url(i), adminToken)));
    const size = Math.min(...views.map((v) => v.length));
    assert.ok(size > 150, `ledger size ${size}`);
    for (const view of views) {
      assert.deepEqual(view.map((e) => e.seq), Array.from({ length: view.length }, (_, i) => i), 'seqs are 0..n-1 with no gap');
      assert.deepEqual(view.slice(0, size), views[0]!.slice(0, size), 'every instance serves the same entries');
    }
    // The log's tables are shared in Postgres: every instance's checkpoints, one set of nodes,
    // and no per-instance database file in the data dirs (the instances are stateless).
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const leaves = (await client.query<{ n: string }>('SELECT count(*) AS n FROM ledger_nodes WHERE level = 0')).rows[0]!.n;
      assert.ok(Number(leaves) > 0, 'leaf hashes are stored in Postgres');
      const signers = (await client.query<{ n: string }>('SELECT count(*) AS n FROM ledger_checkpoints')).rows[0]!.n;
      assert.ok(Number(signers) > 0, 'checkpoints are stored in Postgres');
    } finally {
      await client.end();
    }
    for (const instance of instances) assert.equal(existsSync(join(instance.dataDir, 'breakglass.db')), false, `${instance.name} keeps no local database`);
    const stateDir = await mkdtemp(join(tmpdir(), 'bg-scale-cli-'));
    try {
      for (const i of [a, b, c]) {
        const verify = await runCli(['ledger', 'verify', '--store', url(i), '--token', adminToken, '--no-save', '--json'], { HOME: stateDir, XDG_STATE_HOME: stateDir, BREAKGLASS_STORE: '', BREAKGLASS_TOKEN: '' });
        assert.equal(verify.code, 0, `ledger verify against ${instances[i]!.name}: ${verify.stdout}${verify.stderr}`);
      }
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  test('a bypass expires exactly once and opens exactly one review, with no leader', async () => {
    const wait = Date.parse(expiring.expiresAt!) + EXPIRY_GRACE_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const entries = (await ledgerEntries(url(c), adminToken)).filter((e) => e.target === expiring.id);
    assert.equal(entries.filter((e) => e.type === 'bypass_expired').length, 1);
    assert.equal(entries.filter((e) => e.type === 'review_opened').length, 1);
    const reviews = (await call(url(a), 'GET', '/v1/reviews', adminToken)).json.reviews as { requestId: string }[];
    assert.equal(reviews.filter((r) => r.requestId === expiring.id).length, 1);
    for (const i of [a, b, c]) {
      const detail = await call(url(i), 'GET', `/v1/requests/${expiring.id}`, adminToken);
      assert.equal(detail.json.request.state, 'expired');
      assert.equal((await call(url(i), 'POST', '/v1/checks', gate, { gate: 'ci-tests', subject: expiring.scope })).json.verdict, 'block');
    }
  });
});
