import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_CSP, createAppProtocolHandler } from '../../../../electron/main/app-protocol';

let dir: string;
let handler: (request: Request) => Promise<Response>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bg-proto-'));
  await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
  await mkdir(join(dir, 'pin'), { recursive: true });
  await writeFile(join(dir, 'dist', 'index.html'), '<title>app</title>');
  await writeFile(join(dir, 'dist', 'assets', 'a.js'), 'x=1');
  await writeFile(join(dir, 'pin', 'pin-prompt.html'), '<title>pin</title>');
  await writeFile(join(dir, 'secret'), 'secret');
  handler = createAppProtocolHandler({ console: join(dir, 'dist'), pin: join(dir, 'pin') });
});
after(() => rm(dir, { recursive: true, force: true }));

test('serves the renderer build on app://console with the CSP; app routes get index.html', async () => {
  const index = await handler(new Request('app://console/'));
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-security-policy'), APP_CSP);
  assert.equal(await index.text(), '<title>app</title>');
  const route = await handler(new Request('app://console/requests/req_0123456789abcdef'));
  assert.equal(await route.text(), '<title>app</title>');
  const asset = await handler(new Request('app://console/assets/a.js'));
  assert.match(asset.headers.get('content-type') ?? '', /javascript/);
  assert.equal((await handler(new Request('app://console/assets/missing.js'))).status, 404);
});

test('the PIN page has its own origin; unknown hosts and path traversal get 404', async () => {
  assert.equal(await (await handler(new Request('app://pin/pin-prompt.html'))).text(), '<title>pin</title>');
  assert.equal((await handler(new Request('app://pin/../dist/index.html'))).status, 404);
  assert.equal((await handler(new Request('app://evil/'))).status, 404);
  const traversal = await handler(new Request('app://console/..%2f..%2fsecret'));
  assert.equal(traversal.status, 404);
  assert.notEqual(await traversal.text(), 'secret');
  assert.equal((await handler(new Request('app://console/', { method: 'POST', body: 'x' }))).status, 404);
});
