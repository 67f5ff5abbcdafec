// `breakglass login`, `logout` and `context` as a person runs them (the real CLI as a child
// process) against a real store and the real test IdP: device code and browser (PKCE loopback)
// sign-in, contexts in config.yaml choosing the store, the session kept in a 0600 file (said
// plainly) or in a real OS keychain, renewal from the IdP when the store refuses an expired
// session, sign-out on both sides.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { identityStorePolicy } from '../../support/identity-store-policy';
import { startTestKeyring, type TestKeyring } from '../../support/keyring';
import { startOidcProvider, type OidcProviderHarness } from '../../support/oidc-provider';
import { BIN, ROOT, runCli, type CliResult } from './cli-harness';

const MINUTE = 60_000;
let idp: OidcProviderHarness;
let f: StoreFixture;
let home: string;

before(async () => {
  // ID tokens live 3 h and the store takes ones up to 2 h old, so the store's clock can be moved
  // past a session's end and a renewed session still be issued.
  idp = await startOidcProvider({ users: [{ login: 'alice', groups: ['eng-payments'] }, { login: 'bob', groups: ['platform-leads', 'eng-platform'] }], deviceIntervalSeconds: 1, idTokenTtlSeconds: 3 * 3600 });
  f = await startStoreFixture({ policyYaml: identityStorePolicy(idp, { maxIdTokenAge: '2h' }) });
  home = await mkdtemp(join(tmpdir(), 'bg-login-'));
});
after(async () => {
  await f?.close();
  await idp?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

function envFor(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'state'), BREAKGLASS_SESSION_STORE: 'file', ...extra };
}

/**
 * Run the CLI and act on what it prints on stderr as it prints it: `onLine` sees each line (the
 * device code, the sign-in URL) and may drive the IdP's pages as the person would.
 */
async function interactive(args: string[], env: Record<string, string>, onLine: (line: string) => Promise<void> | void): Promise<CliResult> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BREAKGLASS_') && !['DISPLAY', 'WAYLAND_DISPLAY', 'BROWSER'].includes(k)) clean[k] = v;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let pending = '';
  const actions: Promise<void>[] = [];
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    pending += c.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) actions.push(Promise.resolve(onLine(line)));
  });
  const [code] = (await once(child, 'close')) as [number | null];
  await Promise.all(actions);
  return { code: code ?? -1, stdout, stderr };
}

function ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

async function deviceLogin(env: Record<string, string>, login: string, args: string[] = []): Promise<CliResult> {
  return interactive(['login', '--device', ...args], env, async (line) => {
    const m = /open (\S+) and enter the code (\S+) /.exec(line);
    if (m) await idp.browser(login).approveDevice(m[1]!, m[2]!);
  });
}

describe('breakglass login / logout / context', () => {
  test('context set/use/list/current write config.yaml; a token context needs a token', async () => {
    const env = envFor(home);
    ok(await runCli(['context', 'set', 'dev', '--store', f.url, '--use'], env), 'context set');
    ok(await runCli(['context', 'set', 'ci', '--store', f.url, '--auth', 'token'], env), 'context set ci');
    const list = await runCli(['context', 'list'], env);
    ok(list, 'context list');
    assert.match(list.stdout, new RegExp(`^\\* dev +${f.url.replace(/\./g, '\\.')}  auth: login$`, 'm'));
    assert.match(list.stdout, /^ {2}ci +\S+ {2}auth: token$/m);
    const current = await runCli(['context', 'current', '--json'], { ...env, BREAKGLASS_CONTEXT: 'ci' });
    ok(current, 'context current');
    assert.equal(JSON.parse(current.stdout).name, 'ci');
    assert.equal(JSON.parse(current.stdout).source, 'BREAKGLASS_CONTEXT');
    const needsToken = await runCli(['whoami', '--use-context', 'ci'], env);
    assert.equal(needsToken.code, 2, needsToken.stderr);
    assert.match(needsToken.stderr, /context ci authenticates with a token/);
    const viaToken = await runCli(['whoami', '--use-context', 'ci', '--json'], { ...env, BREAKGLASS_TOKEN: f.adminToken });
    ok(viaToken, 'whoami with a token context');
    const unknown = await runCli(['context', 'use', 'prod'], env);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no context "prod" .*contexts: dev, ci/);
    const badStore = await runCli(['context', 'set', 'x', '--store', 'ftp://nope'], env);
    assert.equal(badStore.code, 2);
    assert.match(badStore.stderr, /--store: must be an http\(s\) URL/);
    const notSignedIn = await runCli(['whoami'], env);
    assert.equal(notSignedIn.code, 2, notSignedIn.stderr);
    assert.match(notSignedIn.stderr, /not signed in to .*run breakglass login/);
  });

  test('device code login: the store comes from the context, the session is kept in a 0600 file and said so; whoami uses it', async () => {
    const env = envFor(home);
    const r = await deviceLogin(env, 'alice');
    ok(r, 'login --device');
    assert.match(r.stderr, /enter the code \S+ \(valid \d+ min\)/);
    assert.match(r.stdout, new RegExp(`Signed in to ${f.url.replace(/\./g, '\\.')} as alice \\(device code\\)`));
    assert.match(r.stdout, /team: +payments/);
    assert.match(r.stdout, /kept: +in .*state\/breakglass\/sessions \(files of mode 0600\): no OS keychain here/);
    const files = await readdir(join(home, 'state', 'breakglass', 'sessions'));
    assert.equal(files.length, 1);
    assert.equal((await stat(join(home, 'state', 'breakglass', 'sessions', files[0]!))).mode & 0o777, 0o600);
    const who = await runCli(['whoami', '--json'], env);
    ok(who, 'whoami');
    assert.equal(JSON.parse(who.stdout).principal, 'alice');
    assert.equal(JSON.parse(who.stdout).team, 'payments');
  });

  test('the store refusing an expired session: the CLI renews it from the IdP and retries once', async () => {
    const env = envFor(home);
    const before = await f.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: f.adminToken });
    const started = () => before.json.entries.filter((e: { type: string }) => e.type === 'session_started').length;
    f.clock.advance(61 * MINUTE);
    try {
      const who = await runCli(['whoami', '--json'], env);
      ok(who, 'whoami after expiry');
      assert.equal(JSON.parse(who.stdout).principal, 'alice');
      const later = await f.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: f.adminToken });
      assert.equal(later.json.entries.filter((e: { type: string }) => e.type === 'session_started').length, started() + 1, 'a renewed session was started');
    } finally {
      f.clock.offsetMs = 0;
    }
  });

  test('browser login (PKCE, loopback) for another person replaces the saved sign-in; logout ends it on both sides', async () => {
    const env = envFor(home);
    const r = await interactive(['login', '--browser', '--no-open'], env, async (line) => {
      const m = /in your browser: (\S+)/.exec(line);
      if (m) assert.equal((await idp.browser('bob').open(m[1]!)).status, 200);
    });
    ok(r, 'login --browser');
    assert.match(r.stdout, /as bob \(browser\)/);
    assert.match(r.stdout, /approves: +leads/);
    const who = await runCli(['whoami', '--json'], env);
    assert.equal(JSON.parse(who.stdout).principal, 'bob');

    const out = await runCli(['logout'], env);
    ok(out, 'logout');
    assert.match(out.stdout, /Signed out of .* \(bob\)/);
    assert.match(out.stdout, /store session: ended/);
    assert.match(out.stdout, /refresh token revoked/);
    assert.deepEqual(await readdir(join(home, 'state', 'breakglass', 'sessions')), []);
    const after = await runCli(['whoami'], env);
    assert.equal(after.code, 2);
    assert.match(after.stderr, /not signed in/);
    const again = await runCli(['logout', '--json'], env);
    ok(again, 'logout when signed out');
    assert.equal(JSON.parse(again.stdout).principal, null);
  });

  test('a store without sign-in says to use a token; --json login errors are JSON', async () => {
    const plain = await startStoreFixture();
    try {
      const r = await runCli(['login', '--device', '--store', plain.url, '--json'], envFor(home));
      assert.notEqual(r.code, 0);
      const body = JSON.parse(r.stderr);
      assert.match(body.error.message, /no sign-in configured .*breakglass admin token create/);
    } finally {
      await plain.close();
    }
  });
});

describe('breakglass login with an OS keychain', () => {
  let keyring: TestKeyring;
  let dir: string;
  before(async () => {
    keyring = await startTestKeyring();
    dir = await mkdtemp(join(tmpdir(), 'bg-login-kc-'));
  });
  after(async () => {
    await keyring?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the session goes to the keychain, no file is written, and commands find it there', async () => {
    const env = { ...envFor(dir), ...keyring.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'state'), BREAKGLASS_SESSION_STORE: '' };
    const r = await deviceLogin(env, 'alice', ['--store', f.url]);
    ok(r, 'login --device with a keychain');
    assert.match(r.stdout, /kept: +in the OS keychain/);
    await assert.rejects(readdir(join(dir, 'state', 'breakglass', 'sessions')), /ENOENT/);
    const who = await runCli(['whoami', '--store', f.url, '--json'], env);
    ok(who, 'whoami from the keychain');
    assert.equal(JSON.parse(who.stdout).principal, 'alice');
    ok(await runCli(['logout', '--store', f.url], env), 'logout');
    const after = await runCli(['whoami', '--store', f.url], env);
    assert.equal(after.code, 2);
  });
});
