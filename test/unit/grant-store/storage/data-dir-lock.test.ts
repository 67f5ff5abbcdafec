import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { AppError } from '../../../../shared/errors';
import { acquireDataDirLock, DATA_DIR_LOCK_FILE } from '../../../../grant-store/storage/sqlite/data-dir-lock';

test('data dir lock: one holder per dir (in this process too), stale or unreadable locks taken over with a warning, release removes only its own', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-lock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const path = join(dir, DATA_DIR_LOCK_FILE);

  const held = acquireDataDirLock(dir, logger);
  assert.equal(readFileSync(path, 'utf8').trim(), String(process.pid));
  assert.throws(
    () => acquireDataDirLock(dir, logger),
    (e: unknown) => e instanceof AppError && e.code === 'conflict' && e.message.includes(dir) && e.message.includes(`PID ${process.pid}`),
  );
  held.release();
  held.release();
  assert.equal(existsSync(path), false);

  // Our own PID in a lock this process does not hold: left by an earlier process that had our PID.
  writeFileSync(path, `${process.pid}\n`);
  acquireDataDirLock(dir, logger).release();
  // Unreadable content is not a live holder either.
  writeFileSync(path, 'not a pid\n');
  const taken = acquireDataDirLock(dir, logger);
  assert.equal(lines.filter((l) => l.includes('taking over the data dir lock')).length, 2, lines.join(''));

  // A lock someone else rewrote is not removed by our release.
  writeFileSync(path, '1\n');
  taken.release();
  assert.equal(readFileSync(path, 'utf8'), '1\n');
  // PID 1 is alive: refused, naming it.
  assert.throws(() => acquireDataDirLock(dir, logger), /PID 1\b/);
});
