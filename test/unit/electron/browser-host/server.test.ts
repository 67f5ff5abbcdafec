import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BROWSER_HOST_TOKEN_HEADER } from '../../../../shared/ipc/contract';
import { CredentialVault } from '../../../../electron/core/vault/credential-vault';
import type { SecretBackend } from '../../../../electron/core/vault/secret-backend';
import { startConsoleBrowserHost, type RunningConsoleBrowserHost } from '../../../../electron/browser-host/start';
import { BROWSER_HOST_CSP } from '../../../../electron/browser-host/security';

/** In-process stand-in for the OS keychain (the real one is exercised in the e2e run). */
function memoryBackend(): SecretBackend {
  const secrets = new Map<string, string>();
  return {
    getPassword: async (s, a) => secrets.get(`${s}/${a}`) ?? null,
    setPassword: async (s, a, p) => void secrets.set(`${s}/${a}`, p),
    deletePassword: async (s, a) => secrets.delete(`${s}/${a}`),
  };
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http so tests can send any Host / Origin header (fetch forbids setting Host). */
function raw(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

describe('browser host', () => {
  let dir: string;
  let host: RunningConsoleBrowserHost;
  let rendererDir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-host-'));
    rendererDir = join(dir, 'dist');
    await mkdir(join(rendererDir, 'assets'), { recursive: true });
    await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>console</title><script type="module" src="/assets/app.js"></script>');
    await writeFile(join(rendererDir, 'assets', 'app.js'), 'console.log("app")');
    await writeFile(join(dir, 'secret.txt'), 'outside the renderer dir');
    const backend = memoryBackend();
    host = await startConsoleBrowserHost({ dataDir: join(dir, 'data'), rendererDir, port: 0, openVault: () => CredentialVault.open({ backend }) });
  });

  after(async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ipc = (channel: string, body: unknown, headers: Record<string, string> = {}) =>
    raw(host.port, `/ipc/${channel}`, {
      method: 'POST',
      headers: { host: `127.0.0.1:${host.port}`, 'content-type': 'application/json', [BROWSER_HOST_TOKEN_HEADER]: host.token, ...headers },
      body: JSON.stringify(body),
    });

  test('listens on 127.0.0.1 only and hands the token over in the URL fragment', () => {
    assert.match(host.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(host.openUrl, `${host.url}/#token=${host.token}`);
    assert.match(host.token, /^[0-9a-f]{64}$/);
  });

  test('answers a contract call with the token', async () => {
    const res = await ipc('console:main:get-session', {});
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body);
    assert.equal(body.ok, true);
    assert.equal(body.value.configured, false);
    assert.equal(body.value.host, 'browser');
    assert.equal(body.value.keychain.available, true);
  });

  test('refuses /ipc without the token or with a wrong one', async () => {
    const none = await raw(host.port, '/ipc/console:main:get-session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.body).error.code, 'unauthenticated');
    const wrong = await ipc('console:main:get-session', {}, { [BROWSER_HOST_TOKEN_HEADER]: 'f'.repeat(64) });
    assert.equal(wrong.status, 401);
    const events = await raw(host.port, '/ipc/events');
    assert.equal(events.status, 401);
  });

  test('refuses a foreign Host header (DNS rebinding) even with the token', async () => {
    const res = await ipc('console:main:get-session', {}, { host: `evil.example:${host.port}` });
    assert.equal(res.status, 421);
    const page = await raw(host.port, '/', { headers: { host: 'evil.example' } });
    assert.equal(page.status, 421);
    const ok = await ipc('console:main:get-session', {}, { host: `localhost:${host.port}` });
    assert.equal(ok.status, 200);
  });

  test('refuses a foreign Origin', async () => {
    const evil = await ipc('console:main:get-session', {}, { origin: 'http://evil.example' });
    assert.equal(evil.status, 403);
    const otherPort = await ipc('console:main:get-session', {}, { origin: `http://127.0.0.1:${host.port + 1}` });
    assert.equal(otherPort.status, 403);
    const same = await ipc('console:main:get-session', {}, { origin: `http://127.0.0.1:${host.port}` });
    assert.equal(same.status, 200);
  });

  test('parses every input with the contract: field paths on bad input, unknown channels 404', async () => {
    const bad = await ipc('console:main:pause-notifications', { minutes: 'soon' });
    assert.equal(bad.status, 400);
    const body = JSON.parse(bad.body);
    assert.equal(body.ok, false);
    assert.equal(body.error.code, 'invalid_input');
    assert.equal(body.error.fieldErrors[0].path, 'minutes');
    const extra = await ipc('console:main:get-settings', { sneaky: true });
    assert.equal(extra.status, 400);
    const unknown = await ipc('console:main:run-shell', {});
    assert.equal(unknown.status, 404);
    const notJson = await raw(host.port, '/ipc/console:main:get-settings', {
      method: 'POST',
      headers: { 'content-type': 'application/json', [BROWSER_HOST_TOKEN_HEADER]: host.token },
      body: '{not json',
    });
    assert.equal(notJson.status, 400);
    const wrongType = await raw(host.port, '/ipc/console:main:get-settings', { method: 'POST', headers: { 'content-type': 'text/plain', [BROWSER_HOST_TOKEN_HEADER]: host.token }, body: '{}' });
    assert.equal(wrongType.status, 415);
    // A channel name whose percent-encoding is not UTF-8: a 400 naming it, not a 500.
    for (const badChannel of ['%E0%A4%A', '%ff%fe', '%']) {
      const badEncoding = await ipc(badChannel, {});
      assert.equal(badEncoding.status, 400, badChannel);
      const refused = JSON.parse(badEncoding.body);
      assert.equal(refused.error.code, 'invalid_input');
      assert.deepEqual(refused.error.fieldErrors.map((e: { path: string }) => e.path), ['channel']);
    }
    const badRendererPath = await raw(host.port, '/assets/%E0%A4%A');
    assert.equal(badRendererPath.status, 400);
    const settings = await ipc('console:main:pause-notifications', { minutes: 60 });
    assert.equal(settings.status, 200);
    assert.ok(JSON.parse(settings.body).value.pauseUntil);
  });

  test('serves the renderer with a strict CSP, app routes fall back to index.html, no path traversal', async () => {
    const index = await raw(host.port, '/');
    assert.equal(index.status, 200);
    assert.equal(index.headers['content-security-policy'], BROWSER_HOST_CSP);
    assert.doesNotMatch(BROWSER_HOST_CSP, /unsafe-inline|unsafe-eval/);
    assert.match(index.body, /<title>console<\/title>/);
    const route = await raw(host.port, '/requests/req_0123456789abcdef');
    assert.match(route.body, /<title>console<\/title>/);
    const asset = await raw(host.port, '/assets/app.js');
    assert.match(String(asset.headers['content-type']), /javascript/);
    const traversal = await raw(host.port, '/..%2fsecret.txt');
    assert.equal(traversal.status, 404);
    assert.doesNotMatch(traversal.body, /outside/);
  });

  test('streams renderer events over SSE to a client with the token', async () => {
    const controller = new AbortController();
    const res = await fetch(`${host.url}/ipc/events`, { headers: { [BROWSER_HOST_TOKEN_HEADER]: host.token }, signal: controller.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    host.service.events.emit('console:renderer:open-request', { id: 'req_0123456789abcdef' });
    let text = '';
    while (!text.includes('open-request')) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /event: console:renderer:open-request\ndata: \{"id":"req_0123456789abcdef"\}/);
    controller.abort();
  });
});
