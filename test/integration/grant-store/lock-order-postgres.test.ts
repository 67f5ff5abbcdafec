import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { AlertDispatcher } from '../../../grant-store/alerts/alert-dispatcher';
import { readOutbox } from '../../../grant-store/alerts/outbox';
import { receiveIncidentWebhook, type IncidentDeps } from '../../../grant-store/incidents/incident-service';
import { PolicyHolder } from '../../../grant-store/policy/policy-holder';
import { createRequest } from '../../../grant-store/service/request-service';
import { PgStore } from '../../../grant-store/storage/postgres/pg-store';
import { secretLookup } from '../../../grant-store/store-config';
import { PolicySchema } from '../../../shared/domain/policy';
import type { BypassRequest } from '../../../shared/domain/request';
import { verifyDecisionBundle } from '../../../shared/node/signing/verify-decision';
import { fixtureBytes, PAGERDUTY_EXAMPLE, pagerDutyEvent, pagerDutySignature } from '../../support/incident-fixtures';
import { ledgerEntry } from '../../support/ledger-entry-fixture';
import { storedActiveRequest } from '../../support/stored-request';
import { until } from '../../support/until';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';

/**
 * The lock order every PostgreSQL writer keeps: the requests it locks in id order, then the ledger
 * head. A warn batch locks its bypasses and then the head (grant-store/checks/group-commit.ts);
 * a writer that takes the head first and then a request, or several requests in another order,
 * deadlocks with it under CI traffic (PostgreSQL picks a victim after deadlock_timeout, 1 s, and
 * after five retries the gate check was a 500: seen building bench/growth's 100k store).
 * Each test holds a request's row lock in a raw transaction, as a warn batch does while it
 * commits, and shows the other writer does not hold what the batch needs next.
 */

let db: TempDatabase;
let store: PgStore;
let dir: string;
let raw: pg.Client;
let probe: pg.Client;

before(async () => {
  db = await createTempDatabase('bg_lock_order');
  store = await PgStore.open({ databaseUrl: db.url });
  dir = await mkdtemp(join(tmpdir(), 'bg-lock-order-'));
  raw = new pg.Client({ connectionString: db.url });
  probe = new pg.Client({ connectionString: db.url });
  await raw.connect();
  await probe.connect();
});
after(async () => {
  await raw?.end();
  await probe?.end();
  await store?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Lock these requests' rows the way a warn batch does, in a transaction left open. */
async function holdRequests(ids: readonly string[]): Promise<() => Promise<void>> {
  await raw.query('BEGIN');
  const locked = await raw.query('SELECT id FROM requests WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [[...ids]]);
  assert.equal(locked.rowCount, ids.length, 'the requests exist');
  return async () => {
    await raw.query('ROLLBACK');
  };
}

/** Settles with the promise, or rejects once `ms` pass first (then the promise is still awaited by the caller's cleanup). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms while a warn batch held its bypasses' rows`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('the alert dispatcher reads the requests it alerts about without locking them: a warn batch holding them does not stall it', async () => {
  const now = Date.parse('2026-11-26T10:00:00.000Z');
  const policy = () =>
    PolicySchema.parse({
      version: 1,
      tiers: { low: { approvals: 1, approverGroups: ['leads'], maxTtl: '24h' } },
      gates: [{ id: 'ci-tests', kind: 'slow', tier: 'low' }],
      teams: { payments: { members: ['alice'] } },
      approvers: { leads: ['bob'] },
      webhooks: [{ id: 'siem', url: 'http://127.0.0.1:9/hook', events: ['bypass_activated'] }],
    });
  // Two activated requests; their activations are ingested in seq order (b before a), the
  // order a batch would not lock them in.
  const ids = ['req_' + 'b'.repeat(16), 'req_' + 'a'.repeat(16)];
  await store.transaction(async (tx) => {
    for (const id of ids) await tx.insertRequest(activeRequest(id, now));
    await tx.appendLedger(
      ids.map((id) => ({
        time: new Date(now).toISOString(), type: 'bypass_activated' as const, actor: 'bob', actorRole: 'approver' as const, target: id, gate: 'ci-tests',
        reason: 'suite hangs on the shared runner', incidentRef: null, approver: 'bob', expiresAt: new Date(now + 3_600_000).toISOString(), sourceAddress: '127.0.0.1', data: {},
      })),
    );
  });
  const dispatcher = new AlertDispatcher({ store, policy, clock: () => new Date(now), findings: async () => [], retry: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 }, secrets: secretLookup({}) });
  const release = await holdRequests(ids);
  const pass = dispatcher.pass();
  try {
    await within(pass, 5_000, "the dispatcher's pass");
  } finally {
    await release();
    await pass.catch(() => undefined);
    await dispatcher.stop();
  }
  const outbox = await readOutbox(store);
  assert.equal(outbox.length, ids.length, 'both activations were ingested');
  for (const id of ids) {
    const body = outbox.find((item) => item.body.includes(id))?.body;
    assert.ok(body, `an alert for ${id}`);
    assert.match(body, /alice \(payments\)/, 'the alert names the requester and team it read from the request');
  }
});

test("an incident's resolution locks the bypasses it pre-approved before the ledger head, so a warn batch holding one never waits on a head it holds", async () => {
  const ENV = { BG_PD_SECRET: 'pd-signing-secret-0123456789abcdef' };
  const policyPath = join(dir, 'policy.yaml');
  await writeFile(
    policyPath,
    `version: 1
ttlChoices: [15m, 1h]
tiers:
  high: { approvals: 1, approverGroups: [leads], allowSameTeam: false, maxTtl: 1h }
gates:
  - { id: deploy-freeze, kind: slow, tier: high, scopeKeys: [repo, branch] }
teams:
  payments: { members: [alice] }
  platform: { members: [bob] }
approvers:
  leads: [bob]
incidents:
  sources:
    - { id: pagerduty, kind: pagerduty, secretEnv: BG_PD_SECRET }
  responders:
    - principal: alice
      ids: { pagerduty: [PTUXL6G] }
  rules:
    - { id: api-outage, source: pagerduty, services: [PF9KMXH], urgencies: [high], gates: [deploy-freeze], scopes: [{ repo: payments-api }], maxTtl: 1h }
`,
  );
  const clock = { ms: Date.parse('2020-10-02T18:45:30.000Z') };
  const now = () => new Date(clock.ms);
  const deps: IncidentDeps = { store, policies: await PolicyHolder.load(policyPath, now), clock: now, verifyDecision: verifyDecisionBundle, secrets: secretLookup(ENV), warn: () => undefined };
  const pd = (body: Buffer) => receiveIncidentWebhook(deps, 'pagerduty', { 'x-pagerduty-signature': pagerDutySignature(body, ENV.BG_PD_SECRET) }, body);
  assert.equal((await pd(fixtureBytes(PAGERDUTY_EXAMPLE))).outcome, 'applied');
  const { request } = await createRequest(deps, { principal: 'alice', roles: ['requester'], sourceAddress: '127.0.0.1' }, {
    gate: 'deploy-freeze', scope: { repo: 'payments-api', branch: 'main' }, reason: 'API Service incident PGR0VU2: deploy the rollback through the freeze', incidentRef: 'pagerduty:PGR0VU2', severity: 'sev1', ttl: '1h',
  });
  assert.equal(request.state, 'active', 'pre-approved by the incident');

  clock.ms = Date.parse('2020-10-02T19:00:05.000Z');
  const release = await holdRequests([request.id]);
  const resolution = pd(pagerDutyEvent({ id: 'evt-resolved', type: 'incident.resolved', occurredAt: '2020-10-02T19:00:00.000Z', status: 'resolved' }));
  try {
    // The resolution now waits for the bypass's row...
    await until('the resolution to wait for the held request', async () => {
      const waiting = await probe.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()");
      return waiting.rowCount! > 0 ? true : undefined;
    });
    // ...without holding the ledger head, which the batch holding that row takes next.
    await probe.query('BEGIN');
    try {
      await probe.query('SELECT next_seq FROM ledger_head FOR UPDATE NOWAIT');
    } catch (error) {
      assert.fail(`the resolution holds the ledger head while it waits for a request row (lock order requests → head broken): ${(error as Error).message}`);
    } finally {
      await probe.query('ROLLBACK');
    }
  } finally {
    await release();
  }
  const resolved = await resolution;
  assert.deepEqual(resolved.revoked, [request.id]);
  assert.equal((await store.getRequest(request.id))?.state, 'revoked');
});

function activeRequest(id: string, now: number): BypassRequest {
  const at = new Date(now).toISOString();
  return {
    id, requester: 'alice', team: 'payments', gate: 'ci-tests', scope: { repo: 'svc', branch: id }, reason: 'the lock-order test: a bypass the warns confirm', incidentRef: null,
    severity: 'sev3', ttl: '1h', extends: null, createdAt: at, digest: `sha256:${'ab'.repeat(32)}`, state: 'active', tier: 'low', gateKind: 'slow', approvalsRequired: 1,
    approvals: [], messages: [], standingScope: 'ci', bypassId: `byp_${randomBytes(10).toString('hex')}`, approvedTtl: '1h', activatedAt: at, expiresAt: new Date(now + 3_600_000).toISOString(),
    closedAt: null, lapsesAt: null, updatedAt: at, closeComment: null, closedBy: null,
  };
}

test("counters are written after the ledger head: a filing that counted first and a writer that appended first do not deadlock", async () => {
  // Found building bench/ledger-verify's store on PostgreSQL: a request's counters were upserted
  // as it was inserted (locking the day's counter row), then its entry took the head; a
  // concurrent filing that had appended first held the head and waited for that counter row. Each
  // such deadlock stalled every writer for deadlock_timeout (1 s) and warns queued behind it were
  // shed with 503. Here the two interleave exactly that way; each transaction must run once.
  const first = storedActiveRequest('counted-team');
  const second = storedActiveRequest('counted-team');
  let firstRuns = 0;
  let secondRuns = 0;
  let firstCounted!: () => void;
  let secondHasHead!: () => void;
  const counted = new Promise<void>((resolve) => (firstCounted = resolve));
  const hasHead = new Promise<void>((resolve) => (secondHasHead = resolve));
  const entry = (target: string) => ledgerEntry({ type: 'request_filed', actor: 'alice', actorRole: 'requester', target, gate: 'ci-tests', data: {} });
  const a = store.transaction(async (tx) => {
    firstRuns++;
    await tx.insertRequest(first);
    firstCounted();
    await hasHead;
    await tx.appendLedger([entry(first.id)]);
  });
  await counted;
  const b = store.transaction(async (tx) => {
    secondRuns++;
    await tx.appendLedger([entry(second.id)]);
    secondHasHead();
    await tx.insertRequest(second);
  });
  await Promise.all([a, b]);
  assert.deepEqual({ firstRuns, secondRuns }, { firstRuns: 1, secondRuns: 1 }, 'neither transaction was chosen as a deadlock victim and run again');
  // And the counters hold both filings (read outside any transaction).
  const requests = (await store.counterRows({ metrics: ['requests'] })).filter((r) => r.team === 'counted-team');
  assert.equal(
    requests.reduce((n, r) => n + r.count, 0),
    2,
  );
});

test('inside a transaction, counter reads include its own counter changes not yet written', async () => {
  const request = storedActiveRequest('pending-team');
  await store.transaction(async (tx) => {
    const before = (await tx.counterRows({ metrics: ['requests', 'bypasses'] })).filter((r) => r.team === 'pending-team');
    assert.deepEqual(before, []);
    await tx.insertRequest(request);
    const during = (await tx.counterRows({ metrics: ['requests', 'bypasses'] })).filter((r) => r.team === 'pending-team');
    assert.deepEqual(
      during.map((r) => [r.metric, r.count]),
      [
        ['bypasses', 1],
        ['requests', 1],
      ],
    );
    // A filter leaves out what it does not ask for, pending or not.
    assert.deepEqual(
      (await tx.counterRows({ metrics: ['requests'], fromDay: '2099-01-01' })).filter((r) => r.team === 'pending-team'),
      [],
    );
  });
  const after = (await store.counterRows({ metrics: ['requests', 'bypasses'] })).filter((r) => r.team === 'pending-team');
  assert.deepEqual(
    after.map((r) => [r.metric, r.count]),
    [
      ['bypasses', 1],
      ['requests', 1],
    ],
  );
});
