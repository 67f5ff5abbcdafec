/**
 * Durable append throughput on the embedded store (moved out of bench/ledger-verify.ts, which now
 * times the shipped `ledger verify`). Run:  node --import tsx bench/ledger-append.ts
 *
 * Unbound appends (storage alone), then as the grant store runs them: every entry bound by the
 * log key as it is appended (issue 11), the ledger guard following the store, and the
 * transparency log verifying each binding before it signs; one commit at a time and with
 * APPEND_IN_FLIGHT writers sharing group commits.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../grant-store/storage/sqlite/sqlite-store';
import { TransparencyLog } from '../grant-store/ledger/transparency-log';
import { LedgerGuard } from '../grant-store/ledger/ledger-guard';
import { loadLogKey } from '../grant-store/ledger/log-key';
import type { NewLedgerEntry } from '../grant-store/storage/store';

const APPEND_COUNT = 1000;
const APPEND_IN_FLIGHT = 16;
const seconds = (ns: bigint) => Number(ns) / 1e9;
const tmp = mkdtempSync(join(tmpdir(), 'breakglass-bench-append-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const dataDir = join(tmp, 'store');
mkdirSync(dataDir);
const entryTemplate: NewLedgerEntry = {
  time: new Date().toISOString(),
  type: 'alert_delivered',
  actor: 'admin',
  actorRole: 'admin',
  target: 'bench-alert',
  gate: null,
  reason: null,
  incidentRef: null,
  approver: null,
  expiresAt: null,
  sourceAddress: '127.0.0.1',
  data: { note: 'bench entry' },
} as unknown as NewLedgerEntry;
/** APPEND_COUNT one-entry transactions, `inFlight` at a time (1 = every commit its own fsync; more share group commits). */
async function appendRate(store: SqliteStore, inFlight = 1): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < APPEND_COUNT) {
        await store.transaction(async (tx) => {
          await tx.appendLedger([{ ...entryTemplate, time: new Date().toISOString() }]);
        });
      }
    }),
  );
  return APPEND_COUNT / seconds(process.hrtime.bigint() - started);
}
const unboundStore = SqliteStore.open(join(dataDir, 'unbound.db'));
const bare = await appendRate(unboundStore);
const bareConcurrent = await appendRate(unboundStore, APPEND_IN_FLIGHT);
await unboundStore.close();
const storeLogKey = await loadLogKey(join(dataDir, 'log-key.pem'));
const databasePath = join(dataDir, 'breakglass.db');
const store = SqliteStore.open(databasePath, { binder: storeLogKey.binder });
const guard = await LedgerGuard.start({ store, key: storeLogKey, clock: () => new Date() });
const log = await TransparencyLog.open({ store, dataDir, guard, key: storeLogKey });
const withLog = await appendRate(store);
const withLogConcurrent = await appendRate(store, APPEND_IN_FLIGHT);
await log.waitForCheckpoint(2 * APPEND_COUNT);
const checkpointed = log.latestCheckpoint()!.treeSize;
const rate = (n: number) => `${Math.round(n).toLocaleString('en')}/s`;
console.log(
  `durable appends (SQLite WAL, synchronous=FULL), bound by the log key with the ledger guard following and the transparency log verifying bindings and signing checkpoints: ${rate(withLog)} one commit at a time (unbound store alone ${rate(bare)}, ratio ${(withLog / bare).toFixed(2)}), ${rate(withLogConcurrent)} with ${APPEND_IN_FLIGHT} writers sharing group commits (unbound ${rate(bareConcurrent)}, ratio ${(withLogConcurrent / bareConcurrent).toFixed(2)}); target ≥ 500/s; checkpoint covers ${checkpointed}${guard.halted ? `; HALTED: ${guard.describe()}` : ''}`,
);
if (guard.halted || checkpointed !== 2 * APPEND_COUNT) {
  console.error('SELF-TEST FAILED: the guarded store halted or did not sign every bound entry');
  process.exitCode = 1;
}
await log.close();
await guard.stop();
await store.close();
