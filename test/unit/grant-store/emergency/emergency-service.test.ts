import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openEmergency, resealCredential, retireCredential, sealCredential } from '../../../../grant-store/emergency/emergency-service';
import { notificationsFor } from '../../../../grant-store/alerts/notifications';
import { alertEventsForEntry } from '../../../../grant-store/alerts/alert-events';
import { closeBypass } from '../../../../grant-store/service/closure';
import { completeReview } from '../../../../grant-store/service/review-service';
import { SYSTEM_CALLER } from '../../../../grant-store/service/service-deps';
import { AppError } from '../../../../shared/errors';
import { startHarness, type Harness } from '../service-harness';
import { recordPolicyLoaded } from '../../../../grant-store/service/policy-service';
import { auditLedger } from '../../../../shared/ledger/semantic-audit';
import type { LedgerEntry } from '../../../../shared/domain/ledger-entry';
import { UNUSABLE_ATTESTATION_SECTION } from '../../../support/unusable-attestation-root';

const POLICY = `version: 1
ttlChoices: [15m, 1h, 4h]
tiers:
  critical:
    approvals: 2
    approverGroups: [platform-leads, security-leads]
    allowSameTeam: false
    maxTtl: 1h
    attestationRequired: true
    notify: [ciso]
gates:
  - id: container-signing
    kind: safety
    tier: critical
    scopeKeys: [repo]
teams:
  payments: { members: [alice, dave] }
  platform: { members: [bob] }
  security: { members: [carol, frank] }
approvers:
  platform-leads: [bob, dave]
  security-leads: [carol, frank]
emergency:
  notify: [secops-pager]
webhooks:
  - id: chat
    url: https://chat.example.com/hook
    format: slack
    events: [decision]
${UNUSABLE_ATTESTATION_SECTION}`;

const USE = { reason: 'Region eu-west is down and the signer with it; DR runbook step 4', incidentRef: 'INC-2048' };

describe('sealed emergency credentials (service, SQLite)', () => {
  let h: Harness;
  let dir: string;
  const admin = () => h.caller('root', 'admin');
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-emergency-'));
    await writeFile(join(dir, 'policy.yaml'), POLICY);
    h = await startHarness(join(dir, 'policy.yaml'));
    // The policy in force goes first in the ledger, as the store writes it at start (the audit test replays it).
    await recordPolicyLoaded(h.deps, { principal: 'system', roles: [], sourceAddress: null });
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('seal → use → burned: the bypass opens with no approver for the shortest TTL, the review needs two outside sign-offs', async () => {
    const sealed = await sealCredential(h.deps, admin(), { gate: 'container-signing', scope: { repo: 'payments-api' }, holders: ['alice', 'dave'], label: 'DR' });
    assert.equal(sealed.ttl, '15m');
    assert.equal(JSON.stringify(await h.store.listEmergencyCredentials()).includes(sealed.secret), false, 'the secret is never stored');
    const sizeBefore = await h.store.ledgerSize();
    const opened = await openEmergency(h.deps, h.caller('alice', 'requester'), { credential: sealed.secret, ...USE });
    const r = opened.request;
    assert.deepEqual([r.state, r.approvalsRequired, r.approvals.length, r.approvedTtl, r.emergencyCredential, r.team], ['active', 0, 0, '15m', sealed.credential.id, 'payments']);
    assert.equal(Date.parse(r.expiresAt!) - Date.parse(r.activatedAt!), 15 * 60_000);
    assert.deepEqual(opened.paged, ['bob', 'carol', 'ciso', 'dave', 'frank', 'secops-pager']);
    const entries = await h.store.getLedgerEntries(sizeBefore, 10);
    assert.deepEqual(entries.map((e) => e.type), ['request_created', 'emergency_used', 'bypass_activated', 'review_opened']);
    assert.equal(entries[2]!.data['emergencyUsedSeq'], entries[1]!.seq);
    assert.equal((await h.store.getEmergencyCredential(sealed.credential.id))?.state, 'used');

    // Critical alert for every webhook, whatever it subscribes to; a notification to every approver and notify list.
    const events = alertEventsForEntry(entries[1]!, h.deps.policies.policy, r);
    assert.equal(events[0]?.event, 'emergency_used');
    for (const who of ['bob', 'carol', 'frank', 'ciso', 'secops-pager']) {
      const n = notificationsFor(who, entries, h.deps.policies.policy);
      assert.ok(n.some((x) => x.kind === 'emergency_used' && x.because === 'emergency' && x.expiresAt === r.expiresAt), `${who} is paged`);
    }

    // A second use of the same sheet: refused, recorded, alarms.
    const size = await h.store.ledgerSize();
    await assert.rejects(openEmergency(h.deps, h.caller('dave', 'requester'), { credential: sealed.secret, ...USE }), (e: unknown) => e instanceof AppError && e.code === 'forbidden' && /burned/.test(e.message));
    const [refusal] = await h.store.getLedgerEntries(size, 5);
    assert.deepEqual([refusal?.type, refusal?.data['why'], await h.store.ledgerSize()], ['emergency_refused', 'burned', size + 1]);
    assert.equal(alertEventsForEntry(refusal!, h.deps.policies.policy, undefined)[0]?.event, 'emergency_refused');

    // The review: not while the bypass runs; never the user or a teammate; one sign-off is not enough.
    const reviewId = opened.reviewId;
    const signoff = { finding: 'justified', note: 'DR runbook followed, signer restored after 12 minutes' };
    await assert.rejects(completeReview(h.deps, h.caller('carol', 'approver'), reviewId, signoff), /active until/);
    await h.store.transaction(async (tx) => {
      await closeBypass(tx, (await tx.getRequest(r.id))!, 'expire', SYSTEM_CALLER, new Date(Date.parse(r.expiresAt!)), null, h.deps.policies.policy);
    });
    await assert.rejects(completeReview(h.deps, h.caller('dave', 'approver'), reviewId, signoff), /dave is on team payments/);
    const first = await completeReview(h.deps, h.caller('carol', 'approver'), reviewId, signoff);
    assert.deepEqual([first.state, first.signoffs?.length], ['review_open', 1]);
    await assert.rejects(completeReview(h.deps, h.caller('carol', 'approver'), reviewId, signoff), /already signed off/);
    const done = await completeReview(h.deps, h.caller('bob', 'approver'), reviewId, { finding: 'fix_the_gate', note: 'the signer needs a second region: fix the gate' });
    assert.deepEqual([done.state, done.finding, done.signoffs?.map((s) => s.by)], ['reviewed', 'fix_the_gate', ['carol', 'bob']]);
    assert.ok(done.timeline.some((t) => t.type === 'bypass_expired'), 'the timeline was completed at expiry');
  });

  test('refused: an unknown secret, a holder who is not one, a retired credential; a typo writes nothing', async () => {
    const sealed = await sealCredential(h.deps, admin(), { gate: 'container-signing', scope: { repo: 'payments-api' }, holders: ['alice'] });
    const other = await sealCredential(h.deps, admin(), { gate: 'container-signing', scope: { repo: 'checkout' }, holders: ['dave'] });
    await assert.rejects(openEmergency(h.deps, h.caller('dave', 'requester'), { credential: sealed.secret, ...USE }), /dave is not a holder/);
    await retireCredential(h.deps, admin(), other.credential.id, { reason: 'sheet lost in the move' });
    await assert.rejects(openEmergency(h.deps, h.caller('dave', 'requester'), { credential: other.secret, ...USE }), /was retired/);
    const size = await h.store.ledgerSize();
    const typo = sealed.secret.slice(0, -3) + (sealed.secret.at(-3) === 'a' ? 'b' : 'a') + sealed.secret.slice(-2);
    await assert.rejects(openEmergency(h.deps, h.caller('alice', 'requester'), { credential: typo, ...USE }), (e: unknown) => e instanceof AppError && e.code === 'invalid_input');
    assert.equal(await h.store.ledgerSize(), size, 'a typo is caught before anything is written');
    const { generateCredential } = await import('../../../../grant-store/emergency/credential-code');
    await assert.rejects(openEmergency(h.deps, h.caller('alice', 'requester'), { credential: generateCredential().text, ...USE }), /no emergency credential has this secret/);
    const [unknown] = await h.store.getLedgerEntries(size, 1);
    assert.deepEqual([unknown?.type, unknown?.target, unknown?.data['why']], ['emergency_refused', 'emergency:unknown', 'unknown']);
  });

  test('re-seal retires the old secret and issues a new one for the same gate, scope and holders', async () => {
    const sealed = await sealCredential(h.deps, admin(), { gate: 'container-signing', scope: { repo: 'ledger' }, holders: ['alice'] });
    const resealed = await resealCredential(h.deps, admin(), sealed.credential.id, { reason: 'quarterly rotation of the safe' });
    assert.notEqual(resealed.secret, sealed.secret);
    assert.deepEqual([resealed.credential.replaces, resealed.credential.gate, resealed.credential.holders], [sealed.credential.id, 'container-signing', ['alice']]);
    assert.deepEqual([(await h.store.getEmergencyCredential(sealed.credential.id))?.state, (await h.store.getEmergencyCredential(sealed.credential.id))?.replacedBy], ['retired', resealed.credential.id]);
    await assert.rejects(openEmergency(h.deps, h.caller('alice', 'requester'), { credential: sealed.secret, ...USE }), /retired/);
    const ok = await openEmergency(h.deps, h.caller('alice', 'requester'), { credential: resealed.secret, ...USE });
    assert.equal(ok.request.state, 'active');
  });

  test('sealing is for admins, on known gates, for holders with a team', async () => {
    await assert.rejects(sealCredential(h.deps, h.caller('alice', 'requester'), { gate: 'container-signing', scope: { repo: 'x' }, holders: ['alice'] }), (e: unknown) => e instanceof AppError && e.code === 'forbidden');
    await assert.rejects(sealCredential(h.deps, admin(), { gate: 'container-signing', scope: { repo: 'x' }, holders: ['mallory'] }), (e: unknown) => e instanceof AppError && e.fieldErrors?.[0]?.path === 'holders.0');
  });

  test('the semantic audit replays the emergency path without a violation, and names one when a rule is broken', async () => {
    const all: LedgerEntry[] = await h.store.getLedgerEntries(0, await h.store.ledgerSize());
    assert.deepEqual(auditLedger(all).violations, [], 'what the store wrote is a legal story');
    const kinds = (entries: LedgerEntry[]) => auditLedger(entries).violations.map((v) => v.kind);
    // The first use's review completed with only one of its two sign-offs.
    const signed = all.filter((e) => e.type === 'review_signed');
    assert.ok(kinds(all.filter((e) => e !== signed[0])).includes('emergency_invalid'));
    // The use recorded as someone who does not hold the credential.
    const used = all.find((e) => e.type === 'emergency_used')!;
    assert.ok(kinds(all.map((e) => (e === used ? { ...e, actor: 'mallory' } : e))).includes('emergency_invalid'));
    // A use of a credential the ledger never sealed.
    assert.ok(kinds(all.filter((e) => !(e.type === 'emergency_sealed' && e.target === used.data['credentialId']))).includes('emergency_invalid'));
  });
});
