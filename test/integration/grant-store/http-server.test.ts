import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { initDataDir } from '../../../grant-store/admin/init';
import { startGrantStore } from '../../../grant-store/http/server';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { sseFrames } from '../../support/sse-frames';
import { fileRequest } from './workflow-helpers';

describe('grant store server', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-server-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('admin init writes a policy, a 0600 Ed25519 log key and an admin token; refuses to run twice without force', async () => {
    const dataDir = join(dir, 'init');
    const { adminToken, policyPath, logKeyPath } = await initDataDir(dataDir, { adminPrincipal: 'root' });
    assert.match(adminToken, /^bgt_/);
    assert.match(await readFile(policyPath, 'utf8'), /^# Breakglass policy/);
    assert.equal((await stat(logKeyPath)).mode & 0o777, 0o600);
    assert.equal(createPrivateKey(await readFile(logKeyPath)).asymmetricKeyType, 'ed25519');
    await assert.rejects(initDataDir(dataDir), /already initialized/);
    const keyBefore = await readFile(logKeyPath, 'utf8');
    const again = await initDataDir(dataDir, { force: true });
    assert.notEqual(again.adminToken, adminToken);
    assert.equal(await readFile(logKeyPath, 'utf8'), keyBefore, 'force never replaces the log key');

    const running = await startGrantStore({ dataDir, port: 0 });
    try {
      const who = await fetch(`${running.url}/v1/whoami`, { headers: { authorization: `Bearer ${adminToken}` } });
      assert.equal(who.status, 200);
      assert.equal(((await who.json()) as { principal: string }).principal, 'root');
    } finally {
      await running.close();
    }
  });

  test('refuses a non-loopback address without TLS, and half a TLS config', async () => {
    const dataDir = join(dir, 'init');
    await assert.rejects(startGrantStore({ dataDir, host: '0.0.0.0', port: 0 }), /refusing to listen on 0\.0\.0\.0 without TLS/);
    await assert.rejects(startGrantStore({ dataDir, host: '192.168.1.10', port: 0 }), /without TLS/);
    await assert.rejects(startGrantStore({ dataDir, port: 0, tlsCertPath: '/nope.pem' }), /both a certificate and a key/);
  });

  test('serves HTTPS when given a certificate and key', async () => {
    const dataDir = join(dir, 'tls');
    const { adminToken } = await initDataDir(dataDir);
    const certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const running = await startGrantStore({ dataDir, port: 0, tlsCertPath: certPath, tlsKeyPath: keyPath });
    try {
      assert.match(running.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await readFile(certPath);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${running.url}/v1/whoami`, { ca, headers: { authorization: `Bearer ${adminToken}` } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(JSON.parse(body).principal, 'admin');
    } finally {
      await running.close();
    }
  });

  test('a restart keeps everything and does not re-record an unchanged policy', async () => {
    const dataDir = join(dir, 'restart');
    const { adminToken } = await initDataDir(dataDir);
    const first = await startGrantStore({ dataDir, port: 0 });
    const auth = { authorization: `Bearer ${adminToken}` };
    const size1 = ((await (await fetch(`${first.url}/v1/ledger/entries`, { headers: auth })).json()) as { treeSize: number }).treeSize;
    await first.close();
    const second = await startGrantStore({ dataDir, port: 0 });
    try {
      const size2 = ((await (await fetch(`${second.url}/v1/ledger/entries`, { headers: auth })).json()) as { treeSize: number }).treeSize;
      assert.equal(size2, size1);
    } finally {
      await second.close();
    }
  });
});

describe('policy reload over HTTP', () => {
  let f: StoreFixture;
  before(async () => {
    f = await startStoreFixture();
  });
  after(() => f?.close());

  test('a broken file is refused with line and field; the last good policy stays; a good edit is recorded', async () => {
    const policyPath = join(f.dataDir, 'policy.yaml');
    const good = await readFile(policyPath, 'utf8');
    const before = await f.call('GET', '/v1/policy', { token: f.adminToken });
    const size = await f.ledgerSize();
    await writeFile(policyPath, good.replace('maxTtl: 4h\n', 'maxTtl: 4 hours\n'));
    const line = good.split('\n').findIndex((l) => l.includes('maxTtl: 4h')) + 1;
    const r = await f.call('POST', '/v1/admin/policy/reload', { token: f.adminToken, body: {} });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, new RegExp(`policy.yaml:${line}:\\d+: tiers.high.maxTtl`));
    assert.deepEqual([...new Set(r.json.error.fieldErrors.map((e: { path: string }) => e.path))], ['tiers.high.maxTtl']);
    const still = await f.call('GET', '/v1/policy', { token: f.adminToken });
    assert.equal(still.json.hash, before.json.hash);
    assert.equal(await f.ledgerSize(), size);
    await writeFile(policyPath, good.replace('bypassBudget: 6', 'bypassBudget: 8'));
    const ok = await f.call('POST', '/v1/admin/policy/reload', { token: f.adminToken, body: {} });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.changed, true);
    const entries = await f.call('GET', `/v1/ledger/entries?from=${size}`, { token: f.adminToken });
    assert.equal(entries.json.entries[0].type, 'policy_loaded');
    assert.equal(entries.json.entries[0].target, ok.json.hash);
    assert.equal(entries.json.entries[0].actor, 'admin');
  });
});

describe('event stream', () => {
  let f: StoreFixture;
  before(async () => {
    f = await startStoreFixture();
  });
  after(() => f?.close());

  /** Read SSE events until `count` arrive (or time out). */
  async function readEvents(token: string, count: number, headers: Record<string, string> = {}, timeoutMs = 3000): Promise<{ id: number; entry: { type: string; target: string } }[]> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const res = await fetch(`${f.url}/v1/events`, { headers: { authorization: `Bearer ${token}`, ...headers }, signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const out: { id: number; entry: { type: string; target: string } }[] = [];
    try {
      for await (const block of sseFrames(res.body as unknown as AsyncIterable<Uint8Array>)) {
        const id = /^id: (\d+)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id && data) out.push({ id: Number(id), entry: JSON.parse(data) });
        if (out.length >= count) break;
      }
    } catch (error) {
      if ((error as Error).name !== 'AbortError') throw error;
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    return out;
  }

  test('live events, resume with Last-Event-ID, and filtering by what the caller may see', async () => {
    const alice = await f.token('alice', ['requester']);
    const dave = await f.token('dave', ['requester']);
    const live = readEvents(alice, 1, {}, 3000);
    await new Promise((r) => setTimeout(r, 150));
    const mine = await fileRequest(f, alice);
    const got = await live;
    assert.equal(got[0]?.entry.type, 'request_created');
    assert.equal(got[0]?.entry.target, mine.id);

    const theirs = await fileRequest(f, dave, { scope: { repo: 'dave', branch: 'main' } });
    const all = await readEvents(f.adminToken, 100, { 'last-event-id': '-1' }, 800);
    assert.deepEqual(all.map((e) => e.id), all.map((_, i) => i), 'admins replay everything, in seq order, without gaps');
    assert.ok(all.some((e) => e.entry.target === theirs.id));

    const aliceReplay = await readEvents(alice, 100, { 'last-event-id': '-1' }, 800);
    assert.ok(aliceReplay.some((e) => e.entry.target === mine.id));
    assert.ok(!aliceReplay.some((e) => e.entry.target === theirs.id), 'alice does not see dave\'s request');
    assert.ok(aliceReplay.some((e) => e.entry.type === 'principal_enrolled' && e.entry.target === 'alice'), 'alice sees her own enrollment');
    assert.ok(!aliceReplay.some((e) => e.entry.type === 'principal_enrolled' && e.entry.target === 'dave'));

    const lastSeq = all.at(-1)!.id;
    const resumed = await readEvents(f.adminToken, 100, { 'last-event-id': String(lastSeq - 1) }, 800);
    assert.deepEqual(resumed.map((e) => e.id), [lastSeq]);

    // Approvers see the requests of tiers they approve for: erin approves high/critical only.
    const erinToken = await f.token('erin', ['approver']);
    const erinReplay = await readEvents(erinToken, 100, { 'last-event-id': '-1' }, 800);
    assert.ok(!erinReplay.some((e) => e.entry.target === mine.id), 'erin does not see a low-tier request');
    const bobToken = await f.token('bob', ['approver']);
    const bobReplay = await readEvents(bobToken, 100, { 'last-event-id': '-1' }, 800);
    assert.ok(bobReplay.some((e) => e.entry.target === mine.id) && bobReplay.some((e) => e.entry.target === theirs.id), 'bob (oncall-leads) sees both');

    // A subscriber chooses entry types: replay and live, only those (or all but the excluded ones).
    const onlyCreated = await readEvents(f.adminToken, 100, { 'last-event-id': '-1' }, 800);
    const createdSeqs = onlyCreated.filter((e) => e.entry.type === 'request_created').map((e) => e.id);
    const typed = await (async () => {
      const controller = new AbortController();
      const url = `${f.url}/v1/events?lastEventId=-1&types=request_created`;
      const res = await fetch(url, { headers: { authorization: `Bearer ${f.adminToken}` }, signal: controller.signal });
      const out: number[] = [];
      const timer = setTimeout(() => controller.abort(), 800);
      try {
        for await (const block of sseFrames(res.body as unknown as AsyncIterable<Uint8Array>)) {
          const id = /^id: (\d+)$/m.exec(block)?.[1];
          if (id) out.push(Number(id));
        }
      } catch (error) {
        if ((error as Error).name !== 'AbortError') throw error;
      } finally {
        clearTimeout(timer);
      }
      return out;
    })();
    assert.deepEqual(typed, createdSeqs);
    const excluded = await fetch(`${f.url}/v1/events?types=request_created,no_such_type`, { headers: { authorization: `Bearer ${f.adminToken}` } });
    assert.equal(excluded.status, 400);
    assert.match(JSON.stringify(await excluded.json()), /no_such_type/);
    const live2 = (async () => {
      const controller = new AbortController();
      const res = await fetch(`${f.url}/v1/events?excludeTypes=request_created`, { headers: { authorization: `Bearer ${f.adminToken}` }, signal: controller.signal });
      const types: string[] = [];
      const timer = setTimeout(() => controller.abort(), 1500);
      try {
        for await (const block of sseFrames(res.body as unknown as AsyncIterable<Uint8Array>)) {
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data) types.push((JSON.parse(data) as { type: string }).type);
        }
      } catch (error) {
        if ((error as Error).name !== 'AbortError') throw error;
      } finally {
        clearTimeout(timer);
      }
      return types;
    })();
    await new Promise((r) => setTimeout(r, 200));
    await fileRequest(f, alice, { scope: { repo: 'typed-filter', branch: 'main' } });
    const liveTypes = await live2;
    assert.ok(!liveTypes.includes('request_created'), JSON.stringify(liveTypes));
  });

  test('a Last-Event-ID past the ledger, or not a seq, is a 400 naming it, not a stream that never delivers', async () => {
    const size = await f.ledgerSize();
    const ask = (headers: Record<string, string>, query = '') => fetch(`${f.url}/v1/events${query}`, { headers: { authorization: `Bearer ${f.adminToken}`, ...headers }, signal: AbortSignal.timeout(3000) });
    for (const bad of [String(size), String(size + 1), '99999999999999999999', '1e3', '-2', 'abc', '']) {
      const res = await ask({ 'last-event-id': bad });
      assert.equal(res.status, 400, `Last-Event-ID ${JSON.stringify(bad)}`);
      const body = (await res.json()) as { error: { code: string; fieldErrors: { path: string }[] } };
      assert.equal(body.error.code, 'invalid_input');
      assert.deepEqual(body.error.fieldErrors.map((e) => e.path), ['Last-Event-ID'], bad);
    }
    const viaQuery = await ask({}, `?lastEventId=${size}`);
    assert.equal(viaQuery.status, 400);
    assert.deepEqual(((await viaQuery.json()) as { error: { fieldErrors: { path: string }[] } }).error.fieldErrors.map((e) => e.path), ['lastEventId']);
    // The last entry itself is a fine resume point: the stream opens and waits for the next one.
    const atEnd = await ask({ 'last-event-id': String(size - 1) });
    assert.equal(atEnd.status, 200);
    await atEnd.body?.cancel();
  });
});

describe('event stream shutdown', () => {
  test('closing the store ends open streams instead of hanging', async () => {
    const f = await startStoreFixture();
    const res = await fetch(`${f.url}/v1/events`, { headers: { authorization: `Bearer ${f.adminToken}` } });
    const reader = res.body!.getReader();
    await reader.read();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([f.close(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('close hung with an open stream')), 5000)))]);
    clearTimeout(timer);
    assert.equal((await reader.read()).done, true);
  });
});

describe('answers while the store is closing', () => {
  test('a request arriving on an open connection during shutdown gets 503 in the documented error envelope', async () => {
    const f = await startStoreFixture();
    const { port, hostname } = new URL(f.url);
    const socket = connect(Number(port), hostname);
    let data = '';
    const seen = (text: string) => new Promise<void>((resolve) => {
      const check = () => (data.includes(text) ? resolve() : socket.once('data', check));
      check();
    });
    socket.on('data', (chunk) => (data += chunk.toString()));
    const ended = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => socket.once('connect', resolve));
    // A request in progress (body not sent yet) keeps the connection busy while the store closes.
    const body = '{"gate":"ci-tests"}';
    socket.write(`POST /v1/requests HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${f.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await seen('100 Continue');
    const closing = f.close();
    // The listener stops once the close hooks ran: from then on the store is closing.
    for (;;) {
      const refused = await new Promise<boolean>((resolve) => {
        const probe = connect(Number(port), hostname);
        probe.once('connect', () => (probe.destroy(), resolve(false)));
        probe.once('error', () => resolve(true));
      });
      if (refused) break;
    }
    socket.write(`${body}GET /v1/whoami HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${f.adminToken}\r\n\r\n`);
    await ended;
    await closing;
    const second = data.slice(data.lastIndexOf('HTTP/1.1 '));
    assert.match(second, /^HTTP\/1\.1 503 /);
    assert.match(second, /content-type: application\/json/i);
    const envelope = JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
    assert.equal(envelope.error.code, 'unavailable');
    assert.match(envelope.error.message, /shutting down/);
  });
});
