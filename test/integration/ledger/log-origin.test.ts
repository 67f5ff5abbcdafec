import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dataDirPaths } from '../../../grant-store/admin/data-dir';
import { startGrantStore } from '../../../grant-store/http/server';
import { loadLogKey, machineLogOrigin, storeIdFor } from '../../../grant-store/ledger/log-key';
import { runCli } from '../cli/cli-harness';

/**
 * The log's name is set once, at `admin init`, and kept in the data dir: `--origin` as given, else
 * from the store's public URL, else from this machine's name; every checkpoint carries it.
 */
describe('the log origin is configurable at admin init', { concurrency: false }, async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'bg-origin-'));
  after(() => rm(tmp, { recursive: true, force: true }));

  test('init --origin names the log in the data dir, the first checkpoint and the served checkpoint', async () => {
    const dataDir = join(tmp, 'named');
    const init = await runCli(['admin', 'init', '--data-dir', dataDir, '--origin', 'breakglass.example.com/prod', '--json']);
    assert.equal(init.code, 0, init.stderr);
    const { adminToken, origin } = JSON.parse(init.stdout) as { adminToken: string; origin: string };
    assert.equal(origin, 'breakglass.example.com/prod');
    assert.equal((await readFile(dataDirPaths(dataDir).logOriginPath, 'utf8')).trim(), origin);
    const store = await startGrantStore({ dataDir, port: 0 });
    try {
      const cp = (await (await fetch(`${store.url}/v1/ledger/checkpoint`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { origin: string; checkpoint: string };
      assert.equal(cp.origin, origin);
      assert.match(cp.checkpoint, /^breakglass\.example\.com\/prod\n\d+\n/);
      assert.match(cp.checkpoint, /\n\n— breakglass\.example\.com\/prod /);
    } finally {
      await store.close();
    }
    // A second init cannot rename the log: checkpoints and clients' saved state name it.
    const rename = await runCli(['admin', 'init', '--data-dir', dataDir, '--origin', 'other.example.com/prod', '--force']);
    assert.equal(rename.code, 1, rename.stderr);
    assert.match(rename.stderr, /log is named breakglass\.example\.com\/prod .*a log keeps its origin/);
  });

  test('a bad origin is bad input and nothing is written', async () => {
    const dataDir = join(tmp, 'bad');
    const r = await runCli(['admin', 'init', '--data-dir', dataDir, '--origin', 'https://breakglass.example.com/prod']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /not a log origin: a schema-less URL/);
    await assert.rejects(readFile(dataDirPaths(dataDir).policyPath), /ENOENT/);
  });

  test('init --public-url names a new log after the store\'s address, kept across re-inits', async () => {
    const dataDir = join(tmp, 'public');
    const init = await runCli(['admin', 'init', '--data-dir', dataDir, '--public-url', 'https://Breakglass.Example.com/prod/', '--json']);
    assert.equal(init.code, 0, init.stderr);
    assert.equal((JSON.parse(init.stdout) as { origin: string }).origin, 'breakglass.example.com/prod');
    assert.equal((await readFile(dataDirPaths(dataDir).logOriginPath, 'utf8')).trim(), 'breakglass.example.com/prod');
    // The origin was fixed at the first init: a re-init keeps it, another address cannot rename it.
    const again = await runCli(['admin', 'init', '--data-dir', dataDir, '--force', '--json'], { BREAKGLASS_STORE: 'https://elsewhere.example.net' });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { origin: string }).origin, 'breakglass.example.com/prod');
    const rename = await runCli(['admin', 'init', '--data-dir', dataDir, '--force', '--public-url', 'https://elsewhere.example.net']);
    assert.equal(rename.code, 1, rename.stderr);
    assert.match(rename.stderr, /log is named breakglass\.example\.com\/prod .*a log keeps its origin \(leave out --public-url\)/);
  });

  test('without --public-url a new log is named after BREAKGLASS_PUBLIC_URL, else the non-loopback store URL the CLI is configured with', async () => {
    const fromEnv = await runCli(['admin', 'init', '--data-dir', join(tmp, 'env'), '--json'], { BREAKGLASS_PUBLIC_URL: 'https://bg.example.org', BREAKGLASS_STORE: 'https://other.example.org' });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal((JSON.parse(fromEnv.stdout) as { origin: string }).origin, 'bg.example.org');
    const fromStore = await runCli(['admin', 'init', '--data-dir', join(tmp, 'store-url'), '--json'], { BREAKGLASS_STORE: 'https://bg.example.org:8443/' });
    assert.equal(fromStore.code, 0, fromStore.stderr);
    assert.equal((JSON.parse(fromStore.stdout) as { origin: string }).origin, 'bg.example.org:8443');
  });

  test('with no public address the log is named after this machine and its key, not breakglass.local, and keeps that name', async () => {
    const dataDir = join(tmp, 'machine');
    // A loopback store URL names no store anyone else reaches: the machine names the log.
    const init = await runCli(['admin', 'init', '--data-dir', dataDir, '--json'], { BREAKGLASS_STORE: 'http://127.0.0.1:7410' });
    assert.equal(init.code, 0, init.stderr);
    const { origin } = JSON.parse(init.stdout) as { origin: string };
    const paths = dataDirPaths(dataDir);
    const key = await loadLogKey(paths.logKeyPath, { originPath: paths.logOriginPath });
    assert.equal(origin, machineLogOrigin(hostname(), key.rawPublicKey));
    assert.equal(origin, `${hostname().toLowerCase()}/${storeIdFor(key.rawPublicKey)}`, 'this machine has a usable host name');
    assert.equal(key.origin, origin);
    assert.equal((await readFile(paths.logOriginPath, 'utf8')).trim(), origin, 'written once, so a new host name or URL later changes nothing');
    const again = await runCli(['admin', 'init', '--data-dir', dataDir, '--force', '--json'], { BREAKGLASS_PUBLIC_URL: 'https://bg.example.org' });
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /log is named .* a log keeps its origin \(leave out BREAKGLASS_PUBLIC_URL\)/);
  });

  test('a public URL that names no log is bad input and nothing is written', async () => {
    for (const [args, pattern] of [
      [['--public-url', 'http://127.0.0.1:7410'], /--public-url http:\/\/127\.0\.0\.1:7410 is a loopback address/],
      [['--public-url', 'https://breakglass.example.com/?env=prod'], /not a store address: an http\(s\) URL with a host and optionally a path, no query/],
      [['--public-url', 'https://breakglass.example.com', '--origin', 'breakglass.example.com/prod'], /give --origin or --public-url, not both/],
    ] as const) {
      const dataDir = join(tmp, `bad-url-${randomUUID()}`);
      const r = await runCli(['admin', 'init', '--data-dir', dataDir, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      await assert.rejects(readFile(dataDirPaths(dataDir).policyPath), /ENOENT/);
    }
  });

  test('a data dir from before keeps its breakglass.local/<id> origin and cannot be given another', async () => {
    // What an older release left: a log key and no log-origin file.
    const dataDir = join(tmp, 'old');
    await mkdir(dataDir, { mode: 0o700 });
    const paths = dataDirPaths(dataDir);
    await writeFile(paths.logKeyPath, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const init = await runCli(['admin', 'init', '--data-dir', dataDir, '--json'], { BREAKGLASS_STORE: 'https://bg.example.org' });
    assert.equal(init.code, 0, init.stderr);
    const key = await loadLogKey(paths.logKeyPath, { originPath: paths.logOriginPath });
    assert.equal(key.origin, `breakglass.local/${storeIdFor(key.rawPublicKey)}`);
    assert.equal((JSON.parse(init.stdout) as { origin: string }).origin, key.origin);
    await assert.rejects(readFile(paths.logOriginPath), /ENOENT/, 'no name is written for a log that already signs under the old one');
    for (const [flag, value] of [['--origin', 'breakglass.example.com/prod'], ['--public-url', 'https://breakglass.example.com']] as const) {
      const r = await runCli(['admin', 'init', '--data-dir', dataDir, '--force', flag, value]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`already signs as breakglass\\.local/<id>.*a log keeps its origin \\(leave out ${flag}\\)`));
    }
  });
});
