import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BROWSER_HOST_TOKEN_HEADER } from '../../../../shared/ipc/contract';
import { startConsoleBrowserHost, type RunningConsoleBrowserHost } from '../../../../electron/browser-host/start';
import { startTestKeyring, type TestKeyring } from '../../../support/keyring';
import { createSoftHsmToken, type TestToken } from '../../../support/softhsm';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { sseFrames } from '../../../support/sse-frames';
import { fileRequest, waitFor } from '../../grant-store/workflow-helpers';

// The browser host with the real console core, a real gnome-keyring (private D-Bus), a real
// SoftHSM2 token and a real grant store: the PIN travels only through the host's static PIN page
// endpoints, never through /ipc.

let keyring: TestKeyring;
let token: TestToken;
let store: StoreFixture;
let host: RunningConsoleBrowserHost;
let consoleDir: string;
const events: Array<{ event: string; data: { promptId?: string; url?: string; purpose?: string } }> = [];
let stream: AbortController;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type IpcJson = { ok: boolean; value?: any; error?: { code: string; message: string } };

async function ipc(channel: string, body: unknown): Promise<{ status: number; json: IpcJson }> {
  const res = await fetch(`${host.url}/ipc/${channel}`, { method: 'POST', headers: { 'content-type': 'application/json', [BROWSER_HOST_TOKEN_HEADER]: host.token }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as IpcJson };
}

/** Answer the next PIN prompt the way the static page does (same origin, straight to the host). */
async function answerNextPinPrompt(answer: { pin: string } | { cancel: true }, seen: number, previousError: RegExp | null = null): Promise<string> {
  const { value: prompt } = await waitFor(async () => events.filter((e) => e.event === 'console:renderer:pin-required')[seen], 10_000);
  const page = await fetch(`${host.url}${prompt.data.url}`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Hardware key PIN/);
  // The shared page links its assets relatively: the host answers them with the shared CSS and its own fetch transport.
  const style = await fetch(new URL('pin-prompt.css', `${host.url}${prompt.data.url}`));
  assert.equal(style.status, 200);
  assert.match(style.headers.get('content-type') ?? '', /text\/css/);
  const script = await fetch(new URL('pin-prompt.js', `${host.url}${prompt.data.url}`));
  assert.equal(script.status, 200);
  assert.match(await script.text(), /fetch\(promptUrl/);
  const context = (await (await fetch(`${host.url}${prompt.data.url}/context`)).json()) as { tokenLabel: string; previousError: string | null };
  assert.equal(context.tokenLabel, token.label);
  if (previousError) assert.match(context.previousError ?? '', previousError);
  else assert.equal(context.previousError, null);
  const posted = await fetch(`${host.url}${prompt.data.url}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: host.url }, body: JSON.stringify(answer) });
  assert.equal(posted.status, 200);
  return String(prompt.data.purpose);
}

before(async () => {
  keyring = await startTestKeyring();
  Object.assign(process.env, keyring.env);
  token = await createSoftHsmToken({ label: 'bg-console' });
  process.env.SOFTHSM2_CONF = token.confPath;
  store = await startStoreFixture();
  consoleDir = await mkdtemp(join(tmpdir(), 'bg-host-hw-'));
  host = await startConsoleBrowserHost({ dataDir: consoleDir, port: 0, rendererDir: consoleDir });
  stream = new AbortController();
  const res = await fetch(`${host.url}/ipc/events`, { headers: { [BROWSER_HOST_TOKEN_HEADER]: host.token }, signal: stream.signal });
  void (async () => {
    try {
      for await (const frame of sseFrames(res.body as unknown as AsyncIterable<Uint8Array>)) {
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    } catch {
      // aborted at the end of the test
    }
  })();
});

after(async () => {
  stream?.abort();
  await host?.close();
  await store?.close();
  await token?.cleanup();
  await keyring?.stop();
  await rm(consoleDir, { recursive: true, force: true });
});

test('setup generates the key on the token (PIN through the host page), the token goes to the keychain, approvals sign on the token', async () => {
  const bob = await store.token('bob', ['approver']);
  const alice = await store.token('alice', ['requester']);
  const gate = await store.token('ci-gate', ['gate']);

  const setupCall = ipc('console:main:setup', { storeUrl: store.url, token: bob, key: { kind: 'pkcs11', modulePath: token.modulePath, tokenLabel: token.label, keyLabel: 'bob-approvals', mode: 'generate' } });
  await answerNextPinPrompt({ pin: token.userPin }, 0);
  const setup = await setupCall;
  assert.equal(setup.status, 200, JSON.stringify(setup.json));
  const session = setup.json.value;
  assert.equal(session.keychain.available, true);
  assert.equal(session.key.kind, 'pkcs11');
  assert.equal(session.key.hardwareBacked, true);
  assert.ok(events.some((e) => e.event === 'console:renderer:pin-settled'));
  assert.ok(!JSON.stringify(events).includes(token.userPin), 'the PIN never appears in a renderer event');

  const enrolled = await store.call('POST', '/v1/admin/approvers/bob/keys', { token: store.adminToken, body: { publicKeyPem: session.key.publicKeyPem, hardwareBacked: true } });
  assert.equal(enrolled.status, 201, enrolled.text);

  const request = await fileRequest(store, alice, { gate: 'ci-tests', severity: 'sev3', scope: { repo: 'hsm-app', branch: 'main' } });
  // Cancelling signs nothing.
  const cancelled = ipc('console:main:approve', { id: request.id, digest: request.digest, ttl: '15m', comment: 'checked' });
  await answerNextPinPrompt({ cancel: true }, 1);
  assert.match((await cancelled).json.error!.message, /cancelled/);

  // A wrong PIN is asked again in place, saying why and the tries left; the same approval then goes through.
  const approve = ipc('console:main:approve', { id: request.id, digest: request.digest, ttl: '15m', comment: 'checked, signed on the token' });
  await answerNextPinPrompt({ pin: '000000' }, 2);
  const purpose = await answerNextPinPrompt({ pin: token.userPin }, 3, /^Wrong PIN\. Few tries left before the PIN locks\.$/);
  assert.match(purpose, new RegExp(`approve ${request.id}`));
  const approved = await approve;
  assert.equal(approved.json.ok, true, JSON.stringify(approved.json));
  assert.equal(approved.json.value.request.state, 'active');
  assert.equal(approved.json.value.request.approvals[0].hardwareBacked, true);
  const check = await store.call('POST', '/v1/checks', { token: gate, body: { gate: 'ci-tests', subject: { repo: 'hsm-app', branch: 'main' } } });
  assert.equal(check.json.verdict, 'warn');
  // A prompt id works once.
  const used = events.filter((e) => e.event === 'console:renderer:pin-required')[3]!;
  const again = await fetch(`${host.url}${used.data.url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pin: token.userPin }) });
  assert.equal(again.status, 404);
});

test('Settings changes the key without signing out: to a software key and back to the token key (selected by label)', async () => {
  const before = (await ipc('console:main:get-session', {})).json.value;
  const software = await ipc('console:main:change-key', { key: { kind: 'software' } });
  assert.equal(software.json.ok, true, JSON.stringify(software.json));
  assert.equal(software.json.value.configured, true, 'still signed in');
  assert.equal(software.json.value.principal, 'bob');
  assert.equal(software.json.value.key.kind, 'software');
  assert.equal(software.json.value.key.enrolled, false, 'a new key waits for enrollment');
  assert.match(software.json.value.key.enrollCommand, /--principal bob/);

  // Back to the token's key, selected by label (reading a public key needs no PIN): it is enrolled already.
  const prompts = events.filter((e) => e.event === 'console:renderer:pin-required').length;
  const changed = await ipc('console:main:change-key', { key: { kind: 'pkcs11', modulePath: token.modulePath, tokenLabel: token.label, keyLabel: 'bob-approvals', mode: 'select' } });
  assert.equal(events.filter((e) => e.event === 'console:renderer:pin-required').length, prompts, 'no PIN to select a key');
  assert.equal(changed.json.ok, true, JSON.stringify(changed.json));
  assert.equal(changed.json.value.key.kind, 'pkcs11');
  assert.equal(changed.json.value.key.keyId, before.key.keyId);
  assert.equal(changed.json.value.key.enrolled, true);
  // The session (token, event stream) was never dropped: the store still answers as bob.
  assert.equal((await ipc('console:main:list-inbox', {})).json.ok, true);
});
