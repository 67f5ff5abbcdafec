import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { initDataDir } from '../../../grant-store/admin/init';
import { startGrantStore } from '../../../grant-store/http/server';

test('the SQLite database and its WAL/SHM files are owner-only; a log key others can read is refused, naming the fix', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-modes-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  await initDataDir(dataDir);
  const running = await startGrantStore({ dataDir, port: 0 });
  try {
    const files = (await readdir(dataDir)).filter((f) => f.startsWith('breakglass.db'));
    assert.ok(files.includes('breakglass.db-wal'), files.join(', '));
    for (const file of files) assert.equal((await stat(join(dataDir, file))).mode & 0o777, 0o600, file);
  } finally {
    await running.close();
  }
  // An older store left a world-readable database: opening tightens it.
  await chmod(join(dataDir, 'breakglass.db'), 0o644);
  const again = await startGrantStore({ dataDir, port: 0 });
  await again.close();
  assert.equal((await stat(join(dataDir, 'breakglass.db'))).mode & 0o777, 0o600);

  const logKey = join(dataDir, 'log-key.pem');
  for (const mode of [0o644, 0o640]) {
    await chmod(logKey, mode);
    await assert.rejects(startGrantStore({ dataDir, port: 0 }), (e: Error) => e.message.includes(`the log key ${logKey} is readable by`) && e.message.includes(`mode 0${mode.toString(8)}`) && e.message.includes(`chmod 600 ${logKey}`));
  }
  await chmod(logKey, 0o600);
  const fixed = await startGrantStore({ dataDir, port: 0 });
  await fixed.close();
});
