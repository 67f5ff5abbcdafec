import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { composeConsole, type ConsoleCore } from '../../../electron/core/compose-console';
import { pinCancelled } from '../../../electron/core/pin-prompt';
import { dataDirPaths } from '../../../grant-store/admin/data-dir';
import { startGrantStore, type RunningGrantStore } from '../../../grant-store/http/server';
import { WITNESS_RETRY_MAX_MS, WITNESS_TAKEOVER_MS } from '../../../grant-store/ledger/checkpoint-witnesses';
import { loadLogKey } from '../../../grant-store/ledger/log-key';
import { loadWitnessKey } from '../../../grant-store/witness/witness-key-file';
import { cosignatureLine } from '../../../shared/ledger/cosignature';
import { formatCheckpoint, parseCheckpoint } from '../../../shared/ledger/checkpoint';
import { parseSignedNote, signNote } from '../../../shared/ledger/signed-note';
import { formatAddCheckpointRequest } from '../../../shared/ledger/witness-protocol';
import { ed25519Cosigner, ed25519NoteSigner, ed25519VerifierKeyFromPem } from '../../../shared/node/ledger/node-crypto';
import { ManualClock } from '../../support/manual-clock';
import { waitForReadyLine } from '../../support/ready-line';
import { BIN, ROOT, runCli } from '../cli/cli-harness';
import { memoryKeychain } from '../electron/core/memory-keychain';
import { instanceDataDir } from '../scale/instances';
import { createTempDatabase, TEST_PG_URL, type TempDatabase } from '../storage/pg-temp-database';
import { fileAndDecide, startLedgerWorld, type LedgerWorld } from './ledger-harness';
import { freePort } from '../../support/free-port';
import { until } from '../../support/until';

const ORIGIN = 'breakglass.test/pg-witnessed';
const W1 = 'witness.test/pg-w1';
const GRACE_MS = 10 * 60_000;

interface WitnessHealth {
  quorum: number;
  treeSize: number;
  cosigned: string[];
  missing: string[];
  belowQuorum: boolean;
  failures: Record<string, { message: string; attempts: number }>;
  unwitnessedSince: string | null;
  overdue: boolean;
}


/**
 * The witness flow of witnesses.test.ts and console-witness.test.ts on PostgreSQL, with TWO store
 * instances on one database (one log): a real `breakglass witness serve` the instances push to,
 * a console core cosigning through the other instance, `ledger verify --witnesses 2`, a witness
 * that is down (the instance that did not sign the newest checkpoint pushes it; the alarm goes
 * out once for the two instances), bad cosignatures, a forked copy of the database and a split
 * view refused by the witness.
 */
describe('witnessed checkpoints on PostgreSQL, two instances on one database', { concurrency: false }, () => {
  // One clock for both instances' time; A's witness timers run on it, B's on their own, so each
  // instance's retries can be held while the other's run.
  const clock = new ManualClock(new Date().toISOString());
  const timers = { after: (ms: number, fn: () => void) => clock.after(ms, fn) };
  const bClock = new ManualClock();
  const bTimers = { after: (ms: number, fn: () => void) => bClock.after(ms, fn) };
  let db: TempDatabase;
  let fork: TempDatabase | undefined;
  let world: LedgerWorld;
  let b: RunningGrantStore | undefined;
  let c: RunningGrantStore | undefined;
  let bDir = '';
  let witness: ChildProcess | undefined;
  let witnessDir = '';
  let witnessPort = 0;
  let witnessVkey = '';
  let consoleVkey = '';
  let receiver: Server;
  const alerts: string[] = [];
  const logs: Record<'a' | 'b', string[]> = { a: [], b: [] };
  let console0: { core: ConsoleCore; dir: string } | undefined;

  const logger = (into: string[]) =>
    pino({ level: 'warn' }, { write: (line: string) => void into.push(line) });
  const health = async (url: string): Promise<WitnessHealth> => ((await (await fetch(`${url}/healthz`)).json()) as { witnesses: WitnessHealth }).witnesses;
  const healthWhen = (url: string, what: string, ok: (h: WitnessHealth) => boolean) =>
    until(what, async () => {
      const h = await health(url);
      return ok(h) ? h : undefined;
    });
  const headers = () => ({ authorization: `Bearer ${world.tokens.erin}` });
  const latest = async (url: string) => (await (await fetch(`${url}/v1/ledger/checkpoint`, { headers: headers() })).json()) as { treeSize: number; checkpoint: string };
  const settled = (url: string) =>
    until('a checkpoint covering every entry', async () => {
      const size = ((await (await fetch(`${url}/v1/ledger/entries?limit=1`, { headers: headers() })).json()) as { treeSize: number }).treeSize;
      const cp = await latest(url);
      return cp.treeSize >= size ? cp : undefined;
    });
  const on = (store: RunningGrantStore): LedgerWorld => ({
    ...world,
    store,
    api: async (who, method, path, body) => {
      const res = await fetch(store.url + path, { method, headers: { authorization: `Bearer ${world.tokens[who]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as never };
    },
  });
  const submit = (url: string, body: unknown) =>
    fetch(`${url}/v1/ledger/cosignatures`, { method: 'POST', headers: { authorization: `Bearer ${world.tokens.bob}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const sql = async <T extends pg.QueryResultRow>(text: string, database = db): Promise<T[]> => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<T>(text)).rows;
    } finally {
      await client.end();
    }
  };
  async function startWitness(): Promise<void> {
    witness = spawn(process.execPath, [BIN, 'witness', 'serve', '--port', String(witnessPort), '--json', '--state-dir', witnessDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForReadyLine(witness, { what: 'witness serve', timeoutMs: 30_000, accept: (l) => l.includes('"url"') });
  }
  async function stopWitness(): Promise<void> {
    if (witness && witness.exitCode === null) {
      witness.kill('SIGTERM');
      await once(witness, 'exit');
    }
  }
  const startB = async () => (b = await startGrantStore({ dataDir: bDir, port: 0, databaseUrl: db.url, clock: () => clock.now(), witnessTimers: bTimers, logger: logger(logs.b) }));
  /** Sync the console until its mirror verified `size` entries; the last answer. */
  const syncTo = async (size: number) => {
    for (let n = 0; n < 200; n++) {
      const out = await console0!.core.handlers['console:main:sync-ledger']({});
      if (out.verifiedTreeSize >= size) return out;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`the console did not verify ${size} entries`);
  };
  const reloadPolicies = async () => {
    for (const url of [world.store.url, b!.url]) {
      const r = await fetch(`${url}/v1/admin/policy/reload`, { method: 'POST', headers: { authorization: `Bearer ${world.tokens.admin}`, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(r.status, 200, await r.text());
    }
  };

  before(async () => {
    db = await createTempDatabase('bg_witness');
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if ((JSON.parse(body) as { event?: string }).event === 'witness_quorum_overdue') alerts.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    witnessPort = await freePort();
    world = await startLedgerWorld({
      databaseUrl: db.url,
      origin: ORIGIN,
      storeOptions: { clock: () => clock.now(), witnessTimers: timers, logger: logger(logs.a) },
      beforeStart: async (dataDir) => {
        witnessDir = join(dataDir, '..', 'witness');
        const init = await runCli(['witness', 'init', '--name', W1, '--state-dir', witnessDir, '--json']);
        assert.equal(init.code, 0, init.stderr);
        witnessVkey = (JSON.parse(init.stdout) as { vkey: string }).vkey;
        const paths = dataDirPaths(dataDir);
        const key = await loadLogKey(paths.logKeyPath, { originPath: paths.logOriginPath });
        assert.equal((await runCli(['witness', 'add-log', ed25519VerifierKeyFromPem(key.origin, key.publicKeyPem), '--state-dir', witnessDir])).code, 0);
        await startWitness();
        const hookPort = (receiver.address() as AddressInfo).port;
        const policy = (await readFile(paths.policyPath, 'utf8')).replace(/^webhooks: \[\]$/m, `webhooks:\n  - id: siem\n    url: http://127.0.0.1:${hookPort}/hook\n    events: [over_budget]`);
        // Quorum 1 until the console's key is known (it is made on its first sync).
        await writeFile(paths.policyPath, `${policy}\nwitnesses:\n  quorum: 1\n  grace: 10m\n  members:\n    - vkey: "${witnessVkey}"\n      url: http://127.0.0.1:${witnessPort}\n`);
      },
    });
    bDir = await instanceDataDir(world.dataDir, join(world.tmp, 'b'));
    await startB();
    const dir = await mkdtemp(join(tmpdir(), 'bg-pg-console-witness-'));
    const keychain = memoryKeychain();
    const core = composeConsole({ dataDir: dir, logger: pino({ level: 'silent' }), host: 'browser', pinPrompt: { ask: () => Promise.reject(pinCancelled()) }, openVault: keychain.openVault });
    await core.start();
    await core.handlers['console:main:setup']({ storeUrl: b!.url, token: world.tokens.bob!, key: { kind: 'software' } });
    console0 = { core, dir };
  });

  after(async () => {
    if (console0) {
      await console0.core.stop();
      await rm(console0.dir, { recursive: true, force: true });
    }
    await c?.close();
    await b?.close();
    await world?.store.close();
    await stopWitness();
    await new Promise<void>((r) => receiver.close(() => r()));
    if (world) await rm(world.tmp, { recursive: true, force: true });
    await fork?.drop();
    await db?.drop();
  });

  test('one log: each size is signed once, the witness cosigns the newest whichever instance signed it, and a console cosigning through B makes the quorum A serves', async () => {
    // Entries through both instances, interleaved.
    await fileAndDecide(world, 'bob', 'approve');
    await fileAndDecide(on(b!), 'carol', 'deny');
    await fileAndDecide(world, 'carol', 'approve');
    const cp = await settled(world.store.url);
    const sizes = (await sql<{ tree_size: number }>('SELECT tree_size FROM ledger_checkpoints ORDER BY id')).map((r) => Number(r.tree_size));
    for (let i = 1; i < sizes.length; i++) assert.ok(sizes[i]! > sizes[i - 1]!, `checkpoint sizes grow with their ids, one signer per size: ${sizes.join(', ')}`);
    for (const url of [world.store.url, b!.url]) {
      const h = await healthWhen(url, `${W1} to cosign size ${cp.treeSize} as ${url} sees it`, (w) => w.treeSize >= cp.treeSize && w.cosigned.includes(W1));
      assert.deepEqual(h.failures, {}, 'no instance counts the other one\'s push as a failure');
    }
    assert.equal((await settled(b!.url)).checkpoint, (await settled(world.store.url)).checkpoint, 'both instances serve the same checkpoint');

    // The console syncs through B; its key is listed, with the CLI's, and the quorum becomes 2.
    const first = await syncTo(cp.treeSize);
    consoleVkey = first.witness!.vkey;
    const cliEnv = { BREAKGLASS_STORE: world.store.url, BREAKGLASS_TOKEN: world.tokens.erin!, XDG_STATE_HOME: join(world.tmp, 'state') };
    const firstVerify = await runCli(['ledger', 'verify', '--json'], cliEnv);
    assert.equal(firstVerify.code, 0, firstVerify.stdout + firstVerify.stderr);
    const cliVkey = (JSON.parse(firstVerify.stdout) as { cosigned: { vkey: string } }).cosigned.vkey;
    for (const dir of [world.dataDir, bDir]) {
      const path = dataDirPaths(dir).policyPath;
      const text = (await readFile(path, 'utf8')).replace('quorum: 1', 'quorum: 2');
      await writeFile(path, `${text}    - vkey: "${consoleVkey}"\n    - vkey: "${cliVkey}"\n`);
    }
    await reloadPolicies();
    const now = await settled(world.store.url);
    await healthWhen(b!.url, `${W1} on checkpoint ${now.treeSize}`, (w) => w.treeSize >= now.treeSize && w.cosigned.includes(W1));
    const synced = await syncTo(now.treeSize);
    assert.match(synced.witness!.storeAnswer!, /^kept: 2 of 2 witnesses cosigned checkpoint \d+$/);
    // A counts the cosignature B kept: the quorum is read from the database.
    const onA = await healthWhen(world.store.url, 'the quorum on A', (w) => !w.belowQuorum);
    assert.deepEqual([...onA.cosigned].sort(), [W1, first.witness!.name].sort());
    const pass = await runCli(['ledger', 'verify', '--witnesses', '2', '--witness-key', witnessVkey, '--witness-key', consoleVkey], cliEnv);
    assert.equal(pass.code, 0, pass.stdout + pass.stderr);
    assert.match(pass.stdout, /witnesses: {2}2 of 2 trusted witnesses cosigned checkpoint \d+ \(2 required\)/);
    // The CLI cosigned too and handed its line to A: three on the checkpoint B serves.
    assert.match(pass.stderr, /the store keeps this cosignature \(checkpoint \d+: 3 witness cosignatures, quorum 2\)/);
    assert.equal((await health(b!.url)).cosigned.length, 3);
  });

  test('bad cosignatures handed to either instance are refused with the reason, and nothing is kept', async () => {
    const cp = await latest(world.store.url);
    const text = parseSignedNote(cp.checkpoint).text;
    const parsed = parseCheckpoint(text);
    // The CLI's witness key, which the policy lists (made by its first `ledger verify`).
    const cli = (await loadWitnessKey(join(world.tmp, 'state', 'breakglass', 'cli-witness'))).cosigner;
    const count = async () => (await sql<{ n: number }>('SELECT count(*)::int AS n FROM ledger_cosignatures'))[0]!.n;
    const before = await count();
    const otherText = formatCheckpoint({ origin: ORIGIN, size: parsed.size, rootHash: new Uint8Array(32).fill(9), extensions: parsed.extensions });
    const forged = await submit(b!.url, { checkpoint: cp.checkpoint, cosignature: cosignatureLine(otherText, cli, 1) });
    assert.equal(forged.status, 422);
    assert.match(((await forged.json()) as { error: { message: string } }).error.message, /does not verify over this checkpoint/);
    const fork = await submit(world.store.url, { checkpoint: otherText, cosignature: cosignatureLine(otherText, cli, 1) });
    assert.equal(fork.status, 422);
    assert.match(((await fork.json()) as { error: { message: string } }).error.message, /this log never signed that checkpoint of size \d+/);
    const stranger = ed25519Cosigner('stranger.test/w9', generateKey());
    const unknown = await submit(b!.url, { checkpoint: text, cosignature: cosignatureLine(text, stranger, 1) });
    assert.equal(unknown.status, 403);
    assert.match(((await unknown.json()) as { error: { message: string } }).error.message, /"stranger\.test\/w9" is not a witness of this store's policy/);
    assert.equal((await submit(world.store.url, { checkpoint: text, cosignature: 'hello' })).status, 400);
    assert.equal(await count(), before);
  });

  test('the witness down: the newest checkpoint reaches it through the instance whose retries run, whichever signed it; one alarm for both instances, cleared on both', async () => {
    await stopWitness();
    // Only B appends while the witness is down (which instance stores the checkpoint is a race).
    await fileAndDecide(on(b!), 'bob', 'approve');
    const cp = await settled(b!.url);
    await until('a failed push', async () => ((await health(world.store.url)).failures[W1] || (await health(b!.url)).failures[W1] ? true : undefined));
    for (const url of [world.store.url, b!.url]) assert.ok((await health(url)).unwitnessedSince, `${url} waits on witnesses for the newest checkpoint, whoever signed it`);
    clock.advance(GRACE_MS);
    bClock.advance(GRACE_MS);
    for (const url of [world.store.url, b!.url]) await healthWhen(url, `the alarm on ${url}`, (w) => w.overdue);
    for (const [name, lines] of Object.entries(logs)) await until(`${name} to raise the alarm`, async () => (lines.some((l) => l.includes('WITNESS QUORUM OVERDUE')) ? true : undefined));
    await until('the alert at the webhook', async () => (alerts.length > 0 ? alerts : undefined));
    const claims = await sql<{ key: string }>("SELECT key FROM meta WHERE key LIKE 'witness_quorum_overdue:%'");
    assert.equal(claims.length, 1, `one episode claimed for the two instances: ${JSON.stringify(claims)}`);

    // The witness is back; B's timers are held, only A's run: A pushes the newest checkpoint even
    // if B signed it (A learnt it, looked again after WITNESS_TAKEOVER_MS, and retries the newest).
    await startWitness();
    clock.advance(WITNESS_TAKEOVER_MS + WITNESS_RETRY_MAX_MS);
    const back = await healthWhen(world.store.url, `${W1} on ${cp.treeSize}`, (w) => w.treeSize >= cp.treeSize && w.cosigned.includes(W1));
    // B reads the cosignature from the shared table once it has learnt A's newest checkpoint (its
    // ledger feed tells it; its own timers are held), so it is awaited, not read at once: reading
    // at once raced that and failed 4 runs of 10 here.
    await healthWhen(b!.url, 'B to see the cosignature A kept', (w) => w.treeSize >= back.treeSize && w.cosigned.includes(W1));
    bClock.advance(WITNESS_RETRY_MAX_MS);
    const synced = await syncTo(back.treeSize);
    // The console's background sync (on the ledger event) may have cosigned this size first; this
    // sync then has nothing new to sign and no store answer (a race that failed a full run). Either
    // way the store must have kept the console's cosignature, which its health shows.
    if (synced.witness!.storeAnswer !== null) assert.match(synced.witness!.storeAnswer, /^kept: [23] of 2 witnesses cosigned checkpoint \d+$/);
    // B's clock moved just above, so its sweeper may append (an expiry, an SLA entry) and sign a
    // newer checkpoint after the console synced: that one lacks the console's cosignature until the
    // console syncs again, as its background sync does on the ledger event. So the wait syncs the
    // console to whatever B serves; what it asserts is unchanged: B's newest checkpoint, at or past
    // \`back\`, carries the console's cosignature.
    await until('the console cosignature kept', async () => {
      const h = await health(b!.url);
      if (h.treeSize >= back.treeSize && h.cosigned.includes(synced.witness!.name)) return h;
      await syncTo(h.treeSize);
      return undefined;
    });
    for (const url of [world.store.url, b!.url]) {
      const h = await healthWhen(url, `the alarm to clear on ${url}`, (w) => !w.overdue && !w.belowQuorum && Object.keys(w.failures).length === 0);
      assert.equal(h.unwitnessedSince, null);
    }
    assert.equal(alerts.length, 1, 'one alert for the episode, from two instances');
  });

  test('a forked copy of the database is refused by the witness that cosigned the other branch; a split view gets 409', async () => {
    const before = await settled(world.store.url);
    await b!.close();
    b = undefined;
    await world.store.close();
    fork = await createTempDatabase('bg_witness_fork');
    await sql(`DROP DATABASE ${fork.name}`, { ...db, url: TEST_PG_URL });
    await sql(`CREATE DATABASE ${fork.name} TEMPLATE ${db.name}`, { ...db, url: TEST_PG_URL });
    await world.restart();
    const cDir = await instanceDataDir(world.dataDir, join(world.tmp, 'c'));
    c = await startGrantStore({ dataDir: cDir, port: 0, databaseUrl: fork.url, clock: () => clock.now(), witnessTimers: timers, logger: pino({ level: 'silent' }) });
    await fileAndDecide(world, 'carol', 'deny');
    const mine = await settled(world.store.url);
    assert.ok(mine.treeSize > before.treeSize);
    await healthWhen(world.store.url, `${W1} on the original's ${mine.treeSize}`, (w) => w.treeSize >= mine.treeSize && w.cosigned.includes(W1));
    await fileAndDecide(on(c), 'bob', 'approve');
    const theirs = await settled(c.url);
    assert.notEqual(parseSignedNote(theirs.checkpoint).text, parseSignedNote(mine.checkpoint).text);
    const refused = await healthWhen(c.url, 'the witness to refuse the fork', (w) => w.failures[W1] !== undefined);
    assert.match(refused.failures[W1]!.message, /witness witness\.test\/pg-w1 (refused checkpoint \d+ \((409|422)|already cosigned size)/);
    assert.equal(refused.cosigned.includes(W1), false);

    const parsed = parseCheckpoint(parseSignedNote(mine.checkpoint).text);
    const logSigner = ed25519NoteSigner(ORIGIN, await readFile(join(world.dataDir, 'log-key.pem'), 'utf8'));
    const split = signNote(formatCheckpoint({ origin: ORIGIN, size: parsed.size, rootHash: new Uint8Array(32).fill(7), extensions: parsed.extensions }), [logSigner]);
    const res = await fetch(`http://127.0.0.1:${witnessPort}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointRequest({ oldSize: parsed.size, proof: [], note: split }) });
    assert.equal(res.status, 409);
    assert.equal((await res.text()).trim(), String(parsed.size));
  });
});

function generateKey(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}
