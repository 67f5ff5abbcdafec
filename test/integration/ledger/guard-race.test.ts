import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LedgerGuard } from '../../../grant-store/ledger/ledger-guard';
import { loadLogKey, type LogKey } from '../../../grant-store/ledger/log-key';
import { PgStore } from '../../../grant-store/storage/postgres/pg-store';
import type { Store } from '../../../grant-store/storage/store';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import { signDecision } from '../../../shared/node/signing/sign-decision';
import { fileKeySigner } from '../../../shared/node/signing/software-signer';
import { newDecisionStatement } from '../../../shared/signing/decision-statement';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';
import { startLedgerWorld, type LedgerWorld } from './ledger-harness';

/**
 * The live check of a second instance's ledger guard while instance A approves requests on the
 * same PostgreSQL database (the 18:37 false tamper halt of test/integration/scale). The race is
 * forced, not waited for: the guard's store is wrapped so that right after each catch-up read
 * (the last page of getLedgerEntries) A commits one more approval, before the guard reads the
 * rows. Each such row is ahead of the projection when compared; the next catch-up finds the
 * entries that wrote it. A guard that halted after a fixed number of retries, each finding SOME
 * row ahead, halted here on the third. A row edited behind the store's back (no entry touches
 * it after the projection) must still halt, also while other rows are racing.
 */

const NEVER_MS = 3_600_000;

describe('ledger guard live check on PostgreSQL: rows another instance committed after the catch-up', { concurrency: false }, () => {
  let db: TempDatabase;
  let world: LedgerWorld;
  let key: LogKey;

  before(async () => {
    db = await createTempDatabase('bg_guard_race');
    world = await startLedgerWorld({ databaseUrl: db.url });
    key = await loadLogKey(join(world.dataDir, 'log-key.pem'), { originPath: join(world.dataDir, 'log-origin') });
  });

  after(async () => {
    await world?.store.close();
    await db?.drop();
    if (world) await rm(world.tmp, { recursive: true, force: true });
  });

  async function file(): Promise<string> {
    const created = await world.api<{ request: { id: string } }>('alice', 'POST', '/v1/requests', {
      gate: 'ci-tests',
      scope: { repo: 'payments-api', branch: `race-${randomBytes(4).toString('hex')}` },
      reason: 'Flaky integration suite blocks the INC-7 hotfix release',
      severity: 'sev3',
      ttl: '1h',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.request.id;
  }

  /** bob approves on instance A (decision, activation and the request row: one transaction). */
  async function approve(id: string): Promise<void> {
    const detail = await world.api<{ request: { digest: string } }>('bob', 'GET', `/v1/requests/${id}`);
    const statement = newDecisionStatement({
      request: { id, digest: detail.body.request.digest },
      decision: 'approve',
      approver: 'bob',
      comment: 'ok',
      ttl: '1h',
      nonceHex: randomBytes(16).toString('hex'),
      now: new Date(),
    });
    const bundle = await signDecision(statement, fileKeySigner(world.keys.bob!.privateKeyPem));
    const r = await world.api<{ request: { state: string } }>('bob', 'POST', `/v1/requests/${id}/decisions`, { bundle });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.request.state, 'active');
  }


  /**
   * Instance B: its own PgStore and guard (live checks run only when the test calls liveCheck).
   * `afterCatchUp` runs after every catch-up read that reached the ledger's head, before the
   * entries are handed to the guard; `beforeSnapshot` before the start-up comparison reads the
   * requests table.
   */
  async function instanceB(afterCatchUp: () => Promise<void>, beforeSnapshot: () => Promise<void> = async () => {}): Promise<{ guard: LedgerGuard; errors: string[]; close(): Promise<void> }> {
    const store = await PgStore.open({ databaseUrl: db.url, binder: key.binder });
    const raced: Store = new Proxy(store, {
      get(target, prop) {
        if (prop === 'getLedgerEntries') {
          return async (from: number, limit: number): Promise<LedgerEntry[]> => {
            const entries = await target.getLedgerEntries(from, limit);
            if (entries.length < limit) await afterCatchUp();
            return entries;
          };
        }
        if (prop === 'listRequestRows') {
          return async () => {
            await beforeSnapshot();
            return target.listRequestRows();
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const errors: string[] = [];
    const guard = await LedgerGuard.start({ store: raced, key, clock: () => new Date(), liveCheckDelayMs: NEVER_MS, logger: { error: (obj, message) => errors.push(`${message} ${JSON.stringify(obj)}`) } });
    return {
      guard,
      errors,
      async close() {
        await guard.stop();
        await store.close();
      },
    };
  }

  test('an approval committed on A between each catch-up and the row reads is never a halt', async () => {
    let racing: string[] = [];
    const b = await instanceB(async () => {
      const id = racing.shift();
      if (id) await approve(id);
    });
    try {
      assert.equal(b.guard.describe(), null, b.errors.join('\n'));
      // Filed after B started: B's next live check compares these rows.
      const filed = [await file(), await file(), await file(), await file()];
      racing = [...filed];
      await b.guard.liveCheck();
      assert.equal(b.guard.describe(), null, b.errors.join('\n'));
      // Whatever the racing commits left for the next live check is compared there.
      await b.guard.liveCheck();
      await b.guard.liveCheck();
      assert.deepEqual(racing, [], 'every approval was committed mid-check');
      assert.equal(b.guard.describe(), null, b.errors.join('\n'));
      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
    }
  });

  test('start-up: an approval committed on A before each read of the requests table is never a halt', async () => {
    const racing = [await file(), await file(), await file()];
    const b = await instanceB(
      async () => {},
      async () => {
        const id = racing.shift();
        if (id) await approve(id);
      },
    );
    try {
      assert.ok(racing.length < 3, 'the start-up comparison read the requests table');
      assert.equal(b.guard.describe(), null, b.errors.join('\n'));
      await b.guard.liveCheck();
      assert.equal(b.guard.describe(), null, b.errors.join('\n'));
      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
    }
  });

  test('a row edited behind the store\'s back still halts, while another row is racing', async () => {
    let racing: { tampered: string; racer: string } | undefined;
    const b = await instanceB(async () => {
      const r = racing;
      if (!r) return;
      racing = undefined;
      // A commits the racer's approval, then someone edits the other row straight in the table.
      await approve(r.racer);
      await db.sql("UPDATE requests SET expires_at = '2099-01-01T00:00:00.000Z' WHERE id = $1", [r.tampered]);
    });
    try {
      assert.equal(b.guard.describe(), null, b.errors.join('\n'));
      const tampered = await file();
      const racer = await file();
      racing = { tampered, racer };
      await b.guard.liveCheck();
      assert.equal(racing, undefined, 'the edit was made mid-check');
      const halt = b.guard.halted;
      assert.ok(halt, 'the edited row halts the guard');
      assert.equal(halt.table, 'requests');
      assert.match(halt.reason, new RegExp(`row ${tampered}, field column expires_at`));
      assert.doesNotMatch(halt.reason, new RegExp(racer));
      assert.match(b.errors.join('\n'), /TAMPER ALARM/);
    } finally {
      await b.close();
    }
  });
});
