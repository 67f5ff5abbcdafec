import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startServe, type ServeProcess } from './cli-harness';

/** Issue 12: one writer per SQLite data dir (real `serve` processes). */
describe('serve: one writer per SQLite data dir', () => {
  let tmp: string;
  let dataDir: string;
  let lockPath: string;
  const running: ServeProcess[] = [];

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'bg-dir-lock-'));
    dataDir = join(tmp, 'data');
    lockPath = join(dataDir, 'breakglass.lock');
    const init = await runCli(['admin', 'init', '--data-dir', dataDir, '--json']);
    assert.equal(init.code, 0, init.stderr);
    assert.equal(existsSync(lockPath), false, 'admin init leaves no lock behind');
  });

  after(async () => {
    for (const s of running) await s.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  const serve = async (): Promise<ServeProcess> => {
    const s = await startServe(['--data-dir', dataDir, '--port', '0']);
    running.push(s);
    // It serves (and has installed its signal handlers) before the test goes on.
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    return s;
  };

  test('a second serve exits 1 naming the data dir and the holder PID; a clean stop releases the lock', async () => {
    const first = await serve();
    assert.equal(readFileSync(lockPath, 'utf8').trim(), String(first.child.pid));
    const second = await runCli(['serve', '--data-dir', dataDir, '--port', '0']);
    assert.equal(second.code, 1, `${second.stdout}\n${second.stderr}`);
    assert.match(second.stderr, new RegExp(`PID ${first.child.pid}\\b`));
    assert.ok(second.stderr.includes(dataDir), second.stderr);
    // The refused serve did not touch the holder's lock.
    assert.equal(readFileSync(lockPath, 'utf8').trim(), String(first.child.pid));
    assert.equal(await first.stop(), 0);
    assert.equal(existsSync(lockPath), false, 'a clean stop removes the lock');
    const next = await serve();
    assert.equal(readFileSync(lockPath, 'utf8').trim(), String(next.child.pid));
    assert.equal(await next.stop(), 0);
  });

  test('a SIGKILLed holder never blocks a restart: its lock is taken over with a message', async () => {
    const crashed = await serve();
    const exited = once(crashed.child, 'exit');
    crashed.child.kill('SIGKILL');
    await exited;
    assert.equal(readFileSync(lockPath, 'utf8').trim(), String(crashed.child.pid), 'the crash leaves its lock behind');
    const restarted = await serve();
    assert.equal(readFileSync(lockPath, 'utf8').trim(), String(restarted.child.pid));
    assert.match(restarted.output(), new RegExp(`taking over the data dir lock.*PID ${crashed.child.pid}`));
    assert.equal(await restarted.stop(), 0);
    assert.equal(existsSync(lockPath), false);
  });
});
