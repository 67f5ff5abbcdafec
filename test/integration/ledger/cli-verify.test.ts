import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { copyFile, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { createHash } from 'node:crypto';
import { formatCheckpoint } from '../../../shared/ledger/checkpoint';
import { signNote } from '../../../shared/ledger/signed-note';
import { ed25519NoteSigner } from '../../../shared/node/ledger/node-crypto';
import { logStateDir } from '../../../grant-store/cli/ledger-client-state';
import { runCli, type CliResult } from '../cli/cli-harness';
import { fileAndDecide, sigstoreVerify, startLedgerWorld, type LedgerWorld } from './ledger-harness';

/**
 * `breakglass ledger verify` (the real CLI, a separate process) against a real store: online
 * with the client's saved checkpoint, offline on an export, and against every kind of
 * tampering an operator with file access could try: a row edited in the SQLite file, a rolled
 * back database, a split view, a forged checkpoint, entries deleted, reordered or inserted.
 */

interface VerifyJson {
  ok: boolean;
  firstBadSeq?: number | null;
  code?: string;
  reason?: string;
  treeSize?: number;
}

const CHECKPOINT_WAIT_MS = 3_000;

describe('breakglass ledger verify (real CLI) catches tampering', { concurrency: false }, () => {
  let world: LedgerWorld;
  let stateHome = '';
  const backups: Record<string, string> = {};

  const cli = (args: string[], who = 'erin') => runCli(args, { BREAKGLASS_STORE: world.store.url, BREAKGLASS_TOKEN: world.tokens[who], XDG_STATE_HOME: stateHome });
  let origin = '';
  // The client keeps what it verified per log origin, not per store URL.
  const statePath = () => join(logStateDir({ XDG_STATE_HOME: stateHome }, origin), 'checkpoint');
  const dbPath = () => join(world.dataDir, 'breakglass.db');

  function parse(r: CliResult): VerifyJson {
    try {
      return JSON.parse(r.stdout) as VerifyJson;
    } catch {
      throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
  }

  async function settle(): Promise<void> {
    // Wait until the log's checkpoint covers every entry (the log signs within ~500 ms).
    const started = Date.now();
    for (;;) {
      const size = (await world.api<{ treeSize: number }>('erin', 'GET', '/v1/ledger/entries?limit=1')).body.treeSize;
      const cp = (await world.api<{ treeSize: number }>('erin', 'GET', '/v1/ledger/checkpoint')).body.treeSize;
      if (cp >= size) return;
      if (Date.now() - started > CHECKPOINT_WAIT_MS) throw new Error(`checkpoint stuck at ${cp} < ${size}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stop the store, copy its database aside (or back), start it again. */
  async function backup(name: string): Promise<void> {
    await world.store.close();
    backups[name] = join(world.tmp, `${name}.db`);
    await copyFile(dbPath(), backups[name]!);
    await world.restart();
  }
  async function restore(name: string, edit?: (db: Database.Database) => void): Promise<void> {
    await world.store.close();
    await rm(`${dbPath()}-wal`, { force: true });
    await rm(`${dbPath()}-shm`, { force: true });
    await copyFile(backups[name]!, dbPath());
    if (edit) {
      const db = new Database(dbPath());
      try {
        edit(db);
      } finally {
        db.close();
      }
    }
    await world.restart();
  }

  before(async () => {
    world = await startLedgerWorld();
    stateHome = join(world.tmp, 'state');
    origin = (await world.api<{ origin: string }>('erin', 'GET', '/v1/ledger/public-key')).body.origin;
    await fileAndDecide(world, 'bob', 'approve');
    await fileAndDecide(world, 'carol', 'deny');
    await settle();
  });

  after(async () => {
    await world?.store.close();
    if (world) await rm(world.tmp, { recursive: true, force: true });
  });

  test('online verify succeeds, saves the checkpoint; a second run checks consistency with it', async () => {
    const first = await cli(['ledger', 'verify']);
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    assert.match(first.stdout, /^OK: ledger verified/);
    assert.match(first.stdout, /decisions: +2 signatures verified/);
    assert.match(first.stdout, /audit: +\d+ entries replayed through the state machine and the policy in force: 2 requests, 2 decisions \(keys: 0 attested, 0 claimed, not attested, 2 software\), 1 activations, .*: no violations/);
    assert.match(first.stdout, /root: +[0-9a-f]{64} matches the signed checkpoint \(signed \d{4}-\d\d-\d\dT/);
    assert.match(first.stdout, /witness: +cosigned size \d+ as /);
    const saved = await readFile(statePath(), 'utf8');
    assert.ok(saved.startsWith(`${origin}\n`), saved);
    await backup('early');

    await fileAndDecide(world, 'bob', 'approve');
    await settle();
    const second = await cli(['ledger', 'verify', '--json']);
    assert.equal(second.code, 0, second.stderr);
    const v = parse(second) as VerifyJson & { audit: { counts: { requests: number; withoutPolicy: number }; violations: unknown[] }; vkey: string; cosigned: { size: number } };
    assert.equal(v.ok, true);
    assert.deepEqual([v.audit.counts.requests, v.audit.counts.withoutPolicy, v.audit.violations], [3, 0, []]);
    assert.equal(v.cosigned.size, v.treeSize);
    // The log's vkey: what `ledger vkey` prints, what a witness is configured with.
    const vkey = await cli(['ledger', 'vkey']);
    assert.equal(vkey.stdout.trim(), v.vkey);
    assert.ok(v.vkey.startsWith(`${origin}+`), v.vkey);
    assert.match(v.vkey, /^[^+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
    const root = await cli(['ledger', 'trusted-root', '--include-vkey']);
    const withVkey = JSON.parse(root.stdout) as { breakglassLogVkey: string; tlogs: unknown[] };
    assert.equal(withVkey.breakglassLogVkey, v.vkey);
    assert.equal(TrustedRoot.fromJSON(withVkey).tlogs.length, 1, 'the stock TrustedRoot parser ignores the extra field');
    assert.ok((v.treeSize ?? 0) > Number(saved.split('\n')[1]));

    // Incremental: only the entries added since the saved checkpoint are fetched and verified.
    await fileAndDecide(world, 'carol', 'approve');
    await settle();
    const third = await cli(['ledger', 'verify', '--incremental', '--json']);
    assert.equal(third.code, 0, third.stdout + third.stderr);
    const inc = parse(third) as VerifyJson & { entriesVerified: number };
    assert.ok(inc.entriesVerified > 0 && inc.entriesVerified < (inc.treeSize ?? 0), JSON.stringify(inc));
    assert.equal(inc.treeSize! - inc.entriesVerified, v.treeSize);

    // Audit state saved by an older breakglass (snapshot version 1: keys without their attestation)
    // cannot judge what came since: the incremental run starts over instead of auditing less.
    const treeStatePath = join(logStateDir({ XDG_STATE_HOME: stateHome }, origin), 'tree-state.json');
    // The file is the state as one JSON line, then the audit's open requests one a line.
    const [head, ...requestLines] = (await readFile(treeStatePath, 'utf8')).split('\n');
    const treeState = JSON.parse(head!) as { audit: { version: number }; requests: number };
    assert.equal(treeState.audit.version, 3);
    assert.equal(requestLines.filter(Boolean).length, treeState.requests);
    assert.ok(treeState.requests > 0, 'open requests are kept one a line');
    treeState.audit.version = 1;
    await writeFile(treeStatePath, [JSON.stringify(treeState), ...requestLines].join('\n'));
    const older = await cli(['ledger', 'verify', '--incremental', '--json']);
    assert.equal(older.code, 0, older.stdout + older.stderr);
    const full = parse(older) as VerifyJson & { entriesVerified: number };
    assert.equal(full.entriesVerified, full.treeSize, JSON.stringify(full));
    assert.match(older.stderr, /saved semantic-audit state is from an older version/);
    // A file cut short (a request line missing) is not resumed from: everything is verified, and the note says why.
    const lines = (await readFile(treeStatePath, 'utf8')).split('\n');
    assert.ok(lines.length > 2, 'the full run saved its requests a line each');
    await writeFile(treeStatePath, `${lines.slice(0, -2).join('\n')}\n`);
    const cut = await cli(['ledger', 'verify', '--incremental', '--json']);
    assert.equal(cut.code, 0, cut.stdout + cut.stderr);
    const again = parse(cut) as VerifyJson & { entriesVerified: number };
    assert.equal(again.entriesVerified, again.treeSize, JSON.stringify(again));
    assert.match(cut.stderr, /saved tree state for this log cannot be read \(tree-state\.json holds \d+ request line\(s\), not \d+\): verifying everything/);
    await backup('late');
  });

  test('export --format bundle verifies offline; bad usage exits 2', async () => {
    const dir = join(world.tmp, 'export');
    const r = await cli(['ledger', 'export', '--out', dir, '--sigstore-bundles']);
    assert.equal(r.code, 0, r.stderr);
    // Every exported decision bundle verifies with stock @sigstore/verify and the exported trust material.
    const trustedRoot = JSON.parse(await readFile(join(dir, 'trusted_root.json'), 'utf8')) as unknown;
    const publicKeys = JSON.parse(await readFile(join(dir, 'approver-keys.json'), 'utf8')) as Record<string, unknown>;
    const bundleFiles = await readdir(join(dir, 'decisions'));
    assert.equal(bundleFiles.length, 4);
    for (const f of bundleFiles) sigstoreVerify(JSON.parse(await readFile(join(dir, 'decisions', f), 'utf8')), trustedRoot, publicKeys);
    const offline = await cli(['ledger', 'verify', '--offline', dir, '--json']);
    assert.equal(offline.code, 0, offline.stdout + offline.stderr);
    assert.equal(parse(offline).ok, true);
    for (const f of ['entries.jsonl', 'checkpoint', 'log-key.pub', 'approver-keys.json', 'trusted_root.json']) await readFile(join(dir, f));
    assert.equal((await cli(['ledger', 'verify', '--offline', join(world.tmp, 'nope')])).code, 2);
    // Without its checkpoint history the export still verifies (against its latest checkpoint);
    // a history that cannot be read is named, not quietly skipped.
    const noHistory = join(world.tmp, 'export-no-history');
    await cp(dir, noHistory, { recursive: true });
    await rm(join(noHistory, 'checkpoints.jsonl'));
    const withoutHistory = await cli(['ledger', 'verify', '--offline', noHistory, '--json']);
    assert.equal(withoutHistory.code, 0, withoutHistory.stdout + withoutHistory.stderr);
    await mkdir(join(noHistory, 'checkpoints.jsonl'));
    const unreadable = await cli(['ledger', 'verify', '--offline', noHistory]);
    assert.equal(unreadable.code, 2, unreadable.stdout + unreadable.stderr);
    assert.match(unreadable.stderr, /checkpoints\.jsonl: cannot read the export's checkpoint history: EISDIR/);
    assert.equal((await cli(['ledger', 'export', '--format', 'xml'])).code, 2);
    // A reason crafted as a spreadsheet formula is neutralised in the auditor's CSV.
    const formula = '=HYPERLINK("http://evil.example","flaky suite blocks the release")';
    const filed = await world.api('alice', 'POST', '/v1/requests', { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, reason: formula, severity: 'sev3', ttl: '1h' });
    assert.equal(filed.status, 201, JSON.stringify(filed.body));
    const csv = await cli(['ledger', 'export', '--format', 'csv']);
    assert.equal(csv.code, 0);
    assert.match(csv.stdout.split('\r\n')[0]!, /^seq,time,type/);
    assert.ok(csv.stdout.includes(`"'=HYPERLINK(""http://evil.example"",""flaky suite blocks the release"")"`), 'formula cell quoted and prefixed with a single quote');
    assert.ok(!/(^|,)=HYPERLINK/m.test(csv.stdout));
    const jsonl = await cli(['ledger', 'export', '--format', 'jsonl']);
    assert.equal(jsonl.code, 0);
    assert.ok(jsonl.stdout.split('\n').filter(Boolean).every((line) => JSON.parse(line) !== null));
  });

  test('offline: flipped bit, deleted, reordered, inserted and truncated entries, forged checkpoint, other log key', async () => {
    const dir = join(world.tmp, 'export');
    const lines = (await readFile(join(dir, 'entries.jsonl'), 'utf8')).split('\n').slice(0, -1);
    const n = lines.length;
    const p = Math.floor(n / 2);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const checkpoint = await readFile(join(dir, 'checkpoint'), 'utf8');
    const origin = checkpoint.split('\n')[0]!;
    const thief = ed25519NoteSigner(origin, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    const forged = signNote(checkpoint.split('\n\n')[0]! + '\n', [thief]);
    const flipped = Buffer.from(lines[p]!);
    flipped[40]! ^= 0x04;
    const cases: Array<{ name: string; edit: (l: string[]) => string[]; checkpoint?: string; extra?: string[]; seq: number | null }> = [
      { name: 'flipped bit', edit: (l) => l.map((x, i) => (i === p ? flipped.toString() : x)), seq: p },
      { name: 'deleted', edit: (l) => l.filter((_, i) => i !== p), seq: p },
      { name: 'reordered', edit: (l) => l.map((x, i) => (i === p ? l[p + 1]! : i === p + 1 ? l[p]! : x)), seq: p },
      { name: 'inserted', edit: (l) => [...l.slice(0, p), l[p]!, ...l.slice(p)], seq: p + 1 },
      { name: 'truncated', edit: (l) => l.slice(0, p), seq: p },
      { name: 'forged checkpoint', edit: (l) => l, checkpoint: forged, seq: null },
      { name: 'pinned key of another log', edit: (l) => l, extra: ['--log-key', 'OTHER_KEY'], seq: null },
    ];
    const otherKeyPath = join(world.tmp, 'other.pub');
    await writeFile(otherKeyPath, publicKey.export({ format: 'pem', type: 'spki' }));
    await Promise.all(
      cases.map(async (c, i) => {
        const copy = join(world.tmp, `mutated-${i}`);
        await cp(dir, copy, { recursive: true });
        await writeFile(join(copy, 'entries.jsonl'), c.edit(lines).map((l) => `${l}\n`).join(''));
        if (c.checkpoint) await writeFile(join(copy, 'checkpoint'), c.checkpoint);
        const extra = (c.extra ?? []).map((x) => (x === 'OTHER_KEY' ? otherKeyPath : x));
        const r = await cli(['ledger', 'verify', '--offline', copy, '--json', ...extra]);
        assert.equal(r.code, 1, `${c.name}: expected exit 1, got ${r.code}\n${r.stdout}\n${r.stderr}`);
        const v = parse(r);
        assert.equal(v.ok, false, c.name);
        assert.equal(v.firstBadSeq, c.seq, `${c.name}: ${v.reason}`);
      }),
    );
    const human = await cli(['ledger', 'verify', '--offline', join(world.tmp, 'mutated-1')]);
    assert.match(human.stdout, new RegExp(`^FAILED: ledger verification failed at entry ${p}\\n  first bad: `));
  });

  test('a row edited straight in the SQLite file (trigger dropped) is caught at that entry, and the saved checkpoint does not move', async () => {
    const before = await readFile(statePath(), 'utf8');
    const target = 3;
    await restore('late', (db) => {
      db.exec('DROP TRIGGER ledger_entries_no_update');
      const row = db.prepare('SELECT entry_json FROM ledger_entries WHERE seq = ?').get(target) as { entry_json: string };
      const edited = row.entry_json.replace('"sourceAddress":"127.0.0.1"', '"sourceAddress":"10.9.9.9"');
      assert.notEqual(edited, row.entry_json);
      // A careful attacker also fixes the leaf hash column.
      const leaf = createHash('sha256').update(Buffer.from([0])).update(edited).digest();
      db.prepare('UPDATE ledger_entries SET entry_json = ?, leaf_hash = ? WHERE seq = ?').run(edited, leaf, target);
    });
    const r = await cli(['ledger', 'verify', '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const v = parse(r);
    assert.equal(v.firstBadSeq, target, v.reason);
    assert.equal(await readFile(statePath(), 'utf8'), before, 'a failed verification must not move the trusted checkpoint');
  });

  test('a rolled-back database (older backup restored) is refused', async () => {
    await restore('early');
    const r = await cli(['ledger', 'verify', '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(parse(r).code, 'rolled_back');
    const inc = await cli(['ledger', 'verify', '--incremental', '--json']);
    assert.equal(inc.code, 1, inc.stdout + inc.stderr);
    assert.equal(parse(inc).code, 'rolled_back');
  });

  test('a split view (same size, different root, signed by the log key) is refused', async () => {
    await restore('late');
    const trusted = await readFile(statePath(), 'utf8');
    const size = Number(trusted.split('\n')[1]);
    const origin = trusted.split('\n')[0]!;
    const logKey = ed25519NoteSigner(origin, await readFile(join(world.dataDir, 'log-key.pem'), 'utf8'));
    const otherRoot = createHash('sha256').update('another history').digest();
    const split = signNote(formatCheckpoint({ origin, size, rootHash: otherRoot, extensions: [] }), [logKey]);
    const splitPath = join(world.tmp, 'split-checkpoint');
    await writeFile(splitPath, split);
    const r = await cli(['ledger', 'verify', '--json', '--trusted-checkpoint', splitPath]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(parse(r).code, 'inconsistent_history');
    // The untouched store still verifies against what this client saw.
    const ok = await cli(['ledger', 'verify']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    await mkdir(join(world.tmp, 'done'), { recursive: true });
  });
});
