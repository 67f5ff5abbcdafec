import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RendererEvent } from '../../../../shared/ipc/contract';
import { pino } from 'pino';
import { composeConsole, type ConsoleCore } from '../../../../electron/core/compose-console';
import type { InboxItem } from '../../../../shared/ipc/contract';
import type { ConsoleNotification } from '../../../../electron/core/notifier';
import { pinCancelled } from '../../../../electron/core/pin-prompt';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { EXAMPLE_POLICY_PATH } from '../../../../grant-store/policy/example-policy-path';
import { fileRequest, waitFor } from '../../grant-store/workflow-helpers';
import { memoryKeychain } from './memory-keychain';
import { dispatch } from '../../../../electron/core/dispatch';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../../shared/node/signing/software-signer';
import type { PinRequest } from '../../../../electron/core/signers/pkcs11-signer';

/** Reviews per page of this console: small, so a few reviews take several pages. */
const REVIEW_PAGE_SIZE = 2;
/** Requests per page of this console: small, so a few requests take several pages. */
const REQUEST_PAGE_SIZE = 2;

describe('the console core (composeConsole) against a real grant store', () => {
  let store: StoreFixture;
  let dataDir: string;
  let service: ConsoleCore;
  let keychain: ReturnType<typeof memoryKeychain>;
  const notifications: ConsoleNotification[] = [];
  const events: Array<{ event: RendererEvent; payload: unknown }> = [];
  let alice: string;
  let gate: string;
  let bobToken: string;

  before(async () => {
    // The console signs with a software key from the keychain, which a safety gate's tier never
    // accepts (attested keys only): here container-signing is a slow gate on the same
    // two-approver tier, taking software keys, so the console's 1-of-2 flow runs with that key.
    const example = await readFile(EXAMPLE_POLICY_PATH, 'utf8');
    const policyYaml = example
      .replace('- id: container-signing\n    kind: safety', '- id: container-signing\n    kind: slow')
      .replace(/^( {4}hardwareKeyRequired: )true.*$/m, '$1false')
      .replace(/^( {4}attestationRequired: )true$/m, '$1false');
    assert.equal(policyYaml.match(/: false$/gm)?.length, (example.match(/: false$/gm)?.length ?? 0) + 2, 'the critical tier takes software keys');
    assert.match(policyYaml, /- id: container-signing\n {4}kind: slow/);
    store = await startStoreFixture({ policyYaml });
    dataDir = await mkdtemp(join(tmpdir(), 'bg-console-'));
    alice = await store.token('alice', ['requester']);
    gate = await store.token('ci-gate', ['gate']);
    bobToken = await store.token('bob', ['approver', 'requester']);
    keychain = memoryKeychain();
    await startService();
  });

  /** Starts `service`: a console on the same data dir and keychain each time (the restart test starts a second one). */
  async function startService(): Promise<void> {
    service = composeConsole({
      dataDir,
      logger: pino({ level: 'silent' }),
      host: 'browser',
      pinPrompt: { ask: () => Promise.reject(pinCancelled()) },
      openVault: keychain.openVault,
      notify: (n) => notifications.push(n),
      sse: { initialBackoffMs: 50, maxBackoffMs: 200 },
      reviewPageSize: REVIEW_PAGE_SIZE,
      requestPageSize: REQUEST_PAGE_SIZE,
    });
    service.subscribe((event, payload) => events.push({ event, payload }));
    await service.start();
  }

  let storeClosing: Promise<void> | undefined;

  /** Resolves at the first inbox refresh (the inbox-changed event) whose items satisfy `ready`. */
  function inboxWhere(ready: (items: InboxItem[]) => boolean, timeoutMs = 5000): Promise<InboxItem[]> {
    if (ready(service.inbox)) return Promise.resolve(service.inbox);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`the inbox did not reach the expected state within ${timeoutMs} ms`));
      }, timeoutMs);
      const unsubscribe = service.subscribe((event) => {
        if (event !== 'console:renderer:inbox-changed' || !ready(service.inbox)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(service.inbox);
      });
    });
  }

  after(async () => {
    await service.stop();
    await storeClosing;
    await store.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  test('setup keeps the token and a new software key in the keychain only, and shows the key to enroll', async () => {
    const before = await service.handlers['console:main:get-session']({});
    assert.equal(before.configured, false);
    const session = await service.handlers['console:main:setup']({ storeUrl: store.url, token: bobToken, key: { kind: 'software' } });
    assert.equal(session.configured, true);
    assert.equal(session.principal, 'bob');
    assert.equal(session.team, 'platform');
    assert.equal(session.key?.kind, 'software');
    assert.equal(session.key?.enrolled, false);
    assert.match(session.key?.publicKeyPem ?? '', /BEGIN PUBLIC KEY/);
    assert.match(session.key?.enrollCommand ?? '', /breakglass admin approver enroll --principal bob/);
    // Secrets: in the keychain, never in the data dir.
    assert.ok([...keychain.secrets.keys()].some((k) => k.endsWith('|bob|token')));
    assert.ok([...keychain.secrets.values()].some((v) => v.includes('PRIVATE KEY')));
    for (const name of await readdir(dataDir)) {
      if (name === 'ledger') continue;
      const text = await readFile(join(dataDir, name), 'utf8');
      assert.ok(!text.includes(bobToken), `${name} must not hold the token`);
      assert.ok(!text.includes('PRIVATE KEY'), `${name} must not hold the private key`);
    }
    const enroll = await store.call('POST', '/v1/admin/approvers/bob/keys', { token: store.adminToken, body: { publicKeyPem: session.key!.publicKeyPem } });
    assert.equal(enroll.status, 201, enroll.text);
    const after = await service.handlers['console:main:get-session']({});
    assert.equal(after.key?.enrolled, true);
    assert.deepEqual(after.linkHosts, ['incidents.example.com']);
  });

  test('a new request at the threshold reaches the inbox by push and notifies once, naming requester, gate, scope and severity', async () => {
    const request = await fileRequest(store, alice, { gate: 'deploy-freeze', severity: 'sev2', incidentRef: 'INC-7', scope: { repo: 'payments-api', branch: 'main' } });
    const { value: notification } = await waitFor(async () => notifications.find((n) => n.requestId === request.id), 5000);
    assert.match(notification.title, /SEV2.*deploy-freeze/);
    assert.match(notification.body, /alice \(payments\)/);
    assert.match(notification.body, /repo=payments-api, branch=main/);
    const inbox = await service.handlers['console:main:list-inbox']({});
    const item = inbox.items.find((i) => i.request.id === request.id);
    assert.ok(item, 'the request is in the inbox');
    assert.equal(item.gate.kind, 'slow');
    assert.equal(item.gate.tier, 'high');
    assert.equal(item.incidentFlagged, true);
    assert.equal(Date.parse(item.slaDeadline) - Date.parse(request.createdAt), 15 * 60_000);
    assert.ok(events.some((e) => e.event === 'console:renderer:inbox-changed'));
    await service.refreshInbox();
    assert.equal(notifications.filter((n) => n.requestId === request.id).length, 1, 'no duplicate notification');
  });

  test('no notification below the threshold, none for my own requests, none while paused except sev1', async () => {
    const low = await fileRequest(store, alice, { gate: 'ci-tests', severity: 'sev3' });
    const own = await fileRequest(store, bobToken, { gate: 'deploy-freeze', severity: 'sev1', incidentRef: 'INC-8' });
    await inboxWhere((items) => items.some((i) => i.request.id === low.id));
    await service.refreshInbox();
    assert.equal(notifications.some((n) => n.requestId === low.id), false, 'sev3 on a low tier is below the threshold');
    assert.equal(notifications.some((n) => n.requestId === own.id), false, 'never for my own request');
    const settings = await service.handlers['console:main:pause-notifications']({ minutes: 60 });
    assert.ok(settings.pauseUntil);
    const paused = await fileRequest(store, alice, { gate: 'deploy-freeze', severity: 'sev2', incidentRef: 'INC-9' });
    const urgent = await fileRequest(store, alice, { gate: 'deploy-freeze', severity: 'sev1', incidentRef: 'INC-10' });
    await waitFor(async () => notifications.find((n) => n.requestId === urgent.id), 5000);
    await service.refreshInbox();
    assert.ok(service.inbox.some((i) => i.request.id === paused.id), 'the paused request is in the inbox');
    assert.equal(notifications.some((n) => n.requestId === paused.id), false, 'sev2 stays quiet while paused');
    await service.handlers['console:main:pause-notifications']({ minutes: 0 });
  });

  test('the request page carries history and refuses self-approval with the reason', async () => {
    const own = (await service.handlers['console:main:list-requests']({ requester: 'bob', state: 'pending' })).requests[0]!;
    const page = await service.handlers['console:main:get-request']({ id: own.id });
    assert.equal(page.canApprove.allowed, false);
    assert.equal(page.canApprove.reason, 'you filed this request: no self-approval');
    await assert.rejects(service.handlers['console:main:approve']({ id: own.id, digest: own.digest, ttl: '15m', comment: '' }), (e: Error & { code?: string }) => e.code === 'forbidden');
    const theirs = (await service.handlers['console:main:list-inbox']({})).items[0]!.request;
    const other = await service.handlers['console:main:get-request']({ id: theirs.id });
    assert.equal(other.canApprove.allowed, true, String(other.canApprove.reason));
    assert.equal(other.history.requester?.name, 'alice');
    assert.equal(other.history.team?.name, 'payments');
    assert.ok((other.history.requester?.recent.length ?? 0) >= 3, 'the requester\'s recent requests are listed');
    assert.ok(other.ttlChoices.every((t) => ['15m', '1h'].includes(t) || t === theirs.ttl));
  });

  test('approving signs locally and activates the bypass: the gate check warns; revoking makes it block', async () => {
    const request = await fileRequest(store, alice, { gate: 'ci-tests', severity: 'sev3', scope: { repo: 'ledger-svc', branch: 'main' } });
    const approved = await service.handlers['console:main:approve']({ id: request.id, digest: request.digest, ttl: '15m', comment: 'tests are flaky, reviewed' });
    assert.equal(approved.request.state, 'active');
    assert.equal(approved.request.approvedTtl, '15m');
    const check = await store.call('POST', '/v1/checks', { token: gate, body: { gate: 'ci-tests', subject: { repo: 'ledger-svc', branch: 'main' } } });
    assert.equal(check.json.verdict, 'warn');
    const active = await service.handlers['console:main:list-active']({});
    assert.ok(active.requests.some((r) => r.id === request.id));
    const revoked = await service.handlers['console:main:revoke']({ id: request.id, digest: request.digest, comment: 'flaky test fixed' });
    assert.equal(revoked.request.state, 'revoked');
    const after = await store.call('POST', '/v1/checks', { token: gate, body: { gate: 'ci-tests', subject: { repo: 'ledger-svc', branch: 'main' } } });
    assert.equal(after.json.verdict, 'block');
    const reviews = await service.handlers['console:main:list-reviews']({ state: 'review_open' });
    assert.ok(reviews.reviews.some((r) => r.requestId === request.id));
  });

  test('reviews come a page at a time: the pages are the store\'s list, none skipped or repeated; a bad cursor is refused naming it', async () => {
    for (const repo of ['pager-a', 'pager-b']) {
      const request = await fileRequest(store, alice, { gate: 'ci-tests', severity: 'sev4', scope: { repo, branch: 'main' } });
      await service.handlers['console:main:approve']({ id: request.id, digest: request.digest, ttl: '15m', comment: 'flaky runner, reviewed' });
      await service.handlers['console:main:revoke']({ id: request.id, digest: request.digest, comment: 'runner replaced' });
    }
    const whole = (await store.call('GET', '/v1/reviews?state=review_open&limit=5000', { token: bobToken })).json.reviews as Array<{ id: string }>;
    assert.ok(whole.length > REVIEW_PAGE_SIZE, `several pages (${whole.length} reviews)`);
    const seen: string[] = [];
    let page = await service.handlers['console:main:list-reviews']({ state: 'review_open' });
    for (let pages = 1; ; pages++) {
      assert.equal(page.data.source, 'store');
      seen.push(...page.reviews.map((r) => r.id));
      if (page.nextCursor === null) break;
      assert.equal(page.reviews.length, REVIEW_PAGE_SIZE);
      assert.ok(pages < whole.length, 'the pages end');
      page = await service.handlers['console:main:list-reviews']({ state: 'review_open', cursor: page.nextCursor });
    }
    assert.deepEqual(seen, whole.map((r) => r.id));
    const refused = await dispatch(service.handlers, 'console:main:list-reviews', { state: 'review_open', cursor: 'not a cursor' });
    assert.equal(refused.ok, false);
    assert.deepEqual(!refused.ok && refused.error.fieldErrors?.map((f) => f.path), ['cursor']);
  });

  test('requests come a page at a time for each filter: the pages are the store\'s list, none skipped or repeated; a bad cursor is refused naming it', async () => {
    for (const repo of ['pager-c', 'pager-d', 'pager-e']) await fileRequest(store, alice, { gate: 'ci-tests', severity: 'sev4', scope: { repo, branch: 'main' } });
    const filters = [{}, { state: 'open' }, { state: 'pending', requester: 'alice' }, { gate: 'ci-tests' }] as const;
    for (const filter of filters) {
      const whole = (await store.call('GET', `/v1/requests?${new URLSearchParams({ ...filter, limit: '5000' })}`, { token: bobToken })).json.requests as Array<{ id: string }>;
      assert.ok(whole.length > REQUEST_PAGE_SIZE, `several pages of ${JSON.stringify(filter)} (${whole.length} requests)`);
      const seen: string[] = [];
      let page = await service.handlers['console:main:list-requests'](filter);
      let pages = 1;
      for (; page.nextCursor !== null; pages++) {
        assert.equal(page.requests.length, REQUEST_PAGE_SIZE);
        assert.ok(pages < whole.length, 'the pages end');
        seen.push(...page.requests.map((r) => r.id));
        page = await service.handlers['console:main:list-requests']({ ...filter, cursor: page.nextCursor });
      }
      seen.push(...page.requests.map((r) => r.id));
      assert.deepEqual(seen, whole.map((r) => r.id), `the pages of ${JSON.stringify(filter)}`);
      // Pages of the console's size (requestPageSize), the last one holding what is left.
      assert.equal(pages, Math.ceil(whole.length / REQUEST_PAGE_SIZE));
    }
    const refused = await dispatch(service.handlers, 'console:main:list-requests', { state: 'open', cursor: 'not a cursor' });
    assert.equal(refused.ok, false);
    assert.deepEqual(!refused.ok && refused.error.fieldErrors?.map((f) => f.path), ['cursor']);
    // A cursor of the reviews list is not one of the requests list's.
    const reviewCursor = (await service.handlers['console:main:list-reviews']({})).nextCursor;
    assert.ok(reviewCursor, 'the reviews run past a page');
    const otherList = await dispatch(service.handlers, 'console:main:list-requests', { cursor: reviewCursor });
    assert.equal(otherList.ok, false);
    assert.deepEqual(!otherList.ok && otherList.error.fieldErrors?.map((f) => [f.path, f.message]), [['cursor', 'must be the nextCursor of an earlier page of requests: it is a cursor of reviews']]);
  });

  test('what you sign is what you saw: a digest other than the store\'s is refused and nothing is signed; 1 of 2 says who is left', async () => {
    const request = await fileRequest(store, alice, { gate: 'container-signing', severity: 'sev3', scope: { repo: 'signer', branch: 'main' } });
    const stale = `sha256:${'ab'.repeat(32)}`;
    await assert.rejects(
      service.handlers['console:main:approve']({ id: request.id, digest: stale, ttl: '15m', comment: 'looks fine' }),
      (e: Error & { code?: string }) => e.code === 'conflict' && e.message.includes(stale) && e.message.includes(request.digest) && /Nothing was signed/.test(e.message),
    );
    const unchanged = await service.handlers['console:main:get-request']({ id: request.id });
    assert.equal(unchanged.decisions.length, 0, 'nothing reached the store');
    const approved = await service.handlers['console:main:approve']({ id: request.id, digest: request.digest, ttl: '15m', comment: 'signer outage confirmed' });
    assert.equal(approved.request.state, 'pending');
    assert.equal(approved.request.approvals.length, 1);
    assert.ok(approved.decision.seq > 0);
    assert.deepEqual([...approved.waitingOn].sort(), ['carol', 'erin', 'frank']);
  });

  test('the ledger mirror syncs and verifies against signed checkpoints', async () => {
    const { value } = await waitFor(async () => {
      await service.handlers['console:main:sync-ledger']({});
      const q = service.handlers['console:main:query-ledger']({ offset: 0, limit: 1000 });
      const r = await q;
      return r.verifiedTreeSize === r.mirrorSize && r.mirrorSize > 0 ? r : undefined;
    }, 8000, 200);
    assert.equal(value.mirrorSize, await store.ledgerSize());
    assert.ok(value.entries.every((e) => e.verification === 'verified'));
    assert.match(value.checkpoint?.note ?? '', /\u2014 /, 'the signed note is kept');
    const decisions = await service.handlers['console:main:query-ledger']({ type: 'decision', offset: 0, limit: 100 });
    assert.ok(decisions.total >= 2);
    const byAlice = await service.handlers['console:main:query-ledger']({ search: 'alice', offset: 0, limit: 5 });
    assert.ok(byAlice.total > 0 && byAlice.entries.length <= 5);
  });

  test('two signatures under way at once: each PIN prompt says what its own signature is for', { timeout: 20_000 }, async () => {
    // carol's console signs with a "hardware" key: a software key behind the PKCS#11 signer
    // interface that asks for the PIN on every signature. The prompts are answered only once both
    // are open (the second first), and each PIN names its prompt, so every signature knows which
    // prompt it was made under.
    const carolToken = await store.token('carol', ['approver']);
    const pair = generateSoftwareKeyPair();
    const software = fileKeySigner(pair.privateKeyPem);
    const prompts: string[] = [];
    const signed: { purpose: string; requestId: string }[] = [];
    let bothOpen!: () => void;
    const bothAsked = new Promise<void>((resolve) => (bothOpen = resolve));
    const publicPart = { keyId: software.keyId, publicKeyPem: software.publicKeyPem, hardwareBacked: true };
    const tokenSigner = {
      ...publicPart,
      clearPinCache: () => undefined,
      sign: () => Promise.reject(new Error('signatures go through withPinPrompt')),
      withPinPrompt: (getPin: (r: PinRequest) => Promise<string>) => ({
        ...publicPart,
        sign: async (data: Uint8Array) => {
          const pin = await getPin({ tokenLabel: 'bg-test', keyLabel: 'carol', purpose: 'sign', attempt: 1, previousError: null });
          const statement = JSON.parse(/\{.*\}/s.exec(Buffer.from(data).toString('utf8'))![0]) as { requestId: string };
          signed.push({ purpose: prompts[Number(pin)]!, requestId: statement.requestId });
          return software.sign(data);
        },
      }),
    };
    const carolDir = await mkdtemp(join(tmpdir(), 'bg-console-carol-'));
    const carol = composeConsole({
      dataDir: carolDir,
      host: 'browser',
      logger: pino({ level: 'silent' }),
      openVault: memoryKeychain().openVault,
      signers: { keychainSigner: () => Promise.resolve(null), pkcs11Signer: async () => tokenSigner },
      pinPrompt: {
        ask: async (context) => {
          const index = prompts.push(context.purpose) - 1;
          if (prompts.length === 2) bothOpen();
          await bothAsked;
          if (index === 1) await new Promise((r) => setTimeout(r, 20));
          return String(index);
        },
      },
    });
    try {
      await carol.start();
      await carol.handlers['console:main:setup']({ storeUrl: store.url, token: carolToken, key: { kind: 'pkcs11', modulePath: '/fake/module.so', tokenLabel: 'bg-test', keyLabel: 'carol', mode: 'generate' } });
      const enrolled = await store.call('POST', '/v1/admin/approvers/carol/keys', { token: store.adminToken, body: { publicKeyPem: pair.publicKeyPem, hardwareBacked: true } });
      assert.equal(enrolled.status, 201, enrolled.text);
      const first = await fileRequest(store, alice, { gate: 'ci-tests', severity: 'sev3', scope: { repo: 'first-repo', branch: 'main' } });
      const second = await fileRequest(store, alice, { gate: 'perf-suite', severity: 'sev3', scope: { repo: 'second-repo', branch: 'main' } });
      const [a, b] = await Promise.all([
        carol.handlers['console:main:approve']({ id: first.id, digest: first.digest, ttl: '15m', comment: 'first' }),
        carol.handlers['console:main:deny']({ id: second.id, digest: second.digest, comment: 'second, denied' }),
      ]);
      assert.equal(a.request.state, 'active');
      assert.equal(b.request.state, 'denied');
      assert.equal(signed.length, 2);
      for (const { purpose, requestId } of signed) assert.ok(purpose.includes(requestId), `the prompt said "${purpose}" for the signature on ${requestId}`);
      assert.deepEqual(signed.map((s) => s.purpose).sort(), [`approve ${first.id} (ci-tests, branch=main,repo=first-repo)`, `deny ${second.id} (perf-suite, branch=main,repo=second-repo)`].sort());
    } finally {
      await carol.stop();
      await rm(carolDir, { recursive: true, force: true });
    }
  });

  test('CI traffic under a bypass (evaluations every 20 ms) does not hold back a new request\'s notification', { timeout: 20_000 }, async () => {
    const request = await fileRequest(store, alice, { gate: 'ci-tests', severity: 'sev3', scope: { repo: 'busy-repo', branch: 'main' } });
    const approved = await service.handlers['console:main:approve']({ id: request.id, digest: request.digest, ttl: '1h', comment: 'busy repo, reviewed' });
    assert.equal(approved.request.state, 'active');
    let checks = 0;
    let loadRunning = true;
    const load = (async () => {
      const deadline = Date.now() + 10_000;
      while (loadRunning && Date.now() < deadline) {
        const check = await store.call('POST', '/v1/checks', { token: gate, body: { gate: 'ci-tests', subject: { repo: 'busy-repo', branch: 'main' } } });
        assert.equal(check.json.verdict, 'warn');
        checks++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await waitFor(async () => checks >= 10, 5000);
      const urgent = await fileRequest(store, alice, { gate: 'deploy-freeze', severity: 'sev1', incidentRef: 'INC-20' });
      await waitFor(async () => notifications.find((n) => n.requestId === urgent.id), 5000);
      assert.ok(loadRunning, 'notified while the evaluations were still streaming');
    } finally {
      loadRunning = false;
      await load;
    }
  });

  test('a restarted console is still set up (token from the keychain), resumes the event stream where it stopped and catches up', async () => {
    await service.stop();
    const profile = JSON.parse(await readFile(join(dataDir, 'console.json'), 'utf8')) as { lastEventId: string | null; storeUrl: string };
    assert.ok(profile.lastEventId !== null && Number(profile.lastEventId) > 0, 'the resume point is persisted');
    assert.equal(profile.storeUrl, store.url);
    const missed = await fileRequest(store, alice, { gate: 'deploy-freeze', severity: 'sev1', incidentRef: 'INC-11' });
    await startService();
    const session = await service.handlers['console:main:get-session']({});
    assert.equal(session.configured, true);
    assert.equal(session.principal, 'bob');
    await waitFor(async () => notifications.find((n) => n.requestId === missed.id), 5000);
    const before = notifications.length;
    await service.refreshInbox();
    assert.equal(notifications.length, before, 'nothing notified twice after the restart');
  });

  test('with the store stopped: offline since is reported, the ledger, request history and reviews stay readable, actions fail clearly', async () => {
    const inbox = await service.handlers['console:main:list-inbox']({});
    const seen = inbox.items[0]!.request.id;
    await service.handlers['console:main:get-request']({ id: seen });
    await service.handlers['console:main:list-reviews']({});
    // Not awaited: the store's close() waits for open event streams (ours) to end; it stops
    // listening at once, which is what "the store is down" means to the console.
    storeClosing = store.store.close();
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(service.handlers['console:main:list-inbox']({}), (e: Error & { code?: string }) => e.code === 'store_unreachable');
    const session = await service.handlers['console:main:get-session']({});
    assert.equal(session.connection.online, false);
    assert.ok(session.connection.offlineSince);
    assert.ok(events.some((e) => e.event === 'console:renderer:connection-changed' && (e.payload as { online: boolean }).online === false));
    const ledger = await service.handlers['console:main:query-ledger']({ offset: 0, limit: 50 });
    assert.ok(ledger.total > 0);
    const page = await service.handlers['console:main:get-request']({ id: seen });
    assert.equal(page.data.source, 'mirror');
    assert.equal(page.canApprove.allowed, false);
    assert.match(page.canApprove.reason ?? '', /store is unreachable/);
    assert.equal(page.history.requester?.name, 'alice');
    const reviews = await service.handlers['console:main:list-reviews']({});
    assert.equal(reviews.data.source, 'mirror');
    // The copy is the first page; the pages after it need the store.
    assert.equal(reviews.reviews.length, REVIEW_PAGE_SIZE);
    assert.equal(reviews.nextCursor, null);
    // The requests list keeps no copy (it never did): it needs the store, and says so.
    await assert.rejects(service.handlers['console:main:list-requests']({}), (e: Error & { code?: string }) => e.code === 'store_unreachable');
    await assert.rejects(service.handlers['console:main:deny']({ id: seen, digest: page.request.digest, comment: 'no longer needed' }), (e: Error & { code?: string }) => e.code === 'store_unreachable');
  });
});
