import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateCredential } from '../../../grant-store/emergency/credential-code';
import { BACKENDS, eventually, expectExit, json, startIssue15Store, startReceiver, type Issue15Store, type Receiver } from './issue15-harness';
import { UNUSABLE_ATTESTATION_SECTION } from '../../support/unusable-attestation-root';

/**
 * Sealed emergency credentials end to end, through the real CLI against a real store, on SQLite
 * and on PostgreSQL: seal (with the printable sheet) → a holder opens it with no approver → the
 * bypass is active at once for the tier's shortest TTL → the critical alert reaches every
 * webhook (whatever it subscribed to) and every approver's feed → a replay, a second use, an
 * unknown secret and a retired credential are refused, recorded and alarm → the review refuses
 * the user, the user's team and a single sign-off, and completes with two outside sign-offs →
 * re-seal → the ledger verifies (semantic audit included).
 */

const POLICY = (hook: string) => `version: 1
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
  - id: prod-db-drop
    kind: safety
    tier: critical
    bypass: never
teams:
  payments: { members: [alice, dave] }
  platform: { members: [bob] }
  security: { members: [carol, ciso] }
approvers:
  platform-leads: [bob, dave]
  security-leads: [carol]
emergency:
  notify: [secops-pager]
webhooks:
  - id: chat
    url: ${hook}/chat
    format: slack
    events: [decision]
  - id: siem
    url: ${hook}/siem
    format: json
    events: [weekly_digest]
${UNUSABLE_ATTESTATION_SECTION}`;

const SCOPE = 'repo=payments-api';
const REASON = 'Region eu-west is down and the image signer with it; DR runbook step 4';
const FIFTEEN_MINUTES = 15 * 60_000;

for (const backend of BACKENDS) {
  describe(`sealed emergency credentials through the CLI (${backend})`, { concurrency: false }, () => {
    let s: Issue15Store;
    let hook: Receiver;
    let secret = '';
    let credentialId = '';
    let requestId = '';
    let reviewId = '';

    before(async () => {
      hook = await startReceiver();
      s = await startIssue15Store(backend, POLICY(hook.url), [
        ['alice', ['requester']],
        ['bob', ['approver', 'requester']],
        ['carol', ['approver']],
        ['dave', ['approver']],
        ['erin', ['requester']],
        ['ci', ['gate']],
      ]);
    });
    after(async () => {
      await s?.close();
      await hook?.close();
    });

    test('an admin seals a credential: the secret is shown once, the sheet carries it and a QR code, the store keeps only its digest', async () => {
      const sheet = join(s.tmp, 'safe.html');
      const r = await s.as('admin', ['admin', 'emergency', 'seal', '--gate', 'container-signing', '--scope', SCOPE, '--holders', 'alice,bob', '--label', 'DR envelope 1', '--sheet', sheet, '--json']);
      expectExit(r, 0, 'seal');
      const sealed = json(r);
      secret = sealed.secret;
      credentialId = sealed.credential.id;
      assert.match(secret, /^bgem-/);
      assert.equal(sealed.ttl, '15m', "the tier's shortest TTL");
      const html = await readFile(sheet, 'utf8');
      assert.ok(html.includes(credentialId) && html.includes('<svg'), 'the sheet names the credential and has the QR code');
      assert.ok(html.replace(/\s+/g, ' ').includes(secret.split('-').slice(1, 5).join(' ')), 'the sheet shows the secret');
      assert.equal((await stat(sheet)).mode & 0o077, 0, 'the sheet is readable by its owner only');
      expectExit(await s.as('admin', ['admin', 'emergency', 'seal', '--gate', 'container-signing', '--scope', SCOPE, '--holders', 'bob', '--sheet', sheet]), 2, 'a sheet is never overwritten');

      const list = json(await s.as('admin', ['admin', 'emergency', 'list', '--json']));
      const stored = list.credentials.find((c: { id: string }) => c.id === credentialId);
      assert.equal(stored.state, 'sealed');
      assert.ok(!JSON.stringify(list).includes(secret.slice(5, 20)), 'no secret in the listing');
      const entry = (await s.ledger()).find((e) => e.type === 'emergency_sealed' && e.target === credentialId);
      assert.equal(entry?.data['credentialDigest'], stored.credentialDigest);

      const notHolder = await s.as('admin', ['admin', 'emergency', 'seal', '--gate', 'container-signing', '--scope', SCOPE, '--holders', 'zed']);
      expectExit(notHolder, 2, 'holder without a team');
      assert.match(notHolder.stderr, /--holders.*zed is not a member of any team/);
      const never = await s.as('admin', ['admin', 'emergency', 'seal', '--gate', 'prod-db-drop', '--scope', SCOPE, '--holders', 'alice']);
      expectExit(never, 2, 'a bypass: never gate');
      assert.match(never.stderr, /--gate: gate prod-db-drop is marked bypass: never/);
      const wrongKey = await s.as('admin', ['admin', 'emergency', 'seal', '--gate', 'container-signing', '--scope', 'branch=main', '--holders', 'alice']);
      expectExit(wrongKey, 2, 'a scope the gate does not take');
      assert.match(wrongKey.stderr, /--scope branch: "branch" is not a scope key of gate container-signing/);
      expectExit(await s.as('alice', ['admin', 'emergency', 'seal', '--gate', 'container-signing', '--scope', SCOPE, '--holders', 'alice']), 1, 'seal by a non-admin');
    });

    test('a holder opens it: the bypass is active at once for 15m with no approver, the credential burns, everyone is paged', async () => {
      expectExit(await s.as('ci', ['check', '--gate', 'container-signing', '--subject', SCOPE]), 1, 'blocked before');
      const before = await s.ledger();
      const typo = await s.as('alice', ['emergency', 'open', '--credential', `${secret.slice(0, -1)}${secret.toLowerCase().endsWith('z') ? 'y' : 'z'}`, '--reason', REASON, '--incident', 'INC-2048']);
      expectExit(typo, 2, 'typo caught by the checksum');
      assert.match(typo.stderr, /--credential/);
      assert.equal((await s.ledger()).length, before.length, 'a typo writes nothing');

      const r = await s.as('alice', ['emergency', 'open', '--credential', secret, '--reason', REASON, '--incident', 'INC-2048', '--json']);
      expectExit(r, 0, 'emergency open');
      const opened = json(r);
      requestId = opened.request.id;
      reviewId = opened.reviewId;
      assert.equal(opened.request.state, 'active');
      assert.equal(opened.request.approvalsRequired, 0);
      assert.equal(opened.request.emergencyCredential, credentialId);
      assert.equal(Date.parse(opened.request.expiresAt) - Date.parse(opened.request.activatedAt), FIFTEEN_MINUTES);
      assert.deepEqual(opened.paged, ['bob', 'carol', 'ciso', 'dave', 'secops-pager']);
      assert.equal(opened.webhooks, 2);

      const status = await s.as('alice', ['status', requestId]);
      assert.match(status.stdout, new RegExp(`EMERGENCY: opened with sealed credential ${credentialId}, no approver`));
      const check = await s.as('ci', ['check', '--gate', 'container-signing', '--subject', SCOPE, '--json']);
      expectExit(check, 0, 'check under the emergency bypass');
      assert.equal(json(check).verdict, 'warn');
      const human = await s.as('bob', ['emergency', 'open', '--credential', secret, '--reason', REASON, '--incident', 'INC-2048']);
      expectExit(human, 1, 'second use');
      assert.match(human.stderr, /already used .* by alice .*burned/);

      // The critical alert reaches both webhooks although neither subscribed to it.
      for (const path of ['/chat', '/siem']) {
        const d = await hook.waitFor(`emergency_used at ${path}`, (x) => x.path === path && JSON.stringify(x.body).includes('emergency credential used'));
        assert.ok(JSON.stringify(d.body).includes(requestId));
      }
      await hook.waitFor('emergency_refused at /siem', (x) => x.path === '/siem' && x.body?.event === 'emergency_refused');
      // Every approver's feed (the consoles' notifications) carries it.
      for (const who of ['carol', 'dave']) {
        const feed = await s.call('GET', '/v1/notifications', { token: s.tokens[who] });
        const n = feed.json.notifications.find((x: { kind: string }) => x.kind === 'emergency_used');
        assert.ok(n, `${who} is notified`);
        assert.equal(n.because, 'emergency');
      }
      const list = json(await s.as('admin', ['admin', 'emergency', 'list', '--json']));
      assert.equal(list.credentials.find((c: { id: string }) => c.id === credentialId).state, 'used');
    });

    test('a replayed use, an unknown secret and a non-holder are refused, recorded and alarm; nothing else changes', async () => {
      const requestsBefore = (await s.call('GET', '/v1/requests', { token: s.adminToken })).json.requests.length;
      const body = { credential: secret, reason: REASON, incidentRef: 'INC-2048' };
      const replay = await s.call('POST', '/v1/emergency/open', { token: s.tokens.alice, body });
      assert.equal(replay.status, 403);
      assert.match(replay.json.error.message, /burned/);
      const unknown = await s.as('bob', ['emergency', 'open', '--credential', generateCredential().text, '--reason', REASON, '--incident', 'INC-2048']);
      expectExit(unknown, 1, 'unknown secret');
      assert.match(unknown.stderr, /no emergency credential has this secret/);
      const refused = (await s.ledger()).filter((e) => e.type === 'emergency_refused');
      assert.deepEqual(refused.map((e) => [e.actor, e.data['why']]), [['bob', 'burned'], ['alice', 'burned'], ['bob', 'unknown']]);
      assert.equal((await s.call('GET', '/v1/requests', { token: s.adminToken })).json.requests.length, requestsBefore, 'no request was created');
      await hook.waitFor('the unknown-secret alarm', (x) => x.path === '/chat' && JSON.stringify(x.body).includes('does not know'));
    });

    test('the review: not while active, not by the user or their team, one sign-off is not enough, two from outside complete it', async () => {
      const early = await s.as('carol', ['review', 'complete', reviewId, '--finding', 'justified', '--note', 'Region outage confirmed by the status page']);
      expectExit(early, 1, 'sign-off while active');
      s.clock.advance(FIFTEEN_MINUTES + 1_000);
      await eventually('the bypass to expire', async () => ((await s.call('GET', `/v1/requests/${requestId}`, { token: s.adminToken })).json.request.state === 'expired' ? true : undefined));
      expectExit(await s.as('ci', ['check', '--gate', 'container-signing', '--subject', SCOPE]), 1, 'blocked again after the TTL');

      const self = await s.as('alice', ['review', 'complete', reviewId, '--finding', 'justified', '--note', 'I needed it, region was down']);
      expectExit(self, 1, 'the user');
      const team = await s.as('dave', ['review', 'complete', reviewId, '--finding', 'justified', '--note', 'Looks fine from payments']);
      expectExit(team, 1, "the user's team");
      assert.match(team.stderr, /team payments, the user's team/);

      const first = await s.as('bob', ['review', 'complete', reviewId, '--finding', 'justified', '--note', 'Outage confirmed, scope was one repo']);
      expectExit(first, 0, 'first sign-off');
      assert.match(first.stdout, /1 of 2.*stays open/);
      const again = await s.as('bob', ['review', 'complete', reviewId, '--finding', 'justified', '--note', 'Signing a second time']);
      expectExit(again, 1, 'the same reviewer twice');
      const shown = json(await s.as('carol', ['review', 'show', reviewId, '--json']));
      assert.equal(shown.state, 'review_open', 'one sign-off leaves it open');
      assert.match((await s.as('carol', ['review', 'show', reviewId])).stdout, /sign-offs: 1\/2 \(from outside team payments\): bob \(platform, justified\)/);

      const second = await s.as('carol', ['review', 'complete', reviewId, '--finding', 'fix_the_gate', '--note', 'The signer needs a second region']);
      expectExit(second, 0, 'second sign-off');
      const done = json(await s.as('carol', ['review', 'show', reviewId, '--json']));
      assert.equal(done.state, 'reviewed');
      assert.equal(done.finding, 'fix_the_gate', 'the most serious finding');
      assert.deepEqual(done.signoffs.map((x: { by: string }) => x.by), ['bob', 'carol']);
    });

    test('re-seal gives a new secret (recorded), retire refuses it; the ledger verifies with the semantic audit', async () => {
      const r = await s.as('admin', ['admin', 'emergency', 'reseal', credentialId, '--reason', 'Used in INC-2048; new envelope for the safe', '--json']);
      expectExit(r, 0, 'reseal');
      const resealed = json(r);
      assert.equal(resealed.credential.replaces, credentialId);
      expectExit(await s.as('admin', ['admin', 'emergency', 'retire', resealed.credential.id, '--reason', 'Holder bob moves to another team']), 0, 'retire');
      const retired = await s.as('bob', ['emergency', 'open', '--credential', resealed.secret, '--reason', REASON, '--incident', 'INC-2049']);
      expectExit(retired, 1, 'retired credential');
      assert.match(retired.stderr, /retired/);
      const types = (await s.ledger()).filter((e) => e.type.startsWith('emergency_')).map((e) => e.type);
      assert.deepEqual(types, ['emergency_sealed', 'emergency_used', 'emergency_refused', 'emergency_refused', 'emergency_refused', 'emergency_sealed', 'emergency_retired', 'emergency_refused']);

      const verify = await s.as('admin', ['ledger', 'verify', '--no-save', '--json']);
      expectExit(verify, 0, 'ledger verify');
    });
  });
}
