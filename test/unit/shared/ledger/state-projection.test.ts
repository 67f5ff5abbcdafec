import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { BypassRequest } from '../../../../shared/domain/request';
import { compareWithProjection, describeMismatch, emptyProjection, projectEntry, type StateProjection, type TableSnapshot } from '../../../../shared/ledger/state-projection';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../../shared/node/signing/software-signer';
import { signDecision } from '../../../../shared/node/signing/sign-decision';
import { newDecisionStatement } from '../../../../shared/signing/decision-statement';
import { checkGate } from '../../../../grant-store/service/check-service';
import { closeBypass, lapseRequest } from '../../../../grant-store/service/closure';
import { submitDecision } from '../../../../grant-store/service/decision-service';
import { createToken, enrollKey, revokeKey, revokeToken } from '../../../../grant-store/service/identity-service';
import { recordPolicyLoaded } from '../../../../grant-store/service/policy-service';
import { cancelRequest, createRequest, replyToRequest } from '../../../../grant-store/service/request-service';
import { completeReview } from '../../../../grant-store/service/review-service';
import { SYSTEM_CALLER } from '../../../../grant-store/service/service-deps';
import { startHarness, type Harness } from '../../grant-store/service-harness';

// The ledger projection of the store's state, against a store driven through its services:
// every table row equals what the entries say, and every edit made behind the store's back is
// named by table, row, field and the entry it contradicts.

const body = (repo: string) => ({ gate: 'ci-tests', scope: { repo, branch: 'main' }, reason: 'the integration suite is down for the whole org', severity: 'sev3', ttl: '1h' });

describe('state projection from the ledger', () => {
  let h: Harness;
  const keys = { bob: generateSoftwareKeyPair(), carol: generateSoftwareKeyPair() };
  const ids: Record<string, string> = {};

  async function decide(who: 'bob' | 'carol', request: BypassRequest, decision: 'approve' | 'deny' | 'request_info' | 'revoke') {
    const statement = newDecisionStatement({ request, decision, approver: who, comment: decision === 'approve' ? 'fine' : 'not this way, sorry', ...(decision === 'approve' ? { ttl: '1h' } : {}), nonceHex: randomBytes(16).toString('hex'), now: new Date(h.now.ms) });
    return submitDecision(h.deps, h.caller(who, 'approver'), request.id, { bundle: await signDecision(statement, fileKeySigner(keys[who].privateKeyPem)) });
  }

  async function project(): Promise<StateProjection> {
    const p = emptyProjection();
    for (const entry of await h.store.getLedgerEntries(0, 100_000)) projectEntry(p, entry);
    return p;
  }

  async function snapshot(): Promise<TableSnapshot> {
    const db = new Database(h.dbPath, { readonly: true });
    try {
      const columns = db.prepare('SELECT id, state, requester, team, gate, created_at, activated_at, expires_at, doc FROM requests').all() as Array<Record<string, string | null>>;
      const decisions = (await h.store.listRequests({})).flatMap((r) => r.id);
      const decisionRows = (await Promise.all(decisions.map((id) => h.store.listDecisions(id)))).flat();
      const orphanDecisions = db.prepare('SELECT seq FROM decisions').all() as Array<{ seq: number }>;
      assert.equal(orphanDecisions.length, decisionRows.length, 'every decision row belongs to a request');
      return {
        complete: true,
        requests: columns.map((c) => ({
          doc: JSON.parse(c.doc!) as Record<string, unknown>,
          columns: { id: c.id!, state: c.state!, requester: c.requester!, team: c.team!, gate: c.gate!, createdAt: c.created_at!, activatedAt: c.activated_at ?? null, expiresAt: c.expires_at ?? null },
        })),
        decisions: decisionRows as unknown as TableSnapshot['decisions'],
        keys: (await h.store.listKeys()) as unknown as TableSnapshot['keys'],
        tokens: (await h.store.listTokens()) as unknown as TableSnapshot['tokens'],
        sessions: [],
        reviews: (await h.store.listReviews()) as unknown as TableSnapshot['reviews'],
        policyHash: (await h.store.getMeta('policy_hash')) ?? null,
      };
    } finally {
      db.close();
    }
  }

  function edit(sql: string, ...params: unknown[]): void {
    const db = new Database(h.dbPath);
    try {
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  }

  before(async () => {
    h = await startHarness();
    const admin = h.caller('root', 'admin');
    await recordPolicyLoaded(h.deps, SYSTEM_CALLER);
    await enrollKey(h.deps, admin, 'bob', { publicKeyPem: keys.bob.publicKeyPem });
    await enrollKey(h.deps, admin, 'carol', { publicKeyPem: keys.carol.publicKeyPem });
    ids.ci = (await createToken(h.deps, admin, { principal: 'ci', roles: ['gate'] })).info.id;
    ids.old = (await createToken(h.deps, admin, { principal: 'old', roles: ['requester'] })).info.id;
    await revokeToken(h.deps, admin, ids.old);
    const alice = h.caller('alice', 'requester');
    // Approved, used, expired, reviewed.
    const r1 = (await createRequest(h.deps, alice, body('one'))).request;
    await decide('bob', r1, 'approve');
    await checkGate(h.deps, h.caller('ci', 'gate'), { gate: 'ci-tests', subject: { repo: 'one', branch: 'main' } });
    h.now.ms += 3_600_000;
    const { review } = await h.store.transaction(async (tx) => closeBypass(tx, (await tx.getRequest(r1.id))!, 'expire', SYSTEM_CALLER, new Date(h.now.ms), null, h.deps.policies.policy));
    await completeReview(h.deps, h.caller('carol', 'approver'), review.id, { finding: 'justified', note: 'the suite really was down' });
    // Denied; asked, answered, cancelled; approved then revoked; lapsed.
    const r2 = (await createRequest(h.deps, alice, body('two'))).request;
    await decide('carol', r2, 'deny');
    const r3 = (await createRequest(h.deps, alice, body('three'))).request;
    await decide('bob', r3, 'request_info');
    await replyToRequest(h.deps, alice, r3.id, 'the suite is down because of the DNS outage');
    await cancelRequest(h.deps, alice, r3.id, 'fixed meanwhile');
    const r4 = (await createRequest(h.deps, alice, body('four'))).request;
    await decide('bob', r4, 'approve');
    await decide('carol', (await h.store.getRequest(r4.id))!, 'revoke');
    const r5 = (await createRequest(h.deps, alice, body('five'))).request;
    h.now.ms += 25 * 3_600_000;
    await h.store.transaction(async (tx) => lapseRequest(tx, (await tx.getRequest(r5.id))!, SYSTEM_CALLER, new Date(h.now.ms)));
    await revokeKey(h.deps, admin, 'carol', (await h.store.listKeys('carol'))[0]!.keyId);
    // A live bypass.
    const r6 = (await createRequest(h.deps, alice, body('six'))).request;
    await decide('bob', r6, 'approve');
    Object.assign(ids, { r1: r1.id, r2: r2.id, r3: r3.id, r4: r4.id, r5: r5.id, r6: r6.id, review: review.id });
  });

  after(() => h?.close());

  test('every row of a store driven through its services is what the ledger says', async () => {
    const p = await project();
    assert.equal(p.requests.size, 6);
    assert.equal(p.requests.get(ids.r3!)?.messages.length, 2);
    assert.deepEqual([...p.requests.values()].map((r) => r.state.value), ['expired', 'denied', 'cancelled', 'revoked', 'lapsed', 'active']);
    assert.deepEqual(compareWithProjection(p, await snapshot()), []);
  });

  test('edits behind the store\'s back are named by table, row, field and the entry they contradict', async () => {
    const p = await project();
    const activation = (await h.store.ledgerEntriesForTarget(ids.r1!)).find((e) => e.type === 'bypass_activated')!;
    const created = (await h.store.ledgerEntriesForTarget(ids.r2!)).find((e) => e.type === 'request_created')!;
    const decision = (await h.store.listDecisions(ids.r2!))[0]!;
    const carolRevoked = (await h.store.getLedgerEntries(0, 1000)).find((e) => e.type === 'key_revoked')!;
    const ciToken = (await h.store.getLedgerEntries(0, 1000)).find((e) => e.type === 'principal_enrolled' && e.target === 'ci')!;
    const bobEnrolled = (await h.store.getLedgerEntries(0, 1000)).find((e) => e.type === 'key_enrolled' && e.data.principal === 'bob')!;

    edit("UPDATE requests SET expires_at = '2027-01-01T00:00:00.000Z', state = 'active' WHERE id = ?", ids.r1);
    edit("UPDATE requests SET doc = json_set(doc, '$.reason', 'nothing to see here, move along') WHERE id = ?", ids.r2);
    edit("UPDATE decisions SET approver = 'dave' WHERE seq = ?", decision.seq);
    edit('UPDATE keys SET revoked_at = NULL WHERE principal = ?', 'carol');
    // bob's software key made "attested" in its row, as an attestation tier would then accept.
    edit(`UPDATE keys SET hardware_backed = 1, attestation = '{"kind":"tpm","root":"corp-tpm-ca","serial":"0de0a1","policy":{}}' WHERE principal = ?`, 'bob');
    edit(`UPDATE tokens SET roles = '["gate","admin"]' WHERE id = ?`, ids.ci);
    edit(`UPDATE tokens SET token_hash = '${'0'.repeat(64)}' WHERE id = ?`, ids.ci);
    edit("INSERT INTO requests (id, state, requester, team, gate, created_at, doc) VALUES ('req_ffffffffffffffff', 'active', 'mallory', 'payments', 'ci-tests', '2026-06-22T03:14:07.000Z', '{}')");
    edit('UPDATE meta SET value = ? WHERE key = ?', 'sha256:00', 'policy_hash');

    const found = compareWithProjection(p, await snapshot()).map((m) => [m.table, m.row, m.field, m.seq]);
    const expect = (row: unknown[]) => assert.ok(found.some((f) => JSON.stringify(f) === JSON.stringify(row)), `missing ${JSON.stringify(row)} in\n${found.map((f) => JSON.stringify(f)).join('\n')}`);
    expect(['requests', ids.r1, 'column expires_at', activation.seq]);
    expect(['requests', ids.r1, 'column state', (await h.store.ledgerEntriesForTarget(ids.r1!)).find((e) => e.type === 'bypass_expired')!.seq]);
    expect(['requests', ids.r2, 'reason', created.seq]);
    expect(['decisions', String(decision.seq), 'approver', decision.seq]);
    expect(['keys', carolRevoked.target, 'revokedAt', carolRevoked.seq]);
    expect(['keys', bobEnrolled.target, 'hardwareBacked', bobEnrolled.seq]);
    expect(['keys', bobEnrolled.target, 'attestation', bobEnrolled.seq]);
    expect(['tokens', ids.ci, 'roles', ciToken.seq]);
    expect(['tokens', ids.ci, 'tokenHash', ciToken.seq]);
    expect(['requests', 'req_ffffffffffffffff', '(row)', null]);
    expect(['meta', 'policy_hash', 'value', p.policyHash!.seq]);
    assert.equal(found.length, 11, found.map((f) => JSON.stringify(f)).join('\n'));
    const line = describeMismatch(compareWithProjection(p, await snapshot()).find((m) => m.field === 'column expires_at')!);
    assert.equal(line, `table requests, row ${ids.r1}, field column expires_at: holds "2027-01-01T00:00:00.000Z" (ledger entry ${activation.seq} says "${activation.expiresAt}")`);

    // A deleted row is named too.
    edit('DELETE FROM decisions WHERE seq = ?', decision.seq);
    assert.ok(compareWithProjection(p, await snapshot()).some((m) => m.table === 'decisions' && m.row === String(decision.seq) && m.field === '(row)' && m.seq === decision.seq));
  });
});
