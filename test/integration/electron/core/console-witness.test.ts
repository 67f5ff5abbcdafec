import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { composeConsole, type ConsoleCore } from '../../../../electron/core/compose-console';
import { ConsoleWitness } from '../../../../electron/core/mirror/console-witness';
import { pinCancelled } from '../../../../electron/core/pin-prompt';
import { dataDirPaths } from '../../../../grant-store/admin/data-dir';
import { parseSignedNote } from '../../../../shared/ledger/signed-note';
import { fileAndDecide, startLedgerWorld, type LedgerWorld } from '../../ledger/ledger-harness';
import { runCli } from '../../cli/cli-harness';
import { memoryKeychain } from './memory-keychain';

/**
 * Two consoles' cores act as witnesses: after each verified mirror sync they cosign the
 * checkpoint with their own key (in the keychain) and hand the cosignature to the store; with
 * both listed in the policy (quorum 2), `ledger verify --witnesses 2` passes. A console that
 * cosigned one branch refuses to cosign a checkpoint of the same size with another root.
 */
describe('console cores as checkpoint witnesses', { concurrency: false }, () => {
  let world: LedgerWorld;
  const consoles: Array<{ core: ConsoleCore; dir: string }> = [];

  before(async () => {
    world = await startLedgerWorld({ origin: 'breakglass.test/consoles' });
    for (const who of ['bob', 'carol']) {
      const dir = await mkdtemp(join(tmpdir(), `bg-console-witness-${who}-`));
      const keychain = memoryKeychain();
      const core = composeConsole({ dataDir: dir, logger: pino({ level: 'silent' }), host: 'browser', pinPrompt: { ask: () => Promise.reject(pinCancelled()) }, openVault: keychain.openVault });
      await core.start();
      await core.handlers['console:main:setup']({ storeUrl: world.store.url, token: world.tokens[who]!, key: { kind: 'software' } });
      consoles.push({ core, dir });
    }
  });

  after(async () => {
    for (const c of consoles) {
      await c.core.stop();
      await rm(c.dir, { recursive: true, force: true });
    }
    await world?.store.close();
    if (world) await rm(world.tmp, { recursive: true, force: true });
  });

  const settled = async () => {
    const headers = { authorization: `Bearer ${world.tokens.erin}` };
    for (let i = 0; i < 400; i++) {
      const size = ((await (await fetch(`${world.store.url}/v1/ledger/entries?limit=1`, { headers })).json()) as { treeSize: number }).treeSize;
      const cp = (await (await fetch(`${world.store.url}/v1/ledger/checkpoint`, { headers })).json()) as { treeSize: number; checkpoint: string };
      if (cp.treeSize >= size) return cp;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('no checkpoint covers the ledger');
  };
  type SyncOutput = Awaited<ReturnType<ConsoleCore['handlers']['console:main:sync-ledger']>>;
  /** Sync console i until its mirror verified `size` entries (a background sync may have started first); every output seen. */
  const syncTo = async (i: number, size: number): Promise<SyncOutput[]> => {
    const seen: SyncOutput[] = [];
    for (let n = 0; n < 200; n++) {
      const out = await consoles[i]!.core.handlers['console:main:sync-ledger']({});
      seen.push(out);
      if (out.verifiedTreeSize >= size) return seen;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`console ${i} did not verify ${size} entries`);
  };
  const record = async (i: number) => JSON.parse(await readFile(join(consoles[i]!.dir, 'ledger', 'witness.json'), 'utf8')) as { size: number };

  test('each console cosigns what its mirror verified; the store keeps it once the policy lists the console', async () => {
    await fileAndDecide(world, 'bob', 'approve');
    const first = await settled();
    // (The console also syncs in the background on ledger events: the cosigning sync may be one of those.)
    const unlisted = (await syncTo(0, first.treeSize)).at(-1)!.witness!;
    assert.equal((await record(0)).size, (await syncTo(0, first.treeSize)).at(-1)!.verifiedTreeSize, 'console 0 cosigned the checkpoint its mirror verified');
    const vkeys = [unlisted.vkey, (await syncTo(1, first.treeSize)).at(-1)!.witness!.vkey];
    assert.match(vkeys[0]!, /\/bob\/console\+[0-9a-f]{8}\+/);
    // Settings reads the same key through the IPC contract (what an admin copies into witnesses:).
    assert.deepEqual(await consoles[0]!.core.handlers['console:main:get-witness-key']({}), { name: unlisted.name, vkey: unlisted.vkey });
    assert.equal((await syncTo(0, first.treeSize)).at(-1)!.witness?.cosignedSize, null, 'the same checkpoint is not cosigned twice');

    // The CLI witnesses too: its first `ledger verify` creates its key and cosigns (the store does not keep it yet).
    const cliEnv = { BREAKGLASS_STORE: world.store.url, BREAKGLASS_TOKEN: world.tokens.erin, XDG_STATE_HOME: join(world.tmp, 'state') };
    const firstVerify = await runCli(['ledger', 'verify', '--json'], cliEnv);
    assert.equal(firstVerify.code, 0, firstVerify.stdout + firstVerify.stderr);
    vkeys.push((JSON.parse(firstVerify.stdout) as { cosigned: { vkey: string } }).cosigned.vkey);
    assert.doesNotMatch(firstVerify.stderr, /cosignature/, 'a client the policy does not list is not nagged');

    // The operator lists both consoles (their vkeys as the consoles show them) and the CLI, with a quorum of 2.
    const policyPath = dataDirPaths(world.dataDir).policyPath;
    await appendFile(policyPath, `\nwitnesses:\n  quorum: 2\n  members:\n${vkeys.map((v) => `    - vkey: "${v}"\n`).join('')}`);
    const reload = await world.api<unknown>('admin', 'POST', '/v1/admin/policy/reload', {});
    assert.equal(reload.status, 200, JSON.stringify(reload.body));
    const cp = await settled();
    assert.ok(cp.treeSize > first.treeSize);
    const answers = [...(await syncTo(0, cp.treeSize)), ...(await syncTo(1, cp.treeSize))].map((o) => o.witness?.storeAnswer).filter(Boolean);
    for (const answer of answers) assert.match(answer!, /^kept: [12] of 2 witnesses cosigned checkpoint \d+$/);
    const health = (await (await fetch(`${world.store.url}/healthz`)).json()) as { witnesses: { cosigned: string[]; belowQuorum: boolean; treeSize: number } };
    assert.equal(health.witnesses.treeSize, cp.treeSize);
    assert.equal(health.witnesses.cosigned.length, 2);
    assert.equal(health.witnesses.belowQuorum, false);
    const served = await settled();
    assert.equal(parseSignedNote(served.checkpoint).signatures.length, 3);


    const verify = await runCli(['ledger', 'verify', '--witnesses', '2', '--witness-policy', policyPath], cliEnv);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /witnesses: {2}3 of 3 trusted witnesses cosigned checkpoint \d+ \(2 required\)/);
    assert.match(verify.stderr, /the store keeps this cosignature \(checkpoint \d+: 3 witness cosignatures, quorum 2\)/);
    const withCli = (await (await fetch(`${world.store.url}/healthz`)).json()) as { witnesses: { cosigned: string[] } };
    assert.equal(withCli.witnesses.cosigned.length, 3, 'two consoles and one CLI');
  });

  test("a console refuses to cosign a checkpoint that contradicts the one it cosigned (split view, shrunk log)", async () => {
    const cp = await settled();
    const witness = new ConsoleWitness(await mkdtemp(join(world.tmp, 'console-witness-')));
    const { cosigner } = await (async () => {
      const { generateKeyPairSync } = await import('node:crypto');
      const { ed25519Cosigner } = await import('../../../../shared/node/ledger/node-crypto');
      return { cosigner: ed25519Cosigner('any/console', generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()) };
    })();
    const identity = { cosigner, vkey: '' };
    const root = Buffer.from(cp.checkpoint.split('\n')[2]!, 'base64').toString('hex');
    const otherRoot = root.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    assert.ok(await witness.cosign({ treeSize: cp.treeSize, rootHash: root, note: cp.checkpoint }, identity, new Date()));
    await assert.rejects(witness.cosign({ treeSize: cp.treeSize, rootHash: otherRoot, note: cp.checkpoint }, identity, new Date()), /cosigned size \d+ of breakglass\.test\/consoles with another root: split view/);
    await assert.rejects(witness.cosign({ treeSize: cp.treeSize - 1, rootHash: root, note: cp.checkpoint }, identity, new Date()), /refusing to cosign a smaller log/);
  });
});
