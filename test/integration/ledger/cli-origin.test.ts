import assert from 'node:assert/strict';
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { logStateDir } from '../../../grant-store/cli/ledger-client-state';
import { startGrantStore, type RunningGrantStore } from '../../../grant-store/http/server';
import { runCli } from '../cli/cli-harness';
import { fileAndDecide, startLedgerWorld, type LedgerWorld } from './ledger-harness';

/**
 * Clients remember per log origin, not per URL: two copies of a store (same origin, same log
 * key) that each append a different next entry are both accepted by a client that keys by URL;
 * one that keys by origin meets the checkpoint it saved from the first copy when it verifies the
 * second, and refuses it.
 */
describe('ledger verify keys what it verified by log origin', { concurrency: false }, () => {
  let world: LedgerWorld;
  let copy: RunningGrantStore | undefined;
  let stateHome = '';

  const verify = (url: string, extra: string[] = []) => runCli(['ledger', 'verify', '--json', ...extra], { BREAKGLASS_STORE: url, BREAKGLASS_TOKEN: world.tokens.erin, XDG_STATE_HOME: stateHome });

  async function waitForCheckpoint(url: string): Promise<void> {
    const headers = { authorization: `Bearer ${world.tokens.erin}` };
    for (let i = 0; i < 200; i++) {
      const size = ((await (await fetch(`${url}/v1/ledger/entries?limit=1`, { headers })).json()) as { treeSize: number }).treeSize;
      const cp = ((await (await fetch(`${url}/v1/ledger/checkpoint`, { headers })).json()) as { treeSize: number }).treeSize;
      if (cp >= size) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no checkpoint');
  }

  before(async () => {
    world = await startLedgerWorld();
    stateHome = join(world.tmp, 'state');
    await fileAndDecide(world, 'bob', 'approve');
    await waitForCheckpoint(world.store.url);
    // A second copy of the same store: same data dir contents, so same origin and log key.
    await world.store.close();
    await cp(world.dataDir, join(world.tmp, 'copy'), { recursive: true });
    await world.restart();
    copy = await startGrantStore({ dataDir: join(world.tmp, 'copy'), port: 0 });
  });

  after(async () => {
    await copy?.close();
    await world?.store.close();
    if (world) await rm(world.tmp, { recursive: true, force: true });
  });

  test('a fork served by a second copy of the store under the same origin is refused by a client that saw the first', async () => {
    const originalUrl = world.store.url;
    const a = await verify(originalUrl);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    const { origin, treeSize } = JSON.parse(a.stdout) as { origin: string; treeSize: number };
    // Each copy appends a different next entry.
    await fileAndDecide(world, 'carol', 'deny');
    await waitForCheckpoint(originalUrl);
    const forkWorld = { ...world, store: copy! };
    forkWorld.api = async (who, method, path, body) => {
      const res = await fetch(copy!.url + path, { method, headers: { authorization: `Bearer ${world.tokens[who]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as never };
    };
    await fileAndDecide(forkWorld, 'bob', 'approve');
    await waitForCheckpoint(copy!.url);

    const again = await verify(originalUrl);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const saved = await readFile(join(logStateDir({ XDG_STATE_HOME: stateHome }, origin), 'checkpoint'), 'utf8');
    assert.ok(Number(saved.split('\n')[1]) > treeSize);

    // Same origin, different URL: the saved checkpoint is the one from the first copy.
    const fork = await verify(copy!.url);
    assert.equal(fork.code, 1, fork.stdout + fork.stderr);
    const verdict = JSON.parse(fork.stdout) as { ok: boolean; code: string; origin: string; reason: string };
    assert.equal(verdict.origin, origin);
    assert.equal(verdict.code, 'inconsistent_history', verdict.reason);
    assert.equal(await readFile(join(logStateDir({ XDG_STATE_HOME: stateHome }, origin), 'checkpoint'), 'utf8'), saved, 'the refused fork does not move the anchor');

    // A client that never saw the first copy accepts the fork on first use: only witnesses that saw both catch it.
    const fresh = await runCli(['ledger', 'verify', '--json'], { BREAKGLASS_STORE: copy!.url, BREAKGLASS_TOKEN: world.tokens.erin, XDG_STATE_HOME: join(world.tmp, 'fresh-state') });
    assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
  });
});
