import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dataDirPaths } from '../../../grant-store/admin/data-dir';
import { startGrantStore } from '../../../grant-store/http/server';
import { loadLogKey } from '../../../grant-store/ledger/log-key';
import { runCli } from '../cli/cli-harness';

/** `admin init --origin`: the log's name is set once, kept in the data dir, used by every checkpoint. */
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

  test('a data dir from before keeps its breakglass.local/<id> origin and cannot be given another', async () => {
    const dataDir = join(tmp, 'old');
    const init = await runCli(['admin', 'init', '--data-dir', dataDir, '--json']);
    assert.equal(init.code, 0, init.stderr);
    const paths = dataDirPaths(dataDir);
    await unlink(paths.logOriginPath).catch(() => undefined);
    const key = await loadLogKey(paths.logKeyPath, { originPath: paths.logOriginPath });
    assert.match(key.origin, /^breakglass\.local\/[0-9a-f]{16}$/);
    assert.equal((JSON.parse(init.stdout) as { origin: string }).origin, key.origin);
    const r = await runCli(['admin', 'init', '--data-dir', dataDir, '--force', '--origin', 'breakglass.example.com/prod']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /already signs as breakglass\.local\/<id>.*a log keeps its origin/);
  });
});
