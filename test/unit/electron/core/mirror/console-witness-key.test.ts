import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConsoleWitness } from '../../../../../electron/core/mirror/console-witness';

/** A keychain entry whose reads and writes take a while, as a D-Bus round trip does. */
function slowSecret(): { get(): Promise<string | null>; set(secret: string): Promise<void>; writes: number } {
  let value: string | null = null;
  const later = () => new Promise((r) => setTimeout(r, 20));
  return {
    writes: 0,
    async get() {
      await later();
      return value;
    },
    async set(secret: string) {
      await later();
      value = secret;
      this.writes++;
    },
  };
}

test('two syncs asking for the witness key at once on first use get one key, created once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-witness-key-'));
  try {
    const witness = new ConsoleWitness(dir);
    const secret = slowSecret();
    const [a, b, c] = await Promise.all([witness.identity(secret, 'carol'), witness.identity(secret, 'carol'), witness.identity(secret, 'carol')]);
    assert.equal(a.vkey, b.vkey);
    assert.equal(b.vkey, c.vkey);
    assert.equal(secret.writes, 1);
    assert.equal((await witness.identity(secret, 'carol')).vkey, a.vkey, 'the stored key is the one shown');
    assert.match(a.vkey, /\/carol\/console\+[0-9a-f]{8}\+/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a lookup that fails does not stop the next one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-witness-key-'));
  try {
    const witness = new ConsoleWitness(dir);
    const broken = { get: async () => '{not json', set: async () => undefined };
    await assert.rejects(witness.identity(broken, 'carol'));
    const secret = slowSecret();
    assert.match((await witness.identity(secret, 'carol')).vkey, /\/carol\/console\+/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
