/**
 * Reads follow visibility (issue 12), on SQLite and on PostgreSQL: every read route of the HTTP
 * contract, called as each kind of reader, shows a request exactly to those who may see it
 * (shared/policy/visibility.ts) and nothing of it to anyone else: no id, no reason, no scope, and
 * never a 5xx. The ledger stays verifiable for an approver who gets other tiers' entries redacted:
 * the console's mirror and the `ledger verify` verifier both check every root.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Role } from '../../../shared/domain/common';
import { isRedactedEntry, type ServedLedgerEntry } from '../../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../../shared/domain/request';
import { fillPath, ROUTES, type RouteDef } from '../../../shared/http/contract';
import { REPORT_ROUTE_KINDS } from '../../../shared/http/params';
import { parseCheckpoint } from '../../../shared/ledger/checkpoint';
import { SemanticAuditor } from '../../../shared/ledger/semantic-audit';
import { verifyLedger } from '../../../shared/ledger/verify-ledger';
import { ed25519NoteVerifier, nodeTreeHasher } from '../../../shared/node/ledger/node-crypto';
import { verifyDecisionBundle } from '../../../shared/node/signing/verify-decision';
import { fromBase64, toBase64 } from '../../../shared/bytes';
import { LedgerMirror, type LedgerSource } from '../../../electron/core/ledger-mirror';
import { startStoreFixture, type CallResult, type StoreFixture } from '../../support/grant-store-fixture';
import { sseFrames } from '../../support/sse-frames';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';
import { waitFor } from './workflow-helpers';
import { runCli } from '../cli/cli-harness';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalJson } from '../../../shared/canonical-json';
import { readFileSync } from 'node:fs';
import { EXAMPLE_POLICY_PATH } from '../../../grant-store/policy/example-policy-path';

/** What marks the hidden request: none of it may appear in an answer to someone who may not see it. */
const MARK = 'VISMARK';
const REASON = `${MARK}: deploy freeze blocks the payments hotfix for INC-4242 during the outage`;
const SCOPE = { repo: 'vismark-payments', branch: 'hotfix' };

/** The readers, and whether each may see alice's deploy-freeze request (tier `high`: platform-leads, security-leads). */
const READERS = {
  'the requester': { principal: 'alice', roles: ['requester'], sees: true },
  'another requester': { principal: 'grace', roles: ['requester'], sees: false },
  'an approver of another tier': { principal: 'dave', roles: ['approver'], sees: false }, // oncall-leads: tier low only
  'an approver of the tier': { principal: 'erin', roles: ['approver'], sees: true }, // platform-leads
  // On tier high's notify list (told about every request on it): they read it, they do not decide it.
  "on the tier's notify list": { principal: 'nora', roles: ['requester'], sees: true },
  "on the tier's notify list, an approver of another tier": { principal: 'olga', roles: ['approver'], sees: true }, // oncall-leads
  'an auditor': { principal: 'audra', roles: ['auditor'], sees: true },
  'an admin': { principal: 'root-admin', roles: ['admin'], sees: true },
} as const satisfies Record<string, { principal: string; roles: Role[]; sees: boolean }>;
type Reader = keyof typeof READERS;

interface World {
  request: BypassRequest;
  reviewId: string;
  decisionSeq: number;
  checkpointSize: number;
}

/**
 * Every GET route of the contract, decided explicitly: the path to read (built from the hidden
 * request), and whether a reader who may see the request finds it there (`shows`). Routes that
 * carry no request at all say why (`carries`); they are still read by everyone and checked for leaks.
 */
type Probe = { path: (w: World) => string; shows: boolean; carries?: string; encoded?: true };
const PROBES: Record<string, Probe> = {
  healthz: { path: () => '/healthz', shows: false, carries: 'liveness only' },
  whoami: { path: () => '/v1/whoami', shows: false, carries: 'the caller only' },
  policy: { path: () => '/v1/policy', shows: false, carries: 'the policy, readable by everyone' },
  history: { path: () => '/v1/history?requester=alice', shows: true },
  listRequests: { path: () => '/v1/requests', shows: true },
  getRequest: { path: (w) => fillPath(ROUTES.getRequest.path, { id: w.request.id }), shows: true },
  requestPage: { path: () => '/request', shows: false, carries: 'the static request page (it reads requests with the signed-in token)' },
  requestPageAsset: { path: () => '/request/assets/page.js', shows: false, carries: 'static assets' },
  requestPageSignIn: { path: () => '/request/sign-in', shows: false, carries: 'a redirect to the IdP' },
  requestPageCallback: { path: () => '/request/callback', shows: false, carries: 'the IdP callback' },
  authConfig: { path: () => '/v1/auth/config', shows: false, carries: 'how to sign in' },
  listReviews: { path: () => '/v1/reviews', shows: true },
  getReview: { path: (w) => fillPath(ROUTES.getReview.path, { id: w.reviewId }), shows: true },
  listTokens: { path: () => '/v1/admin/tokens', shows: false, carries: 'tokens (admin only)' },
  listKeys: { path: () => '/v1/admin/approvers/erin/keys', shows: false, carries: 'keys (admin only)' },
  events: { path: () => '/v1/events', shows: true },
  ledgerEntries: { path: () => '/v1/ledger/entries?from=0&limit=1000', shows: true },
  ledgerCheckpoint: { path: () => '/v1/ledger/checkpoint', shows: false, carries: 'a signed root' },
  inclusionProof: { path: (w) => `/v1/ledger/proof/inclusion?seq=${w.decisionSeq}&treeSize=${w.checkpointSize}`, shows: false, carries: 'hashes' },
  consistencyProof: { path: (w) => `/v1/ledger/proof/consistency?from=1&to=${w.checkpointSize}`, shows: false, carries: 'hashes' },
  ledgerPublicKey: { path: () => '/v1/ledger/public-key', shows: false, carries: 'the log key' },
  trustedRoot: { path: () => '/v1/ledger/trusted-root', shows: false, carries: 'public keys' },
  decisionBundle: { path: (w) => fillPath(ROUTES.decisionBundle.path, { seq: w.decisionSeq }), shows: true, encoded: true },
  ledgerExport: { path: () => '/v1/ledger/export?from=0&limit=1000', shows: true },
  tlogCheckpoint: { path: () => '/v1/ledger/tlog/checkpoint', shows: false, carries: 'a signed root' },
  tlogTile1: { path: () => '/v1/ledger/tlog/tile/0/000', shows: false, carries: 'hashes (a full tile: not yet, 404)' },
  tlogTile2: { path: (w) => `/v1/ledger/tlog/tile/entries/000.p/${w.checkpointSize}`, shows: true, encoded: true },
  tlogTile3: { path: () => '/v1/ledger/tlog/tile/0/x001/000', shows: false, carries: 'hashes past the log (404)' },
  tlogTile4: { path: () => '/v1/ledger/tlog/tile/entries/x001/x000/000.p/1', shows: false, carries: 'an entry bundle past the log (404)' },
  entryBundles: { path: () => '/v1/ledger/entry-bundles?start=0&count=1', shows: false, carries: 'full entry bundles (none is full yet: 404)' },
  report: { path: () => '/v1/reports/health', shows: true },
  audit: { path: () => '/v1/audit?format=json&limit=1000', shows: true },
  notifications: { path: () => '/v1/notifications', shows: false, carries: "the caller's own feed (alice: her request's events)" },
  metrics: { path: () => '/metrics', shows: false, carries: 'counts per gate' },
  listCredentials: { path: () => '/v1/emergency/credentials', shows: false, carries: 'emergency credentials (admin, auditor)' },
  digest: { path: () => '/v1/digest', shows: false, carries: "last full week's digest (the request is this week's)" },
  openapi: { path: () => '/openapi.json', shows: false, carries: 'the API description' },
};

/** Whether a caller with `roles` passes the route's role check. */
function allowed(route: RouteDef, roles: readonly Role[]): boolean {
  return route.roles === 'public' || route.roles === 'authenticated' || route.roles.some((r) => roles.includes(r));
}

/**
 * Entry bundles are for readers who see everything: an approver gets the entries redacted from
 * /v1/ledger/entries instead. A requester-only reader reads only their own history (403 for alice's).
 */
function refusedBeyondRoles(name: string, roles: readonly Role[], principal: string): boolean {
  if (name === 'history') return principal !== 'alice' && !roles.some((r) => r === 'approver' || r === 'auditor' || r === 'admin');
  return (name === 'tlogTile2' || name === 'entryBundles') && !roles.includes('admin') && !roles.includes('auditor');
}

/** The example policy with tier high telling nora and olga about every request, and olga approving tier low. */
const NOTIFY_POLICY = (() => {
  const text = readFileSync(EXAMPLE_POLICY_PATH, 'utf8');
  const withNotify = text.replace(/(\n {2}high:\n(?: {4}.*\n)*?)( {2}critical:)/, '$1    notify: [nora, olga]\n$2');
  const withOlga = withNotify.replace('oncall-leads: [bob, carol, dave]', 'oncall-leads: [bob, carol, dave, olga]');
  assert.notEqual(withNotify, text, 'tier high found in the example policy');
  assert.notEqual(withOlga, withNotify, 'oncall-leads found in the example policy');
  return withOlga;
})();

test('every GET route of the contract has a visibility probe (a new read route must decide)', () => {
  const gets = Object.entries(ROUTES).filter(([, r]) => r.method === 'GET').map(([name]) => name).sort();
  assert.deepEqual(Object.keys(PROBES).sort(), gets);
});

for (const backend of ['SQLite', 'PostgreSQL'] as const) {
  describe(`reads follow visibility (${backend})`, () => {
    let f: StoreFixture;
    let db: TempDatabase | undefined;
    let dir: string;
    const tokens = {} as Record<Reader, string>;
    let world: World;
    let olga: Awaited<ReturnType<StoreFixture['approver']>>;
    let erin: Awaited<ReturnType<StoreFixture['approver']>>;

    before(async () => {
      db = backend === 'PostgreSQL' ? await createTempDatabase('bg_visibility') : undefined;
      f = await startStoreFixture({ policyYaml: NOTIFY_POLICY, ...(db ? { databaseUrl: db.url } : {}) });
      dir = await mkdtemp(join(tmpdir(), 'bg-visibility-'));
      erin = await f.approver('erin');
      const dave = await f.approver('dave');
      olga = await f.approver('olga');
      for (const [reader, { principal, roles }] of Object.entries(READERS) as [Reader, (typeof READERS)[Reader]][]) {
        tokens[reader] = principal === 'erin' ? erin.token : principal === 'dave' ? dave.token : principal === 'olga' ? olga.token : principal === 'root-admin' ? f.adminToken : await f.token(principal, [...roles]);
      }
      // A low-tier request dave may see, so his view is not simply empty.
      const low = await f.call('POST', '/v1/requests', { token: tokens['the requester'], body: { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, reason: 'integration suite is down and a hotfix for INC-1190 must ship', severity: 'sev3', ttl: '1h' } });
      assert.equal(low.status, 201, low.text);
      // The hidden request: tier high, approved by erin, then revoked (a review opens).
      const filed = await f.call('POST', '/v1/requests', { token: tokens['the requester'], body: { gate: 'deploy-freeze', scope: SCOPE, reason: REASON, severity: 'sev3', ttl: '1h' } });
      assert.equal(filed.status, 201, filed.text);
      const request = filed.json.request as BypassRequest;
      for (const kind of ['approve', 'revoke'] as const) {
        const d = await f.call('POST', `/v1/requests/${request.id}/decisions`, { token: erin.token, body: { bundle: await f.sign(request, 'erin', erin.signer, kind, { comment: `${MARK} ${kind}` }) } });
        assert.equal(d.status, 200, d.text);
      }
      const reviews = await f.call('GET', '/v1/reviews', { token: f.adminToken });
      const reviewId = (reviews.json.reviews as { id: string; requestId: string }[]).find((r) => r.requestId === request.id)!.id;
      const size = await f.ledgerSize();
      await waitFor(async () => (await f.call('GET', '/v1/ledger/checkpoint', { token: f.adminToken })).json.treeSize >= size, 10_000, 50);
      const entries = (await f.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: f.adminToken })).json.entries as { seq: number; type: string; target: string }[];
      const decisionSeq = entries.find((e) => e.type === 'decision' && e.target === request.id)!.seq;
      world = { request, reviewId, decisionSeq, checkpointSize: (await f.call('GET', '/v1/ledger/checkpoint', { token: f.adminToken })).json.treeSize };
    });

    after(async () => {
      await f?.close();
      await db?.drop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** Nothing of the hidden request in an answer (but the id the caller asked about, echoed in a 404). */
    function assertNoLeak(what: string, text: string, asked = ''): void {
      for (const secret of [world.request.id, world.reviewId, MARK, SCOPE.repo]) {
        if (!asked.includes(secret)) assert.ok(!text.includes(secret), `${what}: the answer shows ${secret}`);
      }
    }

    /** The event stream from the start, read until the caller's own marker entry (a token issued to them) arrives. */
    async function eventStream(reader: Reader): Promise<{ status: number; text: string }> {
      const controller = new AbortController();
      const res = await fetch(`${f.url}/v1/events`, { headers: { authorization: `Bearer ${tokens[reader]}`, 'last-event-id': '-1' }, signal: controller.signal });
      if (res.status !== 200) return { status: res.status, text: await res.text() };
      const frames: string[] = [];
      const stop = `"target":"${READERS[reader].principal}"`;
      // An entry about the reader themselves: every reader sees it, and it comes after the replay.
      const marker = await f.call('POST', '/v1/admin/tokens', { token: f.adminToken, body: { principal: READERS[reader].principal, roles: ['requester'] } });
      assert.equal(marker.status, 201, marker.text);
      const markerSeq = (await f.ledgerSize()) - 1;
      for await (const frame of sseFrames(res.body!)) {
        frames.push(frame);
        if (frame.includes(`id: ${markerSeq}\n`) && frame.includes(stop)) break;
      }
      controller.abort();
      return { status: 200, text: frames.join('\n\n') };
    }

    for (const [reader, { roles, sees }] of Object.entries(READERS) as [Reader, (typeof READERS)[Reader]][]) {
      test(`${reader} (${roles.join(', ')}): every read route ${sees ? 'shows the request' : 'hides the request'}`, async () => {
        for (const [name, probe] of Object.entries(PROBES)) {
          const route = ROUTES[name as keyof typeof ROUTES] as RouteDef;
          const path = probe.path(world);
          const r: Pick<CallResult, 'status' | 'text'> = name === 'events' ? await eventStream(reader) : await f.call('GET', path, { token: tokens[reader] });
          const what = `${reader} GET ${path}`;
          // The request page's static files may not be built in a bare checkout: that 503 names the fix.
          const unbuiltPage = name.startsWith('requestPage') && r.status === 503 && r.text.includes('request page is not built');
          assert.ok(r.status < 500 || unbuiltPage, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
          if (!allowed(route, roles) || refusedBeyondRoles(name, roles, READERS[reader].principal)) {
            assert.equal(r.status, 403, `${what}: ${r.text.slice(0, 300)}`);
          } else if (sees && probe.shows) {
            assert.equal(r.status, 200, `${what}: ${r.text.slice(0, 300)}`);
            // Decision bundles and entry bundles carry the request encoded (DSSE payload, binary bundle).
            if (!probe.encoded) assert.ok(r.text.includes(world.request.id), `${what}: the request is missing`);
          }
          if (!sees) assertNoLeak(what, r.text, path);
        }
        // The report route per kind (the probe read `health`, which holds them all).
        for (const kind of REPORT_ROUTE_KINDS) {
          const r = await f.call('GET', `/v1/reports/${kind}`, { token: tokens[reader] });
          assert.equal(r.status, allowed(ROUTES.report, roles) ? 200 : 403, `${reader} report ${kind}: ${r.text.slice(0, 300)}`);
          if (!sees) assertNoLeak(`${reader} GET /v1/reports/${kind}`, r.text);
        }
      });
    }

    test("the tier's notify list reads a request, and cannot decide on it, revoke it or sign off its review (403, nothing written)", async () => {
      const filed = await f.call('POST', '/v1/requests', { token: tokens['the requester'], body: { gate: 'deploy-freeze', scope: { repo: 'payments-api', branch: 'notify' }, reason: 'deploy freeze blocks the payments fix that the on-call lead asked for', severity: 'sev3', ttl: '1h' } });
      assert.equal(filed.status, 201, filed.text);
      const pending = filed.json.request as BypassRequest;
      // Both were told about it (critical_request in their feed) and both may open it.
      for (const reader of ["on the tier's notify list", "on the tier's notify list, an approver of another tier"] as const) {
        const feed = await f.call('GET', '/v1/notifications', { token: tokens[reader] });
        assert.ok((feed.json.notifications as { requestId: string; because: string }[]).some((n) => n.requestId === pending.id && n.because === 'notify_list'), `${reader}: notified`);
        assert.equal((await f.call('GET', `/v1/requests/${pending.id}`, { token: tokens[reader] })).status, 200, `${reader}: reads it`);
      }
      const before = await f.ledgerSize();
      // nora holds no approver role: the route refuses her; olga approves another tier only.
      const asNora = await f.call('POST', `/v1/requests/${pending.id}/decisions`, { token: tokens["on the tier's notify list"], body: { bundle: await f.sign(pending, 'nora', olga.signer, 'approve') } });
      assert.equal(asNora.status, 403, asNora.text);
      for (const kind of ['approve', 'deny', 'request_info'] as const) {
        const r = await f.call('POST', `/v1/requests/${pending.id}/decisions`, { token: olga.token, body: { bundle: await f.sign(pending, 'olga', olga.signer, kind) } });
        assert.equal(r.status, 403, `${kind}: ${r.text}`);
        assert.match(r.json.error.message, /olga is not in an approver group of tier high/);
      }
      assert.equal(await f.ledgerSize(), before, 'nothing written by a refused decision');
      // Once erin approved it, olga cannot revoke the bypass either.
      const approved = await f.call('POST', `/v1/requests/${pending.id}/decisions`, { token: erin.token, body: { bundle: await f.sign(pending, 'erin', erin.signer, 'approve') } });
      assert.equal(approved.status, 200, approved.text);
      const active = approved.json.request as BypassRequest;
      assert.equal(active.state, 'active');
      const afterApproval = await f.ledgerSize();
      const revoke = await f.call('POST', `/v1/requests/${pending.id}/decisions`, { token: olga.token, body: { bundle: await f.sign(active, 'olga', olga.signer, 'revoke') } });
      assert.equal(revoke.status, 403, revoke.text);
      assert.match(revoke.json.error.message, /olga is not in an approver group of tier high and cannot revoke/);
      // The hidden request's review is open (it was revoked): she reads it, she does not sign it.
      assert.equal((await f.call('GET', `/v1/reviews/${world.reviewId}`, { token: olga.token })).status, 200);
      const signoff = await f.call('POST', `/v1/reviews/${world.reviewId}/complete`, { token: olga.token, body: { finding: 'justified', note: 'the freeze really blocked the payments fix' } });
      assert.equal(signoff.status, 403, signoff.text);
      assert.match(signoff.json.error.message, /olga is told about gate deploy-freeze's requests \(its tier's notify list\) but does not approve for it/);
      assert.equal(await f.ledgerSize(), afterApproval, 'nothing written by a refused revocation or sign-off');
      assert.equal((await f.call('GET', `/v1/reviews/${world.reviewId}`, { token: f.adminToken })).json.state, 'review_open');
    });

    test('an approver of another tier gets the hidden entries redacted, not dropped: same count, leaf hashes only', async () => {
      const full = (await f.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: tokens['an auditor'] })).json.entries as ServedLedgerEntry[];
      const dave = (await f.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: tokens['an approver of another tier'] })).json.entries as ServedLedgerEntry[];
      assert.equal(dave.length, full.length);
      const hidden = full.filter((e) => !isRedactedEntry(e) && (e.target === world.request.id || (e.data as { requestId?: string }).requestId === world.request.id));
      assert.ok(hidden.length >= 4, 'request, decisions, activation, revocation, review');
      for (const e of hidden) assert.deepEqual(Object.keys(dave[e.seq]!).sort(), ['leafHash', 'redacted', 'seq']);
      assert.ok(!full.some(isRedactedEntry), 'an auditor sees every entry in full');
      // What dave may see comes in full: the low-tier request, the policy, the keys.
      assert.ok(dave.some((e) => !isRedactedEntry(e) && e.type === 'request_created' && e.gate === 'ci-tests'));
      assert.ok(dave.some((e) => !isRedactedEntry(e) && e.type === 'key_enrolled'));
      // Hash tiles are for every ledger reader: the redacted leaves are in them.
      const tile = await f.call('GET', `/v1/ledger/tlog/tile/0/000.p/${world.checkpointSize}`, { token: tokens['an approver of another tier'] });
      assert.equal(tile.status, 200);
    });

    test("an approver's console mirror verifies every checkpoint with redacted entries, and its queries skip them", async () => {
      const source = (token: string): LedgerSource => ({
        entries: async (from, limit) => {
          const r = await f.call('GET', `/v1/ledger/entries?from=${from}&limit=${limit}`, { token });
          return { entries: r.json.entries, treeSize: r.json.treeSize };
        },
        latestCheckpoint: async () => {
          const r = await f.call('GET', '/v1/ledger/checkpoint', { token });
          const cp = parseCheckpoint(String(r.json.checkpoint).split('\n\n')[0] + '\n');
          return { size: cp.size, rootHash: cp.rootHash, note: r.json.checkpoint, logKey: { origin: r.json.origin, publicKeyPem: 'pinned-in-this-test' } };
        },
      });
      const size = await f.ledgerSize();
      await waitFor(async () => (await f.call('GET', '/v1/ledger/checkpoint', { token: f.adminToken })).json.treeSize >= size, 10_000, 50);
      const mirror = new LedgerMirror(join(dir, `dave-${backend}`));
      await mirror.sync(source(tokens['an approver of another tier']));
      assert.ok(mirror.verifiedTreeSize >= size, `verified ${mirror.verifiedTreeSize} of ${size}`);
      assert.equal(mirror.failure, null);
      assert.ok(mirror.redactedCount >= 4);
      const page = mirror.query({ offset: 0, limit: 1000 });
      assert.equal(page.total, mirror.size - mirror.redactedCount);
      assertNoLeak('the mirror query', JSON.stringify(page));
      assert.deepEqual(mirror.entriesFor(world.request.id), []);

      // A store that swaps a redacted leaf hash cannot match its own signed root.
      const forged = new LedgerMirror(join(dir, `forged-${backend}`));
      const honest = source(tokens['an approver of another tier']);
      const tampered: LedgerSource = {
        ...honest,
        entries: async (from, limit) => {
          const page = await honest.entries(from, limit);
          return { ...page, entries: page.entries.map((e) => (isRedactedEntry(e) && e.seq === world.decisionSeq ? { ...e, leafHash: toBase64(fromBase64(e.leafHash).map((b, i) => (i === 0 ? b ^ 1 : b))) } : e)) };
        },
      };
      await assert.rejects(forged.sync(tampered), /does not match the store's signed checkpoint/);
    });

    test("`ledger verify`'s verifier checks an approver's export with redacted entries and says how many it could not read", async () => {
      const token = tokens['an approver of another tier'];
      const size = await f.ledgerSize();
      await waitFor(async () => (await f.call('GET', '/v1/ledger/checkpoint', { token: f.adminToken })).json.treeSize >= size, 10_000, 50);
      const page = (await f.call('GET', '/v1/ledger/export?from=0&limit=1000', { token })).json as { origin: string; publicKeyPem: string; checkpoint: string; entries: string[]; leafHashes: string[]; checkpoints: string[] };
      assertNoLeak('the export', JSON.stringify(page.entries));
      const options = (auditor: SemanticAuditor) => ({ hasher: nodeTreeHasher, logKey: ed25519NoteVerifier(page.origin, page.publicKeyPem), verifyDecision: verifyDecisionBundle, auditor });
      const auditor = new SemanticAuditor();
      const verdict = await verifyLedger({ entryTexts: page.entries, checkpoint: page.checkpoint, history: page.checkpoints, recordedLeafHashes: page.leafHashes.map(fromBase64) }, options(auditor));
      assert.ok(verdict.ok, JSON.stringify(!verdict.ok && verdict.problems));
      assert.ok(verdict.redacted >= 4);
      assert.equal(verdict.audit?.counts.redacted, verdict.redacted);
      assert.deepEqual(verdict.audit?.violations, []);

      // A redacted entry moved to another position is caught.
      const moved = [...page.entries];
      const at = moved.findIndex((t) => t.startsWith('{"leafHash":'));
      moved[at] = moved[at]!.replace(/"seq":\d+/, `"seq":${at + 1}`);
      const bad = await verifyLedger({ entryTexts: moved, checkpoint: page.checkpoint }, options(new SemanticAuditor()));
      assert.equal(bad.ok, false);
      assert.ok(!bad.ok && bad.problems.some((p) => p.code === 'seq_mismatch' && p.seq === at));
    });

    test('`ledger verify --full` fails when entries are redacted; an auditor token implies it, so a store hiding entries from an auditor is caught', async () => {
      const size = await f.ledgerSize();
      await waitFor(async () => (await f.call('GET', '/v1/ledger/checkpoint', { token: f.adminToken })).json.treeSize >= size, 10_000, 50);
      const state = await mkdtemp(join(tmpdir(), 'bg-vis-cli-'));
      const verify = (url: string, token: string, ...extra: string[]) =>
        runCli(['ledger', 'verify', '--store', url, '--token', token, '--no-save', '--json', ...extra], { HOME: state, XDG_STATE_HOME: state, BREAKGLASS_STORE: '', BREAKGLASS_TOKEN: '' });
      // A store that serves an auditor one request's entries as leaf hashes only: every root and the
      // semantic audit still check out (the whole request is gone, not half of it). It refuses the
      // auditor the entry bundles (which hold every entry in full) as it refuses an approver, so
      // the CLI reads the pages it redacts.
      const hiding: Server = createServer(async (req, res) => {
        const body = await new Promise<Buffer>((done) => { const parts: Buffer[] = []; req.on('data', (c: Buffer) => parts.push(c)); req.on('end', () => done(Buffer.concat(parts))); });
        if (req.url?.startsWith('/v1/ledger/tlog/tile/entries/')) {
          res.writeHead(403, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'forbidden', message: 'entry bundles carry every entry in full: auditors and admins only' } }));
          return;
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
        const upstream = await fetch(`${f.url}${req.url}`, { method: req.method, headers, ...(body.length > 0 ? { body } : {}) });
        let answer: Buffer | string = Buffer.from(await upstream.arrayBuffer());
        if (req.url?.startsWith('/v1/ledger/export') && upstream.ok) {
          const page = JSON.parse(answer.toString('utf8')) as { entries: string[]; leafHashes: string[]; from?: number };
          page.entries = page.entries.map((t) =>
            // The leaf hash of the entry it hides, as the store computes it (the page may not carry the recorded ones).
            t.includes(world.request.id) ? canonicalJson({ seq: (JSON.parse(t) as { seq: number }).seq, redacted: true, leafHash: toBase64(nodeTreeHasher.leafOfText!(t)) }) : t,
          );
          answer = JSON.stringify(page);
        }
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
        res.end(answer);
      });
      hiding.listen(0, '127.0.0.1');
      await new Promise((done) => hiding.once('listening', done));
      const hidingUrl = `http://127.0.0.1:${(hiding.address() as AddressInfo).port}`;
      try {
        const approver = tokens['an approver of another tier'];
        const plain = await verify(f.url, approver);
        assert.equal(plain.code, 0, plain.stdout + plain.stderr);
        assert.ok((JSON.parse(plain.stdout) as { redacted: number }).redacted >= 4);

        const full = await verify(f.url, approver, '--full');
        assert.equal(full.code, 1, full.stdout + full.stderr);
        const fullJson = JSON.parse(full.stdout) as { ok: boolean; withheld: { redacted: number; reason: string } };
        assert.equal(fullJson.ok, false);
        assert.ok(fullJson.withheld.redacted >= 4);
        assert.match(fullJson.withheld.reason, /redacted \(leaf hash only\) to --full, which must see every entry in full/);

        const honest = await verify(f.url, tokens['an auditor']);
        assert.equal(honest.code, 0, honest.stdout + honest.stderr);
        assert.equal((JSON.parse(honest.stdout) as { redacted: number }).redacted, 0);

        const hidden = await verify(hidingUrl, tokens['an auditor']);
        assert.equal(hidden.code, 1, hidden.stdout + hidden.stderr);
        const hiddenJson = JSON.parse(hidden.stdout) as { ok: boolean; redacted: number; withheld: { redacted: number; reason: string } };
        assert.ok(hiddenJson.redacted >= 4, 'the hashes, roots and audit all verify: only the role check catches it');
        assert.equal(hiddenJson.withheld.redacted, hiddenJson.redacted);
        assert.match(hiddenJson.withheld.reason, /\d+ entries redacted \(leaf hash only\) to a token with the auditor role, which must see every entry in full/);
        const text = await runCli(['ledger', 'verify', '--store', hidingUrl, '--token', tokens['an auditor'], '--no-save'], { HOME: state, XDG_STATE_HOME: state, BREAKGLASS_STORE: '', BREAKGLASS_TOKEN: '' });
        assert.equal(text.code, 1);
        assert.match(text.stdout + text.stderr, /FAILED: the store served \d+ entries redacted/);
      } finally {
        await new Promise((done) => hiding.close(done));
        await rm(state, { recursive: true, force: true });
      }
    });
  });
}
