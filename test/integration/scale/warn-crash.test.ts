import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { initDataDir } from '../../../grant-store/admin/init';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../../shared/domain/request';
import { runCli } from '../cli/cli-harness';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';
import { call, createToken, startInstance, writePolicy, type Instance } from './instances';

/**
 * A warn is acknowledged only once its evaluation entry is committed and made durable (the
 * group commit answers after the WAL sync on SQLite, after COMMIT on PostgreSQL). Gates check
 * under a bypass flat out; the store process is killed with SIGKILL mid-load (no shutdown of
 * any kind, batches in flight); after a restart on the same data dir (and database), every
 * acknowledged warn's evaluationSeq is an evaluation_under_bypass entry of that bypass and that
 * subject, and `breakglass ledger verify` accepts the ledger (bindings, tree, semantic audit).
 * A SIGKILL leaves the page cache to the kernel, so this proves "acknowledged = committed", not
 * survival of a power cut (which is the WAL sync's job).
 */

/** Warns acknowledged before the kill. */
const KILL_AFTER_ACKS = 150;
/** Gates checking at once (enough to fill group-commit batches). */
const CONCURRENCY = 24;

const POLICY = `version: 1
ttlChoices: [15m, 1h]
decisionWindow: 1h
tiers:
  low:
    approvals: 1
    approverGroups: [leads]
    maxTtl: 1h
gates:
  - id: ci-tests
    kind: slow
    tier: low
    scopeKeys: [repo, branch]
teams:
  payments:
    members: [alice]
  platform:
    members: [bob]
approvers:
  leads: [bob]
standingScopes:
  - id: crash-ci
    gate: ci-tests
    team: payments
    scope: { repo: crash-svc }
    maxTtl: 1h
    approvedBy: [bob]
    validUntil: "2099-12-31"
    reason: the crash test's bypass, active on filing so the gates warn at once
`;

async function ledgerEntries(base: string, token: string): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for (;;) {
    const r = await call(base, 'GET', `/v1/ledger/entries?from=${out.length}&limit=5000`, token);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const page = r.json.entries as LedgerEntry[];
    out.push(...page);
    if (page.length < 5000) return out;
  }
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`warns under load, store killed with SIGKILL (${backend})`, { timeout: 180_000 }, () => {
    let root: string | undefined;
    let db: TempDatabase | undefined;
    let instance: Instance | undefined;

    after(async () => {
      await instance?.kill();
      await db?.drop();
      if (root) await rm(root, { recursive: true, force: true });
    });

    test('every acknowledged warn is in the ledger after a restart, and ledger verify passes', async (t) => {
      root = await mkdtemp(join(tmpdir(), 'bg-warn-crash-'));
      const dataDir = join(root, 'data');
      if (backend === 'postgres') db = await createTempDatabase('bg_warn_crash');
      const { adminToken } = await initDataDir(dataDir, { databaseUrl: db?.url });
      await writePolicy(dataDir, POLICY);
      instance = await startInstance(`${backend} store`, dataDir, db?.url);
      const alice = await createToken(instance.url, adminToken, 'alice', ['requester']);
      const gate = await createToken(instance.url, adminToken, 'ci-gate', ['gate']);
      const filed = await call(instance.url, 'POST', '/v1/requests', alice, { gate: 'ci-tests', scope: { repo: 'crash-svc', branch: 'main' }, reason: 'crash test: a bypass the gates warn under', severity: 'sev3', ttl: '1h' });
      assert.equal(filed.status, 201, JSON.stringify(filed.json));
      const bypass = filed.json.request as BypassRequest;
      assert.equal(bypass.state, 'active');

      const victim = instance;
      const acknowledged: { seq: number; subject: Record<string, string> }[] = [];
      let sent = 0;
      let dead = false;
      let killAfter!: () => void;
      const enough = new Promise<void>((resolve) => (killAfter = resolve));
      const gates = Array.from({ length: CONCURRENCY }, async (_, g) => {
        while (!dead) {
          const subject = { repo: 'crash-svc', branch: 'main', run: `g${g}-${sent++}` };
          try {
            const r = await call(victim.url, 'POST', '/v1/checks', gate, { gate: 'ci-tests', subject });
            assert.equal(r.status, 200, JSON.stringify(r.json));
            assert.equal(r.json.verdict, 'warn', JSON.stringify(r.json));
            acknowledged.push({ seq: r.json.bypass.evaluationSeq as number, subject });
            if (acknowledged.length >= KILL_AFTER_ACKS) killAfter();
          } catch (error) {
            // A connection reset by the kill: that warn was not acknowledged, so nothing is promised.
            if (!dead) throw error;
          }
        }
      });
      await Promise.race([enough, new Promise((resolve) => setTimeout(resolve, 60_000))]);
      dead = true;
      await victim.kill();
      await Promise.all(gates);
      t.diagnostic(`${acknowledged.length} warns acknowledged of ${sent} sent before SIGKILL`);
      assert.ok(acknowledged.length >= KILL_AFTER_ACKS, `only ${acknowledged.length} warns were acknowledged in a minute`);

      // Restart on the same data dir (the crashed holder's data-dir lock is taken over) and database.
      instance = await startInstance(`${backend} store, restarted`, dataDir, db?.url);
      const entries = await ledgerEntries(instance.url, adminToken);
      assert.deepEqual(entries.map((e) => e.seq), entries.map((_, i) => i), 'the ledger is gap-free');
      const bySeq = new Map(entries.map((e) => [e.seq, e]));
      for (const { seq, subject } of acknowledged) {
        const entry = bySeq.get(seq);
        assert.ok(entry, `acknowledged warn ${seq} (${subject.run}) is missing after the restart`);
        assert.equal(entry.type, 'evaluation_under_bypass');
        assert.equal(entry.target, bypass.id);
        assert.deepEqual((entry.data as { subject: unknown }).subject, subject, `entry ${seq} records the acknowledged subject`);
      }
      assert.equal(new Set(acknowledged.map((a) => a.seq)).size, acknowledged.length, 'every acknowledged warn has its own entry');

      const stateDir = await mkdtemp(join(tmpdir(), 'bg-warn-crash-cli-'));
      try {
        const verify = await runCli(['ledger', 'verify', '--store', instance.url, '--token', adminToken, '--no-save', '--json'], { HOME: stateDir, XDG_STATE_HOME: stateDir, BREAKGLASS_STORE: '', BREAKGLASS_TOKEN: '' });
        assert.equal(verify.code, 0, `ledger verify after the crash: ${verify.stdout}${verify.stderr}`);
      } finally {
        await rm(stateDir, { recursive: true, force: true });
      }
      // The restarted store still warns (not halted by its start-up tamper check).
      const again = await call(instance.url, 'POST', '/v1/checks', gate, { gate: 'ci-tests', subject: { repo: 'crash-svc', branch: 'main' } });
      assert.equal(again.json.verdict, 'warn', JSON.stringify(again.json));
      await instance.stop();
    });
  });
}
