import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { canonicalJson } from '../../../shared/canonical-json';
import type { EnrolledKey } from '../../../shared/domain/identity';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../../shared/domain/request';
import type { Review } from '../../../shared/domain/review';
import { AppError } from '../../../shared/errors';
import type { NewLedgerEntry, RequestFilter, Store, StoredDecision, StoredToken } from '../../../grant-store/storage/store';
import { decodePageCursor, encodePageCursor, type PageKey } from '../../../shared/domain/page-cursor';
import type { ListRequestsQuery } from '../../../shared/domain/api';
import { canSeeRequest, type Viewer } from '../../../shared/policy/visibility';
import { requestPage } from '../../../grant-store/service/request-service';
import { reviewPage } from '../../../grant-store/service/review-service';
import type { StoredSession } from '../../../grant-store/identity/stored-session';
import type { EmergencyCredential } from '../../../shared/domain/emergency';
import type { Incident } from '../../../shared/domain/incident';
import { type CounterItem, type CounterRow, counterKeyString, countersOf, sortCounters } from '../../../grant-store/storage/counters';
import { healthReport } from '../../../grant-store/reports/health-report';
import { reportInputOf } from '../../../grant-store/reports/report-input';
import { loadMetricsExtras, loadReportInput } from '../../../grant-store/reports/report-source';
import { PolicySchema } from '../../../shared/domain/policy';
import { notificationsFor, notificationsFromStore } from '../../../grant-store/alerts/notifications';
import { auditExportChunks, auditPage } from '../../../grant-store/reports/audit-export';
import { auditRecord, auditRecordMatches } from '../../../grant-store/reports/audit-records';
import { seededRandom } from '../../support/seeded-random';
import { utf8 } from '../../../shared/bytes';
import { entryBundle, TILE_WIDTH } from '../../../shared/ledger/tlog-tiles';
import { EntryBundleCache } from '../../../grant-store/ledger/entry-bundle-cache';

/** Items in a stable order (time, then team). */
const sortItems = (items: readonly CounterItem[]) => [...items].sort((a, b) => a.time.localeCompare(b.time) || a.team.localeCompare(b.team));

/** The policy the reports of the random workload are computed under (its gates, teams and approver groups). */
const REPORT_POLICY = PolicySchema.parse({
  version: 1,
  tiers: { standard: { approvals: 1, approverGroups: ['leads'], maxTtl: '24h' }, critical: { approvals: 2, approverGroups: ['leads', 'security'], maxTtl: '4h' } },
  gates: [
    { id: 'unit-tests', kind: 'slow', tier: 'standard' },
    { id: 'e2e', kind: 'slow', tier: 'standard' },
  ],
  teams: { payments: { members: ['alice'], bypassBudget: 3 }, search: { members: ['sam'] } },
  approvers: { leads: ['bob', 'carol'], security: ['dave', 'carol'] },
});

/**
 * One conformance suite for the Store interface (Teleport-style): every backend runs all of
 * it, and a backend is done when it passes. Backend-specific behaviour (row locks, SKIP
 * LOCKED, the LISTEN feed) is exercised through the interface only, by racing callers.
 */

export interface StoreUnderTest {
  store: Store;
  /**
   * Another handle on the same database, as a second grant-store instance would hold
   * (Postgres), or the same store when the backend is single-process (SQLite: one writer).
   */
  openPeer(): Promise<Store>;
  /** Run raw SQL beside the store (to prove the database itself refuses ledger rewrites). */
  rawExec(sql: string): Promise<void>;
  destroy(): Promise<void>;
}

export interface StoreBackendFactory {
  name: string;
  create(): Promise<StoreUnderTest>;
}

const T0 = '2026-06-22T03:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();
const rid = (prefix: 'req' | 'rev' | 'byp' | 'tok') => `${prefix}_${randomBytes(10).toString('hex')}`;

function makeRequest(overrides: Partial<BypassRequest> = {}): BypassRequest {
  return {
    id: rid('req'),
    requester: 'alice',
    team: 'payments',
    gate: 'unit-tests',
    scope: { repo: 'payments-api', branch: 'main' },
    reason: 'flaky suite blocks the hotfix for INC-1190',
    incidentRef: 'INC-1190',
    severity: 'sev2',
    ttl: '1h',
    extends: null,
    createdAt: T0,
    digest: `sha256:${'ab'.repeat(32)}`,
    state: 'pending',
    tier: 'standard',
    gateKind: 'slow',
    approvalsRequired: 2,
    approvals: [],
    messages: [],
    standingScope: null,
    bypassId: null,
    approvedTtl: null,
    activatedAt: null,
    expiresAt: null,
    closedAt: null,
    lapsesAt: at(24 * 60),
    updatedAt: T0,
    closeComment: null,
    closedBy: null,
    ...overrides,
  };
}

function activeRequest(overrides: Partial<BypassRequest> = {}): BypassRequest {
  return makeRequest({ state: 'active', bypassId: rid('byp'), approvedTtl: '1h', activatedAt: at(0), expiresAt: at(60), lapsesAt: null, ...overrides });
}

function entry(type: NewLedgerEntry['type'], target: string, extra: Partial<NewLedgerEntry> = {}): NewLedgerEntry {
  return {
    time: T0,
    type,
    actor: 'alice',
    actorRole: 'requester',
    target,
    gate: 'unit-tests',
    reason: null,
    incidentRef: null,
    approver: null,
    expiresAt: null,
    sourceAddress: '127.0.0.1',
    data: { n: 1, nested: { z: true, a: [1, 'two'] } },
    ...extra,
  };
}

function makeDecision(requestId: string, seq: number, overrides: Partial<StoredDecision> = {}): StoredDecision {
  return {
    requestId,
    decision: 'approve',
    approver: 'bob',
    keyId: 'ab'.repeat(32),
    comment: 'looks right',
    ttl: '1h',
    at: T0,
    seq,
    signatureDigest: `sha256:${randomBytes(32).toString('hex')}`,
    nonce: randomBytes(16).toString('hex'),
    bundle: { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: { publicKey: { hint: 'k' } }, dsseEnvelope: { payload: 'e30=', payloadType: 'x', signatures: [{ sig: 'c2ln' }] } },
    ...overrides,
  };
}

function makeReview(requestId: string, overrides: Partial<Review> = {}): Review {
  return {
    id: rid('rev'),
    requestId,
    gate: 'unit-tests',
    requester: 'alice',
    team: 'payments',
    state: 'review_open',
    openedAt: at(61),
    timeline: [{ seq: 0, time: T0, type: 'request_created', actor: 'alice', summary: 'filed' }],
    finding: null,
    note: null,
    completedBy: null,
    completedAt: null,
    ...overrides,
  };
}

function makeToken(overrides: Partial<StoredToken> = {}): StoredToken {
  return { id: rid('tok'), tokenHash: randomBytes(32).toString('hex'), principal: 'ci-gate', roles: ['gate'], createdAt: T0, expiresAt: null, revokedAt: null, ...overrides };
}

function makeSession(overrides: Partial<StoredSession> = {}): StoredSession {
  return {
    id: `ses_${randomBytes(13).toString('hex')}`,
    tokenHash: randomBytes(32).toString('hex'),
    idTokenHash: randomBytes(32).toString('hex'),
    principal: 'alice@example.com',
    roles: ['approver', 'requester'],
    team: 'payments',
    approverGroups: ['oncall-leads'],
    issuer: 'https://login.example.com',
    subject: '00u1',
    createdAt: T0,
    expiresAt: T0,
    endedAt: null,
    ...overrides,
  };
}

function makeKey(overrides: Partial<EnrolledKey> = {}): EnrolledKey {
  return {
    keyId: randomBytes(32).toString('hex'),
    principal: 'bob',
    publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n',
    hardwareBacked: false,
    attestation: null,
    label: 'laptop',
    enrolledAt: T0,
    revokedAt: null,
    ...overrides,
  };
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

/**
 * What a decision does inside one transaction, reduced to the storage steps the service takes
 * (read the request, append the decision entry, update, activate at the threshold). Racing
 * callers must never double-activate, whatever the backend.
 */
async function approveOnce(store: Store, requestId: string, approver: string): Promise<'activated' | 'recorded' | 'refused'> {
  return store.transaction(async (tx) => {
    const request = await tx.getRequest(requestId);
    assert.ok(request);
    if (request.state !== 'pending' || request.approvals.some((a) => a.approver === approver)) return 'refused';
    const [decision] = await tx.appendLedger([entry('decision', requestId, { actor: approver, actorRole: 'approver', approver })]);
    await tx.insertDecision(makeDecision(requestId, decision!.seq, { approver }));
    let updated: BypassRequest = { ...request, approvals: [...request.approvals, { approver, keyId: 'k', hardwareBacked: false, ttl: '1h', comment: 'ok', at: T0 }] };
    if (updated.approvals.length >= updated.approvalsRequired) {
      updated = { ...updated, state: 'active', bypassId: rid('byp'), activatedAt: at(0), expiresAt: at(60), lapsesAt: null };
      await tx.updateRequest(updated);
      await tx.appendLedger([entry('bypass_activated', requestId, { actor: approver, actorRole: 'approver' })]);
      return 'activated';
    }
    await tx.updateRequest(updated);
    return 'recorded';
  });
}

/** The sweeper's storage steps: expire every due bypass and open its review, exactly once. */
async function sweepOnce(store: Store, now: string): Promise<string[]> {
  return store.transaction(async (tx) => {
    const due = await tx.dueForExpiry(now);
    const expired: string[] = [];
    for (const request of due) {
      const current = await tx.getRequest(request.id);
      if (current?.state !== 'active') continue;
      await tx.updateRequest({ ...current, state: 'expired', closedAt: now });
      await tx.appendLedger([entry('bypass_expired', current.id, { actor: 'system', actorRole: 'system' })]);
      await tx.insertReview(makeReview(current.id));
      await tx.appendLedger([entry('review_opened', current.id, { actor: 'system', actorRole: 'system' })]);
      expired.push(current.id);
    }
    return expired;
  });
}

function leaf(text: string): string {
  return createHash('sha256').update(Buffer.from([0])).update(text, 'utf8').digest('hex');
}

function makeCredential(overrides: Partial<EmergencyCredential> = {}): EmergencyCredential {
  return {
    id: `emc_${randomBytes(13).toString('hex')}`,
    gate: 'container-signing',
    scope: { repo: 'payments-api' },
    holders: ['alice', 'dave'],
    label: 'DR: region failover',
    state: 'sealed',
    credentialDigest: `sha256:${randomBytes(32).toString('hex')}`,
    sealedBy: 'root',
    sealedAt: T0,
    replaces: null,
    replacedBy: null,
    usedAt: null,
    usedBy: null,
    requestId: null,
    retiredAt: null,
    retiredBy: null,
    ...overrides,
  };
}

function makeIncident(overrides: Partial<Incident> = {}): Incident {
  return {
    source: 'pagerduty',
    incidentId: 'PGR0VU2',
    kind: 'pagerduty',
    title: 'A little bump in the road',
    serviceId: 'PF9KMXH',
    serviceName: 'API Service',
    tags: [],
    urgency: 'high',
    priority: 'P1',
    status: 'triggered',
    assignees: ['PTUXL6G'],
    updatedAt: T0,
    eventSeq: 0,
    payloadDigest: `sha256:${'cd'.repeat(32)}`,
    ...overrides,
  };
}

/** The policy the paged lists' visibility is decided under: dave approves only the critical tier, ciso is on its notify list. */
const PAGING_POLICY = PolicySchema.parse({
  version: 1,
  tiers: { standard: { approvals: 1, approverGroups: ['leads'], maxTtl: '24h' }, critical: { approvals: 1, approverGroups: ['security'], maxTtl: '4h', notify: ['ciso'] } },
  gates: [
    { id: 'unit-tests', kind: 'slow', tier: 'standard' },
    { id: 'e2e', kind: 'slow', tier: 'standard' },
    { id: 'prod-deploy', kind: 'slow', tier: 'critical' },
  ],
  teams: { payments: { members: ['alice', 'bob'] }, search: { members: ['sam', 'dave'] } },
  approvers: { leads: ['bob', 'carol'], security: ['dave'] },
});

/**
 * 40 requests over 8 creation times (so most share one with another) across requesters, teams,
 * gates and states, some approved by bob, and a review for each closed one over 5 opening times.
 */
async function pagingWorkload(store: Store, rnd: ReturnType<typeof seededRandom>): Promise<{ requests: BypassRequest[]; reviews: Review[] }> {
  const people = [
    { requester: 'alice', team: 'payments' },
    { requester: 'sam', team: 'search' },
    { requester: 'dave', team: 'search' },
    { requester: 'bob', team: 'payments' },
  ];
  const requests: BypassRequest[] = [];
  const reviews: Review[] = [];
  for (let i = 0; i < 40; i++) {
    const state = rnd.pick(['pending', 'needs_info', 'active', 'denied', 'expired'] as const);
    const request = makeRequest({ ...rnd.pick(people), gate: rnd.pick(['unit-tests', 'e2e', 'prod-deploy']), state, createdAt: at(rnd.int(8)), tier: 'standard', approvals: rnd.chance(0.3) ? [{ approver: 'bob', keyId: 'ab'.repeat(32), hardwareBacked: false, ttl: '1h', comment: 'looks right', at: at(9) }] : [] });
    requests.push(request);
    if (state === 'expired' || state === 'denied') reviews.push(makeReview(request.id, { gate: request.gate, requester: request.requester, team: request.team, openedAt: at(60 + rnd.int(5)), state: rnd.chance(0.5) ? 'reviewed' : 'review_open' }));
  }
  await store.transaction(async (tx) => {
    for (const r of requests) await tx.insertRequest(r);
    for (const r of reviews) await tx.insertReview(r);
  });
  return { requests, reviews };
}

export function storeConformanceSuite(factory: StoreBackendFactory): void {
  describe(`Store conformance: ${factory.name}`, () => {
    let sut: StoreUnderTest;
    let store: Store;

    beforeEach(async () => {
      sut = await factory.create();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.destroy();
    });

    test('an empty store has nothing and a zero-size ledger', async () => {
      assert.equal(await store.ledgerSize(), 0);
      assert.equal(await store.getRequest(rid('req')), undefined);
      assert.deepEqual(await store.listRequests({}), []);
      assert.equal(await store.countRequests({}), 0);
      assert.equal(await store.nextDeadline(), undefined);
      assert.deepEqual(await store.getLedgerEntries(0, 10), []);
      assert.deepEqual(await store.gateBlockCounts(), []);
      assert.equal(await store.getMeta('missing'), undefined);
    });

    test('requests round-trip exactly and updates replace them', async () => {
      const request = makeRequest({ messages: [{ from: 'bob', kind: 'question', text: 'why now?', at: at(1) }] });
      await store.transaction((tx) => tx.insertRequest(request));
      assert.deepEqual(await store.getRequest(request.id), request);
      const updated: BypassRequest = { ...request, state: 'needs_info', updatedAt: at(2) };
      await store.transaction((tx) => tx.updateRequest(updated));
      assert.deepEqual(await store.getRequest(request.id), updated);
      await rejectsWithCode(
        store.transaction((tx) => tx.updateRequest(makeRequest())),
        'not_found',
      );
    });

    test('listRequests and countRequests filter by state, requester, team, gate and times, newest first', async () => {
      const a = makeRequest({ createdAt: at(1), requester: 'alice', team: 'payments', gate: 'unit-tests' });
      const b = makeRequest({ createdAt: at(2), requester: 'carol', team: 'search', gate: 'e2e', state: 'denied' });
      const c = activeRequest({ createdAt: at(3), requester: 'alice', team: 'payments', gate: 'e2e', activatedAt: at(5) });
      await store.transaction(async (tx) => {
        for (const r of [a, b, c]) await tx.insertRequest(r);
      });
      const ids = (rs: BypassRequest[]) => rs.map((r) => r.id);
      assert.deepEqual(ids(await store.listRequests({})), [c.id, b.id, a.id]);
      assert.deepEqual(ids(await store.listRequests({ limit: 2 })), [c.id, b.id]);
      assert.deepEqual(ids(await store.listRequests({ states: ['pending', 'active'] })), [c.id, a.id]);
      assert.deepEqual(ids(await store.listRequests({ requester: 'alice' })), [c.id, a.id]);
      assert.deepEqual(ids(await store.listRequests({ team: 'search' })), [b.id]);
      assert.deepEqual(ids(await store.listRequests({ gate: 'e2e', states: ['active'] })), [c.id]);
      assert.deepEqual(ids(await store.listRequests({ createdSince: at(2) })), [c.id, b.id]);
      assert.deepEqual(ids(await store.listRequests({ activatedSince: at(0) })), [c.id]);
      assert.equal(await store.countRequests({}), 3);
      assert.equal(await store.countRequests({ requester: 'alice' }), 2);
      assert.equal(await store.countRequests({ states: ['denied'] }), 1);
    });

    test('keyset pages: listRequests and listReviews after a key, in pages of 1, 2 and 7, give the one read, ties broken by the id, filters kept', async () => {
      const rnd = seededRandom(14);
      const { requests, reviews } = await pagingWorkload(store, rnd);
      const byKey = <T extends { id: string }>(time: (row: T) => string) => (a: T, b: T) => (time(b) < time(a) ? -1 : time(b) > time(a) ? 1 : b.id < a.id ? -1 : b.id > a.id ? 1 : 0);
      const ids = (rows: readonly { id: string }[]) => rows.map((r) => r.id);
      assert.ok(new Set(requests.map((r) => r.createdAt)).size < requests.length / 3, 'many requests share a createdAt');
      const requestFilters: RequestFilter[] = [{}, { states: ['pending'] }, { states: ['pending', 'needs_info', 'active'] }, { requester: 'alice' }, { team: 'search' }, { gate: 'e2e' }, { gate: 'prod-deploy', states: ['expired'] }];
      for (const filter of requestFilters) {
        const whole = await store.listRequests(filter);
        const matching = requests.filter((r) => (!filter.states || filter.states.includes(r.state)) && (!filter.requester || r.requester === filter.requester) && (!filter.team || r.team === filter.team) && (!filter.gate || r.gate === filter.gate));
        assert.deepEqual(ids(whole), ids(matching.sort(byKey((r) => r.createdAt))), `one read of ${JSON.stringify(filter)}: createdAt then id, descending`);
        assert.ok(whole.length > 0, JSON.stringify(filter));
        for (const limit of [1, 2, 7]) {
          const seen: BypassRequest[] = [];
          for (let after: PageKey | undefined; ; ) {
            const page = await store.listRequests({ ...filter, after, limit });
            assert.ok(page.length <= limit);
            seen.push(...page);
            if (page.length < limit) break;
            after = { at: page[page.length - 1]!.createdAt, id: page[page.length - 1]!.id };
          }
          assert.deepEqual(ids(seen), ids(whole), `pages of ${limit} of ${JSON.stringify(filter)}`);
        }
      }
      for (const state of [undefined, 'review_open', 'reviewed'] as const) {
        const whole = await store.listReviews({ state });
        assert.deepEqual(ids(whole), ids(reviews.filter((r) => !state || r.state === state).sort(byKey((r) => r.openedAt))), `one read of reviews ${state ?? 'all'}`);
        for (const limit of [1, 2, 7]) {
          const seen: Review[] = [];
          for (let after: PageKey | undefined; ; ) {
            const page = await store.listReviews({ state, after, limit });
            seen.push(...page);
            if (page.length < limit) break;
            after = { at: page[page.length - 1]!.openedAt, id: page[page.length - 1]!.id };
          }
          assert.deepEqual(ids(seen), ids(whole), `pages of ${limit} of reviews ${state ?? 'all'}`);
        }
      }
      // A key past the oldest row: nothing after it.
      assert.deepEqual(await store.listRequests({ after: { at: T0, id: 'req_0000000000000000' }, limit: 5 }), []);
      assert.deepEqual(await store.listReviews({ after: { at: T0, id: 'rev_0000000000000000' }, limit: 5 }), []);
    });

    test('keyset pages for callers whose visibility is decided per row: pages of 1, 2 and 7 give the one read; a cursor names only a row the caller sees', async () => {
      const rnd = seededRandom(41);
      const { requests, reviews } = await pagingWorkload(store, rnd);
      const callers: Viewer[] = [
        { principal: 'audrey', roles: ['auditor'] },
        { principal: 'alice', roles: ['requester'] }, // her own only, in SQL
        { principal: 'dave', roles: ['approver'] }, // the critical tier's requests only: filtered per row
        { principal: 'ciso', roles: ['requester'] }, // on the critical tier's notify list: filtered per row
        { principal: 'bob', roles: ['approver', 'requester'] },
      ];
      const queries: Array<Omit<ListRequestsQuery, 'limit'>> = [{}, { state: 'open' }, { gate: 'prod-deploy' }, { team: 'payments' }, { awaiting: 'me' }];
      const ids = (rows: readonly { id: string }[]) => rows.map((r) => r.id);
      const walk = async <T extends { id: string }>(read: (cursor: string | undefined) => Promise<{ rows: T[]; nextCursor: string | null }>, limit: number, list: 'requests' | 'reviews', what: string): Promise<T[]> => {
        const seen: T[] = [];
        for (let cursor: string | undefined; ; ) {
          const page = await read(cursor);
          seen.push(...page.rows);
          if (page.nextCursor === null) break;
          assert.equal(page.rows.length, limit, `${what}: a page followed by another is full`);
          const decoded = decodePageCursor(list, page.nextCursor);
          assert.ok('key' in decoded && decoded.key.id === page.rows[page.rows.length - 1]!.id, `${what}: the cursor names the page's last row`);
          cursor = page.nextCursor;
        }
        return seen;
      };
      let filteredPerRow = 0;
      for (const caller of callers) {
        for (const q of queries) {
          const what = `${caller.principal} ${JSON.stringify(q)}`;
          const whole = await requestPage(store, PAGING_POLICY, caller, { ...q, limit: 5000 });
          assert.equal(whole.nextCursor, null);
          if (q.awaiting === undefined) {
            const states = q.state === 'open' ? ['pending', 'needs_info', 'active'] : undefined;
            const visible = (await store.listRequests({ gate: q.gate, team: q.team, states: states as RequestFilter['states'] })).filter((r) => canSeeRequest(PAGING_POLICY, caller, r));
            assert.deepEqual(ids(whole.requests), ids(visible), `${what}: what the caller sees, newest first`);
          } else assert.ok(whole.requests.every((r) => canSeeRequest(PAGING_POLICY, caller, r) && ['pending', 'needs_info'].includes(r.state)), what);
          if (whole.requests.length < requests.length) filteredPerRow++;
          for (const limit of [1, 2, 7]) {
            const paged = await walk((cursor) => requestPage(store, PAGING_POLICY, caller, { ...q, limit, cursor }).then((p) => ({ rows: p.requests, nextCursor: p.nextCursor })), limit, 'requests', `${what} pages of ${limit}`);
            assert.deepEqual(ids(paged), ids(whole.requests), `${what}: pages of ${limit}`);
          }
        }
        if (!caller.roles.includes('approver') && !caller.roles.includes('auditor')) continue;
        for (const state of [undefined, 'reviewed'] as const) {
          const whole = await reviewPage(store, PAGING_POLICY, caller, { state, limit: 5000 });
          assert.deepEqual(ids(whole.reviews), ids((await store.listReviews({ state })).filter((r) => canSeeRequest(PAGING_POLICY, caller, r))), `${caller.principal} reviews ${state ?? 'all'}`);
          for (const limit of [1, 2, 7]) {
            const paged = await walk((cursor) => reviewPage(store, PAGING_POLICY, caller, { state, limit, cursor }).then((p) => ({ rows: p.reviews, nextCursor: p.nextCursor })), limit, 'reviews', `${caller.principal} reviews`);
            assert.deepEqual(ids(paged), ids(whole.reviews), `${caller.principal} reviews ${state ?? 'all'}: pages of ${limit}`);
          }
        }
      }
      assert.ok(filteredPerRow > 5, 'most queries leave rows out');
      assert.ok(reviews.some((r) => !canSeeRequest(PAGING_POLICY, callers[2]!, r)), 'dave does not see every review');

      // A cursor past the oldest row: an empty page and no next one. A row filed mid-paging
      // (newer than the cursor) is on no later page; nothing repeats.
      const past = encodePageCursor('requests', { at: '2000-01-01T00:00:00.000Z', id: 'req_0000000000000000' });
      assert.deepEqual(await requestPage(store, PAGING_POLICY, callers[0]!, { limit: 3, cursor: past }), { requests: [], nextCursor: null });
      assert.deepEqual(await reviewPage(store, PAGING_POLICY, callers[0]!, { limit: 3, cursor: encodePageCursor('reviews', { at: '2000-01-01T00:00:00.000Z', id: 'rev_0000000000000000' }) }), { reviews: [], nextCursor: null });
      const first = await requestPage(store, PAGING_POLICY, callers[0]!, { limit: 4 });
      await store.transaction((tx) => tx.insertRequest(makeRequest({ createdAt: at(500) })));
      const rest = await walk((cursor) => requestPage(store, PAGING_POLICY, callers[0]!, { limit: 4, cursor: cursor ?? first.nextCursor! }).then((p) => ({ rows: p.requests, nextCursor: p.nextCursor })), 4, 'requests', 'mid-paging');
      assert.deepEqual([...ids(first.requests), ...ids(rest)], ids([...requests].sort((a, b) => (b.createdAt < a.createdAt ? -1 : b.createdAt > a.createdAt ? 1 : b.id < a.id ? -1 : 1))));
    });

    test('findActiveBypasses: only active on the gate, window not ended, longest first', async () => {
      const long = activeRequest({ expiresAt: at(120) });
      const short = activeRequest({ expiresAt: at(30) });
      const ended = activeRequest({ expiresAt: at(10) });
      const otherGate = activeRequest({ gate: 'e2e' });
      const pending = makeRequest();
      await store.transaction(async (tx) => {
        for (const r of [long, short, ended, otherGate, pending]) await tx.insertRequest(r);
      });
      assert.deepEqual((await store.findActiveBypasses('unit-tests', at(10))).map((r) => r.id), [long.id, short.id]);
      assert.deepEqual((await store.findActiveBypasses('unit-tests', at(30))).map((r) => r.id), [long.id]);
      assert.deepEqual(await store.findActiveBypasses('nope', at(0)), []);
    });

    test('due lists and nextDeadline follow expiresAt and lapsesAt', async () => {
      const expiring = activeRequest({ expiresAt: at(5) });
      const later = activeRequest({ expiresAt: at(50) });
      const lapsing = makeRequest({ lapsesAt: at(3) });
      const askedInfo = makeRequest({ state: 'needs_info', lapsesAt: at(4) });
      const closed = makeRequest({ state: 'denied', lapsesAt: at(1) });
      await store.transaction(async (tx) => {
        for (const r of [expiring, later, lapsing, askedInfo, closed]) await tx.insertRequest(r);
      });
      assert.equal(await store.nextDeadline(), at(3));
      assert.deepEqual((await store.dueForExpiry(at(5))).map((r) => r.id), [expiring.id]);
      assert.deepEqual(await store.dueForExpiry(at(4)), []);
      assert.deepEqual((await store.dueForLapse(at(4))).map((r) => r.id), [lapsing.id, askedInfo.id]);
      assert.deepEqual((await store.dueForLapse(at(3))).map((r) => r.id), [lapsing.id]);
    });

    test('ledger: dense seqs from 0, canonical text, RFC 6962 leaf hashes, ranges and targets', async () => {
      const target = rid('req');
      const first = await store.transaction((tx) => tx.appendLedger([entry('request_created', target), entry('policy_loaded', 'sha256:x', { gate: null })]));
      const second = await store.transaction((tx) => tx.appendLedger([entry('decision', target, { approver: 'bob' })]));
      assert.deepEqual([...first, ...second].map((e) => e.seq), [0, 1, 2]);
      assert.equal(await store.ledgerSize(), 3);
      const texts = await store.getLedgerEntryTexts(0, 10);
      assert.deepEqual(texts.map((t) => t.seq), [0, 1, 2]);
      for (const [i, t] of texts.entries()) assert.equal(t.text, canonicalJson([...first, ...second][i]));
      const hashes = await store.getLeafHashes(0, 10);
      assert.deepEqual(hashes.map((h) => Buffer.from(h).toString('hex')), texts.map((t) => leaf(t.text)));
      assert.deepEqual(await store.getLedgerEntries(1, 1), [first[1]]);
      assert.deepEqual((await store.getLeafHashes(2, 5)).length, 1);
      assert.deepEqual((await store.ledgerEntriesForTarget(target)).map((e) => e.seq), [0, 2]);
      const parsed: LedgerEntry = (await store.getLedgerEntries(0, 1))[0]!;
      assert.deepEqual(parsed.data, { n: 1, nested: { z: true, a: [1, 'two'] } });
      // The start-up check's read: only the texts of a seq range, missing rows left out.
      assert.deepEqual(await store.getLedgerTextRange(0, 3), texts.map((t) => t.text));
      assert.deepEqual(await store.getLedgerTextRange(1, 10), texts.slice(1).map((t) => t.text));
      assert.deepEqual(await store.getLedgerTextRange(3, 5), []);
      // Inside a transaction it sees the rows that transaction appended.
      await store.transaction(async (tx) => {
        const [appended] = await tx.appendLedger([entry('decision', target, { approver: 'carol' })]);
        assert.deepEqual(await tx.getLedgerTextRange(2, 2), [texts[2]!.text, canonicalJson(appended)]);
      });
    });

    test('ledgerRunsForTarget: runs of one type by one actor counted in SQL equal the runs of every entry; long runs come as first and last; a transaction sees its own appends', async () => {
      const rnd = seededRandom(23);
      const target = rid('req');
      const other = rid('req');
      const EXCEPT = ['review_opened'];
      // Long runs (evaluations by one gate), short ones, other actors and excluded types between, other targets' entries interleaved.
      const kinds: Array<[NewLedgerEntry['type'], string]> = [['evaluation_under_bypass', 'ci'], ['evaluation_under_bypass', 'deploy-bot'], ['decision', 'bob'], ['info_requested', 'bob'], ['review_opened', 'system']];
      for (let batch = 0; batch < 30; batch++) {
        const [type, actor] = rnd.pick(kinds);
        const length = rnd.chance(0.3) ? 1 + rnd.int(40) : 1 + rnd.int(3);
        await store.transaction((tx) => tx.appendLedger(Array.from({ length }, () => (rnd.chance(0.15) ? entry('decision', other, { actor: 'bob' }) : entry(type, target, { actor, time: at(batch) })))));
      }
      // The rule read from every entry: a run starts where type or actor differs from the entry before.
      const expected = (entries: readonly LedgerEntry[], except: readonly string[], keepUpTo: number) => {
        const runs: LedgerEntry[][] = [];
        let previous: LedgerEntry | undefined;
        for (const e of entries.filter((x) => !except.includes(x.type))) {
          if (!previous || previous.type !== e.type || previous.actor !== e.actor) runs.push([]);
          runs.at(-1)!.push(e);
          previous = e;
        }
        // A run of one or two is its own first and last.
        return runs.map((r) => ({ count: r.length, entries: r.length <= Math.max(keepUpTo, 2) ? r : [r[0]!, r.at(-1)!] }));
      };
      const all = await store.ledgerEntriesForTarget(target);
      for (const keepUpTo of [0, 1, 2, 5]) {
        assert.deepEqual(await store.ledgerRunsForTarget(target, EXCEPT, keepUpTo), expected(all, EXCEPT, keepUpTo), `keepUpTo ${keepUpTo}`);
        assert.deepEqual(await store.ledgerRunsForTarget(target, [], keepUpTo), expected(all, [], keepUpTo), `keepUpTo ${keepUpTo}, nothing excepted`);
      }
      // After a seq: the runs of the entries after it (a run cut there starts afresh).
      for (const cut of [all[0]!.seq, all[Math.floor(all.length / 2)]!.seq, all.at(-1)!.seq]) {
        assert.deepEqual(await store.ledgerRunsForTarget(target, EXCEPT, 2, cut), expected(all.filter((e) => e.seq > cut), EXCEPT, 2), `after seq ${cut}`);
      }
      const runs = await store.ledgerRunsForTarget(target, EXCEPT, 2);
      assert.ok(runs.some((r) => r.count > 2) && runs.some((r) => r.count <= 2), 'the workload has long and short runs');
      assert.equal(runs.reduce((n, r) => n + r.count, 0), all.filter((e) => !EXCEPT.includes(e.type)).length);
      assert.deepEqual(await store.ledgerRunsForTarget(rid('req'), EXCEPT, 2), []);
      // Inside a transaction the run it is extending grows by what it appended.
      await store.transaction(async (tx) => {
        const last = all.at(-1)!;
        const [appended] = await tx.appendLedger([entry(last.type, target, { actor: last.actor })]);
        const inside = await tx.ledgerRunsForTarget(target, [], 2);
        assert.equal(inside.at(-1)!.entries.at(-1)!.seq, appended!.seq);
        assert.equal(inside.reduce((n, r) => n + r.count, 0), all.length + 1);
      });
    });

    test('entry bundles (tile/entries) are framed from the stored texts to the bytes of entryBundle, non-ASCII included; full and partial', async () => {
      const target = rid('req');
      const entries = Array.from({ length: TILE_WIDTH + 44 }, (_, i) => entry('decision', target, { actor: i % 3 === 0 ? `zoë-日本-𝄞-${i}` : `bob-${i}` }));
      await store.transaction((tx) => tx.appendLedger(entries));
      const texts = (await store.getLedgerEntryTexts(0, TILE_WIDTH + 44)).map((t) => utf8(t.text));
      const bundles = new EntryBundleCache((from, count) => store.getLedgerTextRange(from, count));
      assert.ok((await bundles.bundle(0, TILE_WIDTH)).equals(Buffer.from(entryBundle(texts.slice(0, TILE_WIDTH)))));
      const full = await bundles.bundle(0, TILE_WIDTH);
      assert.ok(full.equals(Buffer.from(entryBundle(texts.slice(0, TILE_WIDTH)))));
      assert.equal(await bundles.bundle(0, TILE_WIDTH), full, 'a full bundle read twice is cached');
      assert.ok((await bundles.bundle(1, 44)).equals(Buffer.from(entryBundle(texts.slice(TILE_WIDTH)))));
      await assert.rejects(bundles.bundle(1, 45), /ledger entries 256\.\.300 are not all stored/);
    });

    test('lockForAppend returns the requests asked for (missing ones left out) as of the lock, and the appends after it stay dense', async () => {
      const one = makeRequest();
      const two = makeRequest();
      await store.transaction(async (tx) => {
        await tx.insertRequest(one);
        await tx.insertRequest(two);
      });
      await store.transaction((tx) => tx.appendLedger([entry('request_created', one.id)]));
      const appended = await store.transaction(async (tx) => {
        const locked = await tx.lockForAppend([two.id, rid('req'), one.id].sort());
        assert.deepEqual(locked.map((r) => r.id).sort(), [one.id, two.id].sort());
        assert.deepEqual(locked.find((r) => r.id === one.id), one);
        const first = await tx.appendLedger([entry('evaluation_under_bypass', one.id)]);
        const second = await tx.appendLedger([entry('evaluation_under_bypass', two.id), entry('evaluation_under_bypass', one.id)]);
        return [...first, ...second];
      });
      assert.deepEqual(appended.map((e) => e.seq), [1, 2, 3]);
      // Nothing asked for: only the head is taken; the next append follows on.
      const after = await store.transaction(async (tx) => {
        assert.deepEqual(await tx.lockForAppend([]), []);
        return tx.appendLedger([entry('request_created', two.id)]);
      });
      assert.deepEqual(after.map((e) => e.seq), [4]);
      assert.equal(await store.ledgerSize(), 5);
      assert.deepEqual((await store.getLedgerEntries(0, 10)).map((e) => e.seq), [0, 1, 2, 3, 4]);
    });

    test('ledger tables refuse UPDATE and DELETE in the database itself', async () => {
      await store.transaction((tx) => tx.appendLedger([entry('request_created', rid('req'))]));
      await assert.rejects(sut.rawExec("UPDATE ledger_entries SET type = 'forged' WHERE seq = 0"), /append-only/);
      await assert.rejects(sut.rawExec('DELETE FROM ledger_entries WHERE seq = 0'), /append-only/);
      assert.equal(await store.ledgerSize(), 1);
      assert.equal((await store.getLedgerEntries(0, 1))[0]!.type, 'request_created');
    });

    test('a rolled-back transaction writes nothing and consumes no seq', async () => {
      const request = makeRequest();
      const seen: number[] = [];
      store.onLedgerAppended((entries) => seen.push(...entries.map((e) => e.seq)));
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertRequest(request);
          await tx.appendLedger([entry('request_created', request.id)]);
          assert.deepEqual(await tx.getRequest(request.id), request, 'a transaction reads its own writes');
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.getRequest(request.id), undefined);
      assert.equal(await store.ledgerSize(), 0);
      assert.deepEqual(seen, []);
      const [e] = await store.transaction((tx) => tx.appendLedger([entry('request_created', request.id)]));
      assert.equal(e!.seq, 0);
    });

    test('uncommitted writes are invisible outside the transaction', async () => {
      const request = makeRequest();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let inserted!: () => void;
      const didInsert = new Promise<void>((resolve) => (inserted = resolve));
      const tx = store.transaction(async (t) => {
        await t.insertRequest(request);
        await t.appendLedger([entry('request_created', request.id)]);
        inserted();
        await gate;
      });
      await didInsert;
      assert.equal(await store.getRequest(request.id), undefined);
      assert.equal(await store.ledgerSize(), 0);
      release();
      await tx;
      assert.deepEqual(await store.getRequest(request.id), request);
      assert.equal(await store.ledgerSize(), 1);
    });

    test('listeners get committed entries once, in seq order, before transaction() resolves', async () => {
      const batches: number[][] = [];
      const unsubscribe = store.onLedgerAppended((entries) => batches.push(entries.map((e) => e.seq)));
      store.onLedgerAppended(() => {
        throw new Error('a broken listener must not break the commit');
      });
      await store.transaction(async (tx) => {
        await tx.appendLedger([entry('request_created', 'a')]);
        await tx.appendLedger([entry('request_created', 'b')]);
      });
      assert.deepEqual(batches.flat(), [0, 1]);
      await store.transaction(async (tx) => tx.setMeta('no-ledger', 'x'));
      assert.deepEqual(batches.flat(), [0, 1]);
      unsubscribe();
      await store.transaction((tx) => tx.appendLedger([entry('request_created', 'c')]));
      assert.deepEqual(batches.flat(), [0, 1]);
    });

    test('concurrent appenders get a gap-free ledger and listeners see every entry once', async () => {
      const peer = await sut.openPeer();
      const seen: number[] = [];
      store.onLedgerAppended((entries) => seen.push(...entries.map((e) => e.seq)));
      const writers = Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? store : peer).transaction((tx) => tx.appendLedger([entry('evaluation_under_bypass', `t${i}`), entry('evaluation_under_bypass', `u${i}`)])),
      );
      const results = await Promise.all(writers);
      const seqs = results.flat().map((e) => e.seq).sort((a, b) => a - b);
      assert.deepEqual(seqs, Array.from({ length: 80 }, (_, i) => i));
      for (const batch of results) assert.equal(batch[1]!.seq, batch[0]!.seq + 1, 'one transaction gets consecutive seqs');
      assert.equal(await store.ledgerSize(), 80);
      // The peer's commits reach this handle's listeners too when the backend is shared
      // (Postgres feed); embedded, the peer is this very store. Either way: every seq once.
      const deadline = Date.now() + 2_000;
      while (seen.length < 80 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seen, Array.from({ length: 80 }, (_, i) => i));
    });

    test('racing approvals on a two-approver request activate it exactly once', async () => {
      const peer = await sut.openPeer();
      const request = makeRequest({ approvalsRequired: 2 });
      await store.transaction((tx) => tx.insertRequest(request));
      const approvers = Array.from({ length: 12 }, (_, i) => `approver-${i}`);
      const outcomes = await Promise.all(approvers.map((a, i) => approveOnce(i % 2 ? peer : store, request.id, a)));
      assert.equal(outcomes.filter((o) => o === 'activated').length, 1);
      assert.equal(outcomes.filter((o) => o === 'recorded').length, 1);
      const final = await store.getRequest(request.id);
      assert.equal(final?.state, 'active');
      assert.equal(final?.approvals.length, 2);
      assert.equal((await store.listDecisions(request.id)).length, 2);
      const entries = await store.ledgerEntriesForTarget(request.id);
      assert.equal(entries.filter((e) => e.type === 'bypass_activated').length, 1);
      assert.equal(entries.filter((e) => e.type === 'decision').length, 2);
      assert.equal(await store.ledgerSize(), 3);
    });

    test('racing sweepers expire each bypass exactly once and open exactly one review', async () => {
      const peer = await sut.openPeer();
      const due = Array.from({ length: 15 }, (_, i) => activeRequest({ expiresAt: at(i) }));
      const notYet = activeRequest({ expiresAt: at(500) });
      await store.transaction(async (tx) => {
        for (const r of [...due, notYet]) await tx.insertRequest(r);
      });
      const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => sweepOnce(i % 2 ? peer : store, at(100))));
      const expired = runs.flat();
      assert.equal(expired.length, due.length);
      assert.equal(new Set(expired).size, due.length);
      for (const r of due) {
        assert.equal((await store.getRequest(r.id))?.state, 'expired');
        const entries = await store.ledgerEntriesForTarget(r.id);
        assert.equal(entries.filter((e) => e.type === 'bypass_expired').length, 1);
        assert.equal(entries.filter((e) => e.type === 'review_opened').length, 1);
        assert.ok(await store.getReviewByRequest(r.id));
      }
      assert.equal((await store.getRequest(notYet.id))?.state, 'active');
      assert.equal((await store.listReviews({ state: 'review_open' })).length, due.length);
      assert.equal(await store.ledgerSize(), due.length * 2);
    });

    test('decisions: stored with their bundle, listed by seq, replays refused without poisoning the transaction', async () => {
      const request = makeRequest();
      const first = makeDecision(request.id, 1, { approver: 'bob' });
      const second = makeDecision(request.id, 2, { approver: 'carol', decision: 'request_info', ttl: null });
      await store.transaction(async (tx) => {
        await tx.insertRequest(request);
        await tx.appendLedger([entry('request_created', request.id), entry('decision', request.id), entry('decision', request.id)]);
        await tx.insertDecision(second);
        await tx.insertDecision(first);
      });
      assert.deepEqual(await store.listDecisions(request.id), [first, second]);
      assert.equal(await store.decisionReplayed(first.signatureDigest, 'f'.repeat(32)), true);
      assert.equal(await store.decisionReplayed(`sha256:${'0'.repeat(64)}`, first.nonce), true);
      assert.equal(await store.decisionReplayed(`sha256:${'0'.repeat(64)}`, 'f'.repeat(32)), false);
      const other = makeRequest();
      await store.transaction(async (tx) => {
        const [e] = await tx.appendLedger([entry('decision', request.id)]);
        await rejectsWithCode(tx.insertDecision(makeDecision(request.id, e!.seq, { signatureDigest: first.signatureDigest })), 'conflict');
        await rejectsWithCode(tx.insertDecision(makeDecision(request.id, e!.seq, { nonce: first.nonce })), 'conflict');
        // The caller may carry on after a refused insert: the transaction is still usable.
        await tx.insertRequest(other);
      });
      assert.ok(await store.getRequest(other.id));
      assert.equal((await store.listDecisions(request.id)).length, 2);
    });

    test('tokens: by hash and id, listed, revoked once', async () => {
      const a = makeToken({ createdAt: at(1), roles: ['approver', 'requester'], expiresAt: at(99) });
      const b = makeToken({ createdAt: at(2) });
      await store.transaction(async (tx) => {
        await tx.insertToken(b);
        await tx.insertToken(a);
      });
      assert.deepEqual(await store.getTokenByHash(a.tokenHash), a);
      assert.deepEqual(await store.getToken(b.id), b);
      assert.equal(await store.getToken(rid('tok')), undefined);
      assert.deepEqual(await store.listTokens(), [a, b]);
      assert.equal((await store.getTokenByHash(a.tokenHash))?.revokedAt, null);
      await store.transaction((tx) => tx.revokeToken(a.id, at(5)));
      assert.equal((await store.getTokenByHash(a.tokenHash))?.revokedAt, at(5), 'a revocation is seen at once by hash too');
      await store.transaction((tx) => tx.revokeToken(a.id, at(9)));
      assert.equal((await store.getToken(a.id))?.revokedAt, at(5), 'the first revocation time is kept');
    });

    test('sessions: by hash and id, one per ID token, ended once, the newest per principal', async () => {
      const first = makeSession({ createdAt: at(1), expiresAt: at(61), team: null, approverGroups: [] });
      const second = makeSession({ createdAt: at(2), expiresAt: at(62) });
      const bob = makeSession({ principal: 'bob@example.com', createdAt: at(3), expiresAt: at(63), roles: ['auditor'] });
      await store.transaction(async (tx) => {
        await tx.insertSession(first);
        await tx.insertSession(second);
        await tx.insertSession(bob);
      });
      assert.deepEqual(await store.getSessionByHash(second.tokenHash), second);
      assert.deepEqual(await store.getSession(first.id), first);
      assert.equal(await store.getSession(`ses_${'0'.repeat(26)}`), undefined);
      assert.deepEqual(await store.latestSessions(), [second, bob]);
      const other = makeRequest();
      await store.transaction(async (tx) => {
        await rejectsWithCode(tx.insertSession(makeSession({ idTokenHash: first.idTokenHash })), 'conflict');
        // The caller may carry on after a refused insert: the transaction is still usable.
        await tx.insertRequest(other);
      });
      assert.ok(await store.getRequest(other.id));
      await store.transaction((tx) => tx.endSession(second.id, at(5)));
      assert.equal((await store.getSessionByHash(second.tokenHash))?.endedAt, at(5), 'an ended session is seen at once by hash');
      await store.transaction((tx) => tx.endSession(second.id, at(9)));
      assert.equal((await store.getSession(second.id))?.endedAt, at(5), 'the first end time is kept');
    });

    test('keys: enrolled once, listed per principal, revoked once', async () => {
      const bob = makeKey({ enrolledAt: at(1), hardwareBacked: true, attestation: { kind: 'piv', root: 'yubico-piv', serial: '12345678', policy: { pin: 'once', touch: 'always' } } });
      const carol = makeKey({ principal: 'carol', enrolledAt: at(2), label: null });
      await store.transaction(async (tx) => {
        await tx.insertKey(bob);
        await tx.insertKey(carol);
      });
      assert.deepEqual(await store.getKey(bob.keyId), bob);
      assert.deepEqual(await store.listKeys(), [bob, carol]);
      assert.deepEqual(await store.listKeys('carol'), [carol]);
      await rejectsWithCode(
        store.transaction((tx) => tx.insertKey({ ...bob, principal: 'mallory' })),
        'conflict',
      );
      await store.transaction((tx) => tx.revokeKey(bob.keyId, at(3)));
      await store.transaction((tx) => tx.revokeKey(bob.keyId, at(4)));
      assert.equal((await store.getKey(bob.keyId))?.revokedAt, at(3));
    });

    test('reviews: one per request, by id and request, listed by state newest first, updated', async () => {
      const r1 = makeRequest();
      const r2 = makeRequest();
      const v1 = makeReview(r1.id, { openedAt: at(1) });
      const v2 = makeReview(r2.id, { openedAt: at(2) });
      await store.transaction(async (tx) => {
        await tx.insertRequest(r1);
        await tx.insertRequest(r2);
        await tx.insertReview(v1);
        await tx.insertReview(v2);
      });
      await rejectsWithCode(
        store.transaction((tx) => tx.insertReview(makeReview(r1.id))),
        'conflict',
      );
      assert.deepEqual(await store.getReview(v1.id), v1);
      assert.deepEqual(await store.getReviewByRequest(r2.id), v2);
      assert.deepEqual((await store.listReviews()).map((r) => r.id), [v2.id, v1.id]);
      const done: Review = { ...v1, state: 'reviewed', finding: 'justified', note: 'the suite was broken upstream', completedBy: 'carol', completedAt: at(90) };
      await store.transaction((tx) => tx.updateReview(done));
      assert.deepEqual(await store.getReview(v1.id), done);
      assert.deepEqual((await store.listReviews({ state: 'review_open' })).map((r) => r.id), [v2.id]);
      assert.deepEqual((await store.listReviews({ state: 'reviewed' })).map((r) => r.id), [v1.id]);
    });

    test('emergency credentials: by id and secret digest, one per digest, state changes exactly once', async () => {
      const older = makeCredential({ sealedAt: at(1) });
      const newer = makeCredential({ sealedAt: at(2), gate: 'deploy-freeze' });
      await store.transaction(async (tx) => {
        await tx.insertEmergencyCredential(older);
        await tx.insertEmergencyCredential(newer);
      });
      assert.deepEqual(await store.getEmergencyCredential(older.id), older);
      assert.deepEqual(await store.getEmergencyCredentialByDigest(newer.credentialDigest), newer);
      assert.equal(await store.getEmergencyCredentialByDigest(`sha256:${'00'.repeat(32)}`), undefined);
      assert.deepEqual((await store.listEmergencyCredentials()).map((c) => c.id), [newer.id, older.id]);
      await assert.rejects(
        store.transaction((tx) => tx.insertEmergencyCredential(makeCredential({ credentialDigest: older.credentialDigest }))),
        (e: unknown) => e instanceof AppError && e.code === 'conflict',
      );
      // Two holders racing to use it (one per instance where the backend has several): one wins.
      const peer = await sut.openPeer();
      const use = (s: Store, by: string) => s.transaction(async (tx) => {
        const current = await tx.getEmergencyCredential(older.id);
        if (!current || current.state !== 'sealed') return false;
        return tx.updateEmergencyCredential({ ...current, state: 'used', usedBy: by, usedAt: at(5) }, 'sealed');
      });
      const wins = await Promise.all([use(store, 'alice'), use(peer, 'dave'), use(store, 'alice'), use(peer, 'dave')]);
      assert.equal(wins.filter(Boolean).length, 1);
      const used = await store.getEmergencyCredential(older.id);
      assert.equal(used?.state, 'used');
      assert.equal(await store.transaction((tx) => tx.updateEmergencyCredential({ ...used!, state: 'retired' }, 'sealed')), false);
    });

    test('incidents and webhook receipts: upsert, open list, one receipt per event', async () => {
      const a = makeIncident();
      const b = makeIncident({ incidentId: 'PB', updatedAt: at(3) });
      await store.transaction(async (tx) => {
        await tx.putIncident(a);
        await tx.putIncident(b);
      });
      assert.deepEqual(await store.getIncident('pagerduty', 'PGR0VU2'), a);
      assert.deepEqual((await store.listOpenIncidents()).map((i) => i.incidentId), ['PB', 'PGR0VU2']);
      const resolved = { ...a, status: 'resolved' as const, updatedAt: at(9), eventSeq: 4 };
      await store.transaction((tx) => tx.putIncident(resolved));
      assert.deepEqual(await store.getIncident('pagerduty', 'PGR0VU2'), resolved);
      assert.deepEqual((await store.listOpenIncidents()).map((i) => i.incidentId), ['PB']);
      assert.equal(await store.getIncident('opsgenie', 'PGR0VU2'), undefined);

      const receipt = { source: 'pagerduty', eventId: '5ac64822-4adc-4fda-ade0-410becf0de4f', payloadDigest: `sha256:${'ef'.repeat(32)}`, receivedAt: at(1), seq: 7 };
      assert.equal(await store.transaction((tx) => tx.insertIncidentReceipt(receipt)), true);
      assert.equal(await store.transaction((tx) => tx.insertIncidentReceipt({ ...receipt, receivedAt: at(2), seq: null })), false);
      assert.deepEqual(await store.getIncidentReceipt('pagerduty', receipt.eventId), receipt);
      assert.equal(await store.transaction((tx) => tx.insertIncidentReceipt({ ...receipt, source: 'generic' })), true);
    });

    test('digest runs: one claim wins, a lease blocks others until it runs out, sent is final', async () => {
      const peer = await sut.openPeer();
      const claim = (s: Store, instance: string, now: string, until: string) => s.transaction((tx) => tx.claimDigestRun('2026-W48', instance, now, until));
      const racers = await Promise.all([claim(store, 'a', at(0), at(10)), claim(peer, 'b', at(0), at(10)), claim(store, 'c', at(0), at(10)), claim(peer, 'd', at(0), at(10))]);
      assert.equal(racers.filter(Boolean).length, 1);
      const winner = ['a', 'b', 'c', 'd'][racers.indexOf(true)]!;
      assert.equal(await claim(peer, 'e', at(5), at(15)), false, 'lease still running');
      // The winner fails; its retry time ends the lease, and then anyone may take the week.
      await store.transaction((tx) => tx.failDigestRun('2026-W48', winner, 'ECONNREFUSED', at(6)));
      assert.deepEqual(await store.getDigestRun('2026-W48'), { week: '2026-W48', instance: winner, claimedAt: at(0), leaseUntil: at(6), sentAt: null, attempts: 1, lastError: 'ECONNREFUSED' });
      assert.equal(await claim(peer, 'e', at(6), at(16)), true);
      assert.equal(await store.transaction((tx) => tx.completeDigestRun('2026-W48', winner, at(7))), false, 'the old holder lost the week');
      assert.equal(await store.transaction((tx) => tx.completeDigestRun('2026-W48', 'e', at(7))), true);
      assert.equal(await claim(store, 'f', at(100), at(110)), false, 'a sent week is never sent again');
      const run = await store.getDigestRun('2026-W48');
      assert.deepEqual([run?.instance, run?.sentAt, run?.attempts], ['e', at(7), 2]);
      assert.equal(await store.getDigestRun('2026-W49'), undefined);
    });

    test('gate block counts and meta', async () => {
      await store.transaction(async (tx) => {
        await tx.incrementGateBlocks('unit-tests', at(1));
        await tx.incrementGateBlocks('e2e', at(2));
        await tx.incrementGateBlocks('unit-tests', at(3));
        await tx.incrementGateBlocks('unit-tests', at(4), 40);
        await tx.setMeta('policy.hash', 'sha256:1');
        await tx.setMeta('policy.hash', 'sha256:2');
      });
      assert.deepEqual(await store.gateBlockCounts(), [
        { gate: 'e2e', count: 1, lastAt: at(2) },
        { gate: 'unit-tests', count: 42, lastAt: at(4) },
      ]);
      assert.equal(await store.getMeta('policy.hash'), 'sha256:2');
    });

    test('counters equal a full recomputation after a random workload (rolled-back work counts nothing)', async () => {
      let seed = 0x5eed_16;
      const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const minutes = () => Math.floor(rand() * 60 * 24 * 9); // spread over 9 days
      const requests: BypassRequest[] = [];
      const reviews: Review[] = [];
      const blocksByGate = new Map<string, number>();
      let decisionSeq = 1_000_000;
      for (let step = 0; step < 160; step++) {
        const op = rand();
        const rollback = rand() < 0.1;
        const work = async (fn: Parameters<Store['transaction']>[0]) => {
          if (!rollback) return store.transaction(fn);
          await assert.rejects(store.transaction(async (tx) => {
            await fn(tx);
            throw new Error('rolled back on purpose');
          }), /rolled back on purpose/);
          return undefined;
        };
        if (op < 0.25 || requests.length === 0) {
          const created = minutes();
          const standing = rand() < 0.2;
          const r = makeRequest({ gate: pick(['unit-tests', 'e2e', 'lint']), team: pick(['payments', 'search', 'infra']), tier: pick(['standard', 'critical']), incidentRef: rand() < 0.5 ? 'INC-7' : null, createdAt: at(created), updatedAt: at(created), standingScope: standing ? 'hotfix' : null });
          const stored = standing ? { ...r, state: 'active' as const, activatedAt: at(created), bypassId: rid('byp'), expiresAt: at(created + 60), lapsesAt: null } : r;
          await work(async (tx) => {
            await tx.insertRequest(stored);
            await tx.appendLedger([entry('request_created', stored.id, { time: stored.createdAt, gate: stored.gate })]);
          });
          if (!rollback) requests.push(stored);
        } else if (op < 0.55) {
          const i = Math.floor(rand() * requests.length);
          const r = requests[i]!;
          const later = Date.parse(r.updatedAt) / 60_000 - Date.parse(T0) / 60_000 + 1 + Math.floor(rand() * 600);
          let next: BypassRequest;
          // As the decision service does: every approval, activation and denial is a signed decision row.
          let decision: StoredDecision | null = null;
          if (r.state === 'pending' && rand() < 0.5) {
            const approver = pick(['bob', 'carol', 'dave']);
            next = { ...r, approvals: [...r.approvals, { approver, keyId: 'ab'.repeat(32), hardwareBacked: false, ttl: '1h', comment: 'ok', at: at(later) }], updatedAt: at(later) };
            decision = makeDecision(r.id, ++decisionSeq, { approver, at: at(later) });
          } else if (r.state === 'pending' && rand() < 0.6) {
            next = { ...r, state: 'active', activatedAt: at(later), bypassId: rid('byp'), expiresAt: at(later + 60), lapsesAt: null, updatedAt: at(later) };
            decision = makeDecision(r.id, ++decisionSeq, { at: at(later) });
          } else if (r.state === 'pending') {
            next = { ...r, state: 'denied', closedAt: at(later), closedBy: pick(['bob', 'carol']), closeComment: 'no', updatedAt: at(later) };
            decision = makeDecision(r.id, ++decisionSeq, { decision: 'deny', approver: next.closedBy!, at: at(later) });
          } else if (r.state === 'active' && rand() < 0.4) next = { ...r, state: 'expired', closedAt: at(later), updatedAt: at(later) };
          else next = { ...r, messages: [...r.messages, { from: 'bob', kind: 'comment', text: 'noted', at: at(later) }], updatedAt: at(later) };
          await work(async (tx) => {
            await tx.updateRequest(next);
            if (decision) await tx.insertDecision(decision);
          });
          if (!rollback) requests[i] = next;
        } else if (op < 0.8) {
          const active = requests.filter((r) => r.activatedAt !== null);
          if (active.length === 0) continue;
          const r = pick(active);
          const n = 1 + Math.floor(rand() * 5);
          await work((tx) => tx.appendLedger(Array.from({ length: n }, () => entry('evaluation_under_bypass', r.id, { time: at(minutes()), gate: r.gate }))));
        } else if (op < 0.9) {
          const gate = pick(['unit-tests', 'e2e', 'deploy']);
          const count = 1 + Math.floor(rand() * 3);
          await work((tx) => tx.incrementGateBlocks(gate, at(minutes()), count));
          if (!rollback) blocksByGate.set(gate, (blocksByGate.get(gate) ?? 0) + count);
        } else {
          const open = reviews.filter((rv) => rv.state === 'review_open');
          if (open.length > 0 && rand() < 0.5) {
            const rv = pick(open);
            const done: Review = { ...rv, state: 'reviewed', finding: 'justified', note: 'fine', completedBy: 'carol', completedAt: at(Date.parse(rv.openedAt) / 60_000 - Date.parse(T0) / 60_000 + pick([60, 60 * 24 * 8])) };
            await work((tx) => tx.updateReview(done));
            if (!rollback) reviews[reviews.indexOf(rv)] = done;
          } else {
            const closed = requests.filter((r) => r.state === 'expired' && !reviews.some((rv) => rv.requestId === r.id));
            if (closed.length === 0) continue;
            const r = pick(closed);
            const rv = makeReview(r.id, { gate: r.gate, team: r.team, openedAt: r.closedAt! });
            await work((tx) => tx.insertReview(rv));
            if (!rollback) reviews.push(rv);
          }
        }
      }

      assert.equal((await store.listRequests({})).length, requests.length);
      const teamOf = new Map(requests.map((r) => [r.id, r.team]));
      const evaluations: { entry: LedgerEntry; team: string }[] = [];
      for (const e of await store.getLedgerEntries(0, 100_000)) if (e.type === 'evaluation_under_bypass') evaluations.push({ entry: e, team: teamOf.get(e.target) ?? '' });
      assert.ok(evaluations.length > 20, 'the workload produced evaluations');
      const expected = countersOf({ requests: await store.listRequests({}), reviews: await store.listReviews(), evaluations, blocks: [] });
      const actual = await store.counterRows({});
      const strip = (rows: CounterRow[]) => sortCounters(rows.filter((r) => r.metric !== 'blocks' && r.count !== 0)).map(({ firstAt: _f, lastAt: _l, ...rest }) => rest);
      assert.deepEqual(strip(actual), strip(expected));
      // Bounds enclose every counted time (they may be wider after a subtraction, never narrower).
      const actualByKey = new Map(actual.map((r) => [counterKeyString(r), r]));
      for (const e of expected) {
        const a = actualByKey.get(counterKeyString(e))!;
        assert.ok(a.firstAt <= e.firstAt && a.lastAt >= e.lastAt, `bounds of ${counterKeyString(e)}`);
      }
      // Blocks: the per-day rows add up to the store's per-gate totals.
      const blockSums = new Map<string, number>();
      for (const r of actual) if (r.metric === 'blocks') blockSums.set(r.gate, (blockSums.get(r.gate) ?? 0) + r.count);
      assert.deepEqual(Object.fromEntries([...blockSums].sort()), Object.fromEntries([...blocksByGate].sort()));
      assert.deepEqual(Object.fromEntries((await store.gateBlockCounts()).map((b) => [b.gate, b.count])), Object.fromEntries([...blocksByGate].sort()));
      // Filters, and the itemized times behind a warns row.
      const warnRows = await store.counterRows({ metrics: ['warns'], fromDay: T0.slice(0, 10), toDay: at(60 * 24 * 3).slice(0, 10) });
      assert.ok(warnRows.length > 0 && warnRows.every((r) => r.metric === 'warns' && r.day >= T0.slice(0, 10) && r.day <= at(60 * 24 * 3).slice(0, 10)));
      const row = warnRows[0]!;
      const items = await store.counterItems('warns', row.gate, `${row.day}T00:00:00.000Z`, `${row.day}T23:59:59.999Z~`);
      const expectItems = evaluations.filter((e) => e.entry.gate === row.gate && e.entry.time.startsWith(row.day)).map((e) => ({ time: e.entry.time, team: e.team }));
      assert.deepEqual(sortItems(items), sortItems(expectItems));
      const activations = await store.counterItems('bypasses', 'e2e', T0, at(60 * 24 * 10));
      assert.deepEqual(sortItems(activations), sortItems(requests.filter((r) => r.gate === 'e2e' && r.activatedAt !== null).map((r) => ({ time: r.activatedAt!, team: r.team }))));

      // Every report (and the /metrics extras) from the counters and bounded reads equals the
      // report from every request and review, as of the clock after the workload and a week on
      // (the live reads answer for a clock no event is later than; replay: true for any moment).
      const last = Math.max(...requests.map((r) => Date.parse(r.updatedAt)), ...reviews.map((rv) => Date.parse(rv.completedAt ?? rv.openedAt)), ...evaluations.map((e) => Date.parse(e.entry.time)));
      const fullState = { policy: REPORT_POLICY, requests, reviews, evaluations: evaluations.map((e) => ({ gate: e.entry.gate!, team: e.team, time: e.entry.time, count: 1 })), blocksByGate: Object.fromEntries(blocksByGate) };
      for (const now of [new Date(last + 60_000), new Date(last + 7 * 86_400_000)]) {
        const live = healthReport(await loadReportInput(store, REPORT_POLICY, now));
        const full = healthReport(reportInputOf({ ...fullState, now }));
        assert.deepEqual(live, full, `health report at ${now.toISOString()}`);
        const replay = healthReport(await loadReportInput(store, REPORT_POLICY, now, { replay: true }));
        assert.deepEqual(replay, full, `replayed health report at ${now.toISOString()}`);
      }
      const middle = new Date(at(60 * 24 * 5));
      assert.deepEqual(healthReport(await loadReportInput(store, REPORT_POLICY, middle, { replay: true })), healthReport(reportInputOf({ ...fullState, now: middle })), 'replayed mid-workload');
      const live = healthReport(await loadReportInput(store, REPORT_POLICY, new Date(last + 60_000)));
      assert.ok(live.approvers.groups.some((g) => g.approvals > 0) && live.decisionTimes.other.decided + live.decisionTimes.incident.decided > 0 && live.reviews.total > 0 && live.weekly.some((w) => Object.keys(w.counts).length > 0), 'the reports are not trivially empty');
      const extras = await loadMetricsExtras(store);
      const latencyCount = extras.latency.reduce((n, r) => n + r.count, 0);
      assert.equal(latencyCount, requests.filter((r) => r.standingScope === null && (r.activatedAt !== null || r.state === 'denied')).length);
      const stateCount = (st: string) => extras.stateCounts.filter((c) => c.state === st).reduce((n, c) => n + c.count, 0);
      assert.equal(stateCount('active'), requests.filter((r) => r.state === 'active').length);
      assert.equal(stateCount('pending'), requests.filter((r) => r.state === 'pending').length);
    });

    test('audit entries: every filter in SQL, keyset paging never skips or repeats; lifecycle entries; requests and reviews by id', async () => {
      const reqs = [makeRequest({ team: 'payments', gate: 'unit-tests' }), makeRequest({ team: 'search', gate: 'e2e' }), makeRequest({ team: 'payments', gate: 'e2e' })];
      const review = makeReview(reqs[0]!.id);
      await store.transaction(async (tx) => {
        for (const r of reqs) await tx.insertRequest(r);
        await tx.insertReview(review);
      });
      const drafts: NewLedgerEntry[] = [];
      for (let i = 0; i < 90; i++) {
        const r = reqs[i % 3]!;
        const type = i % 10 === 0 ? 'request_created' : i % 10 === 5 ? 'decision' : 'evaluation_under_bypass';
        drafts.push(entry(type, r.id, { time: at(i % 30), gate: r.gate, actor: i % 4 === 0 ? 'bob' : 'ci-bot' }));
      }
      drafts.push(entry('token_revoked', 'carol', { time: at(5), gate: null, actor: 'admin' }), entry('policy_loaded', 'sha256:x', { time: at(40), gate: null, actor: 'system', actorRole: 'system' }));
      // Appended in several transactions, interleaved with the paging below.
      await store.transaction((tx) => tx.appendLedger(drafts.slice(0, 50)));
      const all = async () => store.getLedgerEntries(0, 1000);
      const teamOf = new Map(reqs.map((r) => [r.id, r.team]));
      const filters: [import('../../../grant-store/storage/store').LedgerFilter, (e: LedgerEntry) => boolean][] = [
        [{}, () => true],
        [{ from: at(10), to: at(20) }, (e) => e.time >= at(10) && e.time < at(20)],
        [{ gate: 'e2e' }, (e) => e.gate === 'e2e'],
        [{ actor: 'bob' }, (e) => e.actor === 'bob'],
        [{ team: 'payments' }, (e) => !e.target.startsWith('req_') || teamOf.get(e.target) === 'payments'],
        [{ types: ['decision', 'request_created'] }, (e) => e.type === 'decision' || e.type === 'request_created'],
        [{ gate: 'e2e', actor: 'ci-bot', from: at(3), team: 'search' }, (e) => e.gate === 'e2e' && e.actor === 'ci-bot' && e.time >= at(3) && (!e.target.startsWith('req_') || teamOf.get(e.target) === 'search')],
      ];
      for (const [filter, keep] of filters) {
        const seen: number[] = [];
        let after = -1;
        let appended = false;
        for (;;) {
          const page = await store.auditEntries(filter, after, 7);
          if (page.length === 0) break;
          assert.ok(page.length <= 7);
          seen.push(...page.map((e) => e.seq));
          after = page[page.length - 1]!.seq;
          if (!appended) {
            // Entries appended mid-export come after the cursor: picked up, nothing skipped or repeated.
            appended = true;
            if (filter === filters[0]![0]) await store.transaction((tx) => tx.appendLedger(drafts.slice(50)));
          }
        }
        const expected = (await all()).filter(keep).map((e) => e.seq);
        assert.ok(expected.length > 0, JSON.stringify(filter));
        assert.deepEqual(seen, expected, JSON.stringify(filter));
      }
      const lifecycle = await store.lifecycleEntries(3, 1000);
      assert.deepEqual(lifecycle.map((e) => e.seq), (await all()).filter((e) => e.seq > 3 && e.type !== 'evaluation_under_bypass').map((e) => e.seq));
      assert.equal((await store.lifecycleEntries(-1, 2)).length, 2);
      assert.deepEqual((await store.getRequests([reqs[2]!.id, 'req_missing', reqs[0]!.id])).map((r) => r.id).sort(), [reqs[0]!.id, reqs[2]!.id].sort());
      assert.deepEqual(await store.getRequests([]), []);
      assert.deepEqual(await store.getReviewsByRequests([reqs[0]!.id, reqs[1]!.id]), [review]);
    });

    test('audit time windows with clocks out of order: seq bounds from the time index are exact, pages never skip or repeat', async () => {
      // Times that mostly advance but step back (a clock set back, instances whose clocks
      // differ), repeat, and jump; entries appended between pages land inside earlier windows.
      const rnd = seededRandom(1616);
      const reqs = [makeRequest({ team: 'payments', gate: 'unit-tests' }), makeRequest({ team: 'search', gate: 'e2e' })];
      await store.transaction(async (tx) => {
        for (const r of reqs) await tx.insertRequest(r);
      });
      let clock = 0;
      const draft = (): NewLedgerEntry => {
        clock += rnd.pick([0, 1, 1, 2, 5]);
        const minute = rnd.chance(0.15) ? Math.max(0, clock - 1 - rnd.int(40)) : clock;
        const r = rnd.pick(reqs);
        return entry(rnd.pick(['evaluation_under_bypass', 'evaluation_under_bypass', 'decision', 'request_created'] as const), r.id, { time: at(minute), gate: r.gate, actor: rnd.pick(['bob', 'ci-bot']) });
      };
      for (let batch = 0; batch < 6; batch++) await store.transaction((tx) => tx.appendLedger(Array.from({ length: 40 }, draft)));
      const all = async () => store.getLedgerEntries(0, 10_000);
      const before = await all();
      assert.ok(before.some((e, i) => i > 0 && e.time < before[i - 1]!.time), 'the workload has times that step back');
      const end = clock;
      const windows: { from?: string; to?: string }[] = [{ from: at(end + 10) }, { from: at(end - 3) }, { to: at(4) }, { from: at(0), to: at(1) }];
      for (let i = 0; i < 10; i++) {
        const a = rnd.int(end + 5);
        windows.push(rnd.chance(0.5) ? { from: at(a) } : { from: at(a), to: at(a + 1 + rnd.int(30)) });
      }
      for (const w of windows) {
        const inWindow = before.filter((e) => (w.from === undefined || e.time >= w.from) && (w.to === undefined || e.time < w.to)).map((e) => e.seq);
        if (w.from !== undefined) {
          const range = await store.ledgerSeqRange(w.from, w.to);
          assert.deepEqual(range, inWindow.length === 0 ? null : { first: Math.min(...inWindow), last: Math.max(...inWindow) }, JSON.stringify(w));
        }
      }
      const join = async () => ({ requests: new Map(reqs.map((r) => [r.id, r])), reviews: new Map() });
      let appendedMidway = 0;
      for (const [i, w] of windows.entries()) {
        for (const extra of [{}, { gate: 'e2e' }, { actor: 'bob' }, { team: 'search' }]) {
          const q = { ...w, ...extra };
          const limit = 1 + rnd.int(9);
          const seen: number[] = [];
          let cursor = -1;
          for (let pages = 0; ; pages++) {
            const page = await auditPage(store, q, cursor, limit);
            assert.ok(page.records.length <= limit);
            seen.push(...page.records.map((r) => r.seq));
            if (page.nextCursor === null) break;
            cursor = page.nextCursor;
            if (pages === 0 && i % 3 === 0 && appendedMidway < 6) {
              // Mid-paging: entries after the cursor, some with times inside this window (an earlier clock).
              appendedMidway++;
              await store.transaction((tx) => tx.appendLedger([draft(), { ...draft(), time: w.from ?? at(0) }]));
            }
          }
          const j = await join();
          const expected = (await all()).map((e) => auditRecord(e, j)).filter((r) => auditRecordMatches(r, q));
          assert.deepEqual(seen, expected.map((r) => r.seq), `pages of ${JSON.stringify(q)} (limit ${limit})`);
          let jsonl = '';
          for await (const chunk of auditExportChunks(store, q, 'jsonl', 1 + rnd.int(7))) jsonl += chunk;
          assert.equal(jsonl, expected.map((r) => `${JSON.stringify(r)}\n`).join(''), `export of ${JSON.stringify(q)}`);
        }
      }
      assert.ok(appendedMidway > 0);
    });

    test('notifications: the indexed per-principal read gives exactly what the rule picks from every entry', async () => {
      // A critical tier notifying the CISO, an emergency notify list, warns under every request,
      // and requests stored before their entries and after them (the feed is kept either way).
      const policy = PolicySchema.parse({
        version: 1,
        tiers: { standard: { approvals: 1, approverGroups: ['leads'], maxTtl: '24h' }, critical: { approvals: 2, approverGroups: ['leads', 'security'], maxTtl: '4h', notify: ['ciso'] } },
        gates: [
          { id: 'unit-tests', kind: 'slow', tier: 'standard' },
          { id: 'prod-deploy', kind: 'slow', tier: 'critical' },
        ],
        teams: { payments: { members: ['alice'], bypassBudget: 3 }, search: { members: ['sam'] } },
        approvers: { leads: ['bob'], security: ['dave'] },
        emergency: { notify: ['oncall'], reviewSignoffs: 2 },
      });
      const kinds = ['decision', 'bypass_activated', 'bypass_expired', 'bypass_revoked', 'request_lapsed', 'review_opened', 'info_requested'] as const;
      let rnd = 7;
      const next = (n: number) => Math.floor((rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 65536) % n;
      const requests: BypassRequest[] = [];
      for (let i = 0; i < 24; i++) {
        const r = makeRequest({ requester: ['alice', 'sam', 'bob'][next(3)]!, gate: next(2) ? 'prod-deploy' : 'unit-tests' });
        requests.push(r);
        const lifecycle = (type: string, actor: string) => entry(type as NewLedgerEntry['type'], r.id, { gate: r.gate, actor });
        const drafts: NewLedgerEntry[] = [lifecycle('request_created', r.requester)];
        for (let k = 0; k < 1 + next(4); k++) {
          drafts.push(lifecycle(kinds[next(kinds.length)]!, 'bob'));
          for (let w = 0; w < next(5); w++) drafts.push(lifecycle('evaluation_under_bypass', 'ci-bot'));
        }
        if (i % 7 === 3) drafts.push(entry('emergency_used', r.id, { gate: r.gate, actor: r.requester }));
        if (i % 9 === 4) drafts.push(entry('emergency_refused', 'emergency:unknown', { gate: null, actor: 'mallory' }));
        const late = i % 3 === 0;
        await store.transaction(async (tx) => {
          if (!late) await tx.insertRequest(r);
          await tx.appendLedger(drafts);
          if (late) await tx.insertRequest(r);
        });
        // Later entries about earlier requests (an expiry days after the approval).
        if (i > 4 && i % 4 === 0) {
          const old = requests[next(i)]!;
          await store.transaction((tx) => tx.appendLedger([entry('bypass_expired', old.id, { gate: old.gate, actor: 'system' })]));
        }
      }
      const everything = await store.getLedgerEntries(0, 10_000);
      const known = new Map(requests.map((r) => [r.id, { requester: r.requester, gate: r.gate }]));
      let told = 0;
      for (const principal of ['alice', 'sam', 'bob', 'ciso', 'oncall', 'dave', 'mallory', 'nobody']) {
        for (const since of [-1, 40, everything.length - 10]) {
          for (const limit of [3, 1000]) {
            const expected = notificationsFor(principal, everything, policy, since, known).slice(0, limit);
            const got = await notificationsFromStore(store, principal, policy, since, limit);
            assert.deepEqual(got, expected, `${principal} since ${since} limit ${limit}`);
            told += got.length;
          }
        }
      }
      assert.ok(told > 50, `the workload notifies people (${told})`);
      for (const kind of ['critical_request', 'emergency_used', 'emergency_refused', 'decision', 'bypass_expired'] as const) {
        assert.ok(
          ['alice', 'sam', 'bob', 'ciso', 'oncall', 'mallory'].some((p) => notificationsFor(p, everything, policy, -1, known).some((n) => n.kind === kind)),
          `the workload covers ${kind}`,
        );
      }
    });

    test('another handle on the same database reads committed data', async () => {
      const request = makeRequest();
      await store.transaction(async (tx) => {
        await tx.insertRequest(request);
        await tx.appendLedger([entry('request_created', request.id)]);
      });
      const peer = await sut.openPeer();
      assert.deepEqual(await peer.getRequest(request.id), request);
      assert.equal(await peer.ledgerSize(), 1);
    });

    test('lockMeta serialises read-modify-writes of a meta value across handles (no lost update)', async () => {
      const peer = await sut.openPeer();
      const bump = (s: Store) =>
        s.transaction(async (tx) => {
          await tx.lockMeta('conformance.counter');
          await tx.lockMeta('conformance.counter'); // taken again in the same transaction: free
          const value = Number((await tx.getMeta('conformance.counter')) ?? '0');
          await new Promise((r) => setImmediate(r)); // let the other writers reach their lock
          await tx.setMeta('conformance.counter', String(value + 1));
        });
      await Promise.all(Array.from({ length: 12 }, (_, i) => bump(i % 2 === 0 ? store : peer)));
      assert.equal(await store.getMeta('conformance.counter'), '12');
    });
  });
}
