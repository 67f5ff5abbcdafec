import type Database from 'better-sqlite3';
import { countersOf, counterValues, upsertCounterSql } from '../counters';
import { gateBlockFromRow, type DocRow, type GateBlockRow } from '../row-mapping';
import { SQLITE_ROWS } from './sqlite-reader';
import { REQUESTER_NOTIFICATION_KINDS } from '../ledger-filter-sql';

/** The kinds ledger_requester_feed (migration 12) keeps, as an SQL list. */
const REQUESTER_KINDS_SQL = REQUESTER_NOTIFICATION_KINDS.map((k) => `'${k}'`).join(', ');

export interface SqliteMigration {
  version: number;
  name: string;
  sql: string;
  /** Runs after `sql` in the same transaction (data the SQL alone cannot derive). */
  after?: (db: Database.Database) => void;
}

/** Fill the counters from the state already stored (migration 5 on an existing store). */
function backfillCounters(db: Database.Database): void {
  const requests = (db.prepare('SELECT doc FROM requests').all() as DocRow[]).map(SQLITE_ROWS.request);
  const reviews = (db.prepare('SELECT doc FROM reviews').all() as DocRow[]).map(SQLITE_ROWS.review);
  const blocks = (db.prepare('SELECT gate, count, last_at FROM gate_blocks').all() as GateBlockRow[]).map(gateBlockFromRow).map((b) => ({ gate: b.gate, at: b.lastAt, count: b.count }));
  const upsert = db.prepare(upsertCounterSql(() => '?', 'MIN', 'MAX'));
  for (const row of countersOf({ requests, reviews, evaluations: [], blocks })) upsert.run(...counterValues(row));
  db.exec(`INSERT INTO counters (metric, day, gate, team, subject, count, total, first_at, last_at)
    SELECT 'warns', substr(l.time, 1, 10), json_extract(l.entry_json, '$.gate'), COALESCE(r.team, ''), '', COUNT(*), 0, MIN(l.time), MAX(l.time)
    FROM ledger_entries l LEFT JOIN requests r ON r.id = l.target
    WHERE l.type = 'evaluation_under_bypass' AND json_extract(l.entry_json, '$.gate') IS NOT NULL
    GROUP BY 2, 3, 4`);
}

/** Count the decision_latency counters (migration 11) from the requests already stored. */
function backfillDecisionLatency(db: Database.Database): void {
  const requests = (db.prepare("SELECT doc FROM requests WHERE activated_at IS NOT NULL OR state = 'denied'").all() as DocRow[]).map(SQLITE_ROWS.request);
  const upsert = db.prepare(upsertCounterSql(() => '?', 'MIN', 'MAX'));
  for (const row of countersOf({ requests, reviews: [], evaluations: [], blocks: [] })) if (row.metric === 'decision_latency') upsert.run(...counterValues(row));
}

/**
 * Versioned schema. Append new migrations; never edit an applied one. The ledger table is
 * append-only: triggers reject UPDATE and DELETE, so even a bug (or a person with the SQLite
 * CLI who does not drop the triggers) cannot rewrite history silently.
 */
export const MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE ledger_entries (
        seq INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        type TEXT NOT NULL,
        target TEXT NOT NULL,
        entry_json TEXT NOT NULL,
        leaf_hash BLOB NOT NULL
      );
      CREATE INDEX ledger_entries_target ON ledger_entries(target, seq);
      CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only: UPDATE rejected'); END;
      CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only: DELETE rejected'); END;

      CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        requester TEXT NOT NULL,
        team TEXT NOT NULL,
        gate TEXT NOT NULL,
        created_at TEXT NOT NULL,
        activated_at TEXT,
        expires_at TEXT,
        lapses_at TEXT,
        doc TEXT NOT NULL
      );
      CREATE INDEX requests_state ON requests(state);
      CREATE INDEX requests_gate_state ON requests(gate, state);
      CREATE INDEX requests_requester ON requests(requester, created_at);
      CREATE INDEX requests_team ON requests(team, created_at);

      CREATE TABLE decisions (
        seq INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES requests(id),
        decision TEXT NOT NULL,
        approver TEXT NOT NULL,
        key_id TEXT NOT NULL,
        comment TEXT NOT NULL,
        ttl TEXT,
        at TEXT NOT NULL,
        signature_digest TEXT NOT NULL UNIQUE,
        nonce TEXT NOT NULL UNIQUE,
        bundle TEXT NOT NULL
      );
      CREATE INDEX decisions_request ON decisions(request_id, seq);

      CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        principal TEXT NOT NULL,
        roles TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT
      );

      CREATE TABLE keys (
        key_id TEXT PRIMARY KEY,
        principal TEXT NOT NULL,
        public_key_pem TEXT NOT NULL,
        hardware_backed INTEGER NOT NULL,
        label TEXT,
        enrolled_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE INDEX keys_principal ON keys(principal);

      CREATE TABLE reviews (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL UNIQUE REFERENCES requests(id),
        state TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        doc TEXT NOT NULL
      );

      CREATE TABLE gate_blocks (
        gate TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        last_at TEXT NOT NULL
      );

      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'deadline indexes',
    // The sweeper asks for due expiries and lapses every 250 ms: without these it scanned every
    // active row (about 0.8 ms of event loop with 10,000 active bypasses). Same partial indexes
    // as the Postgres schema.
    sql: `
      CREATE INDEX requests_active_expiry ON requests(expires_at) WHERE state = 'active';
      CREATE INDEX requests_open_lapse ON requests(lapses_at) WHERE state IN ('pending', 'needs_info');
    `,
  },
  {
    version: 3,
    name: 'sign-in sessions',
    // Store sessions issued after an OIDC sign-in (grant-store/identity): only hashes of the
    // bearer and of the ID token it was exchanged for (UNIQUE: one ID token, one session).
    sql: `
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        id_token_hash TEXT NOT NULL UNIQUE,
        principal TEXT NOT NULL,
        roles TEXT NOT NULL,
        team TEXT,
        approver_groups TEXT NOT NULL,
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        ended_at TEXT
      );
      CREATE INDEX sessions_principal ON sessions(principal, created_at);
    `,
  },
  {
    version: 4,
    name: 'emergency credentials, incidents, digest runs',
    // Sealed emergency credentials (only the secret's digest, UNIQUE), incidents as the verified
    // webhooks left them, one receipt per (source, event) so a replayed webhook is acted on once,
    // and one row per digest week: the instance that claims it sends it.
    sql: `
      CREATE TABLE emergency_credentials (
        id TEXT PRIMARY KEY,
        credential_digest TEXT NOT NULL UNIQUE,
        gate TEXT NOT NULL,
        state TEXT NOT NULL,
        sealed_at TEXT NOT NULL,
        doc TEXT NOT NULL
      );
      CREATE TABLE incidents (
        source TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        status TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (source, incident_id)
      );
      CREATE TABLE incident_receipts (
        source TEXT NOT NULL,
        event_id TEXT NOT NULL,
        payload_digest TEXT NOT NULL,
        received_at TEXT NOT NULL,
        seq INTEGER,
        PRIMARY KEY (source, event_id)
      );
      CREATE TABLE digest_runs (
        week TEXT PRIMARY KEY,
        instance TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        lease_until TEXT NOT NULL,
        sent_at TEXT,
        attempts INTEGER NOT NULL,
        last_error TEXT
      );
    `,
  },
  {
    version: 5,
    name: 'per-day counters; ledger indexed by type and time',
    // counters: see grant-store/storage/counters.ts (kept in the transaction of each change).
    sql: `
      CREATE TABLE counters (
        metric TEXT NOT NULL,
        day TEXT NOT NULL,
        gate TEXT NOT NULL,
        team TEXT NOT NULL,
        subject TEXT NOT NULL,
        count INTEGER NOT NULL,
        total INTEGER NOT NULL,
        first_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        PRIMARY KEY (metric, day, gate, team, subject)
      ) WITHOUT ROWID;
      CREATE INDEX ledger_entries_type_time ON ledger_entries(type, time);
      CREATE INDEX ledger_entries_time ON ledger_entries(time);
      CREATE INDEX requests_created ON requests(created_at);
      CREATE INDEX requests_activated ON requests(activated_at);
    `,
    after: backfillCounters,
  },
  {
    version: 6,
    name: 'ledger indexed by gate, actor and lifecycle entries',
    // The audit pushes its gate/actor filters into SQL with keyset paging on seq (see
    // AUDIT_GATE / AUDIT_ACTOR in sqlite-reader.ts: the query must use the same expressions);
    // notifications and the inbox read the lifecycle entries (everything but the warns, 99% of
    // a busy ledger) in seq order through the partial index.
    sql: `
      CREATE INDEX ledger_entries_gate ON ledger_entries(json_extract(entry_json, '$.gate'), seq);
      CREATE INDEX ledger_entries_actor ON ledger_entries(json_extract(entry_json, '$.actor'), seq);
      CREATE INDEX ledger_entries_lifecycle ON ledger_entries(seq) WHERE type <> 'evaluation_under_bypass';
    `,
  },
  {
    version: 7,
    name: 'ledger entry bindings',
    // The log key's binding of (origin, seq, leaf hash) made when the entry was appended (an
    // Ed25519 signature until 2026-12-01, since then an HMAC under a key derived from the log key:
    // shared/ledger/entry-binding.ts): on start the store refuses any row past its last
    // checkpoint without a valid one. NULL for rows appended before this migration (a
    // checkpoint covers them) and for rows written behind the store's back. The column is
    // added by ALTER, which the append-only triggers (UPDATE/DELETE) do not concern.
    sql: `
      ALTER TABLE ledger_entries ADD COLUMN binding BLOB;
    `,
  },
  {
    version: 8,
    name: 'key attestations',
    // The verified attestation of a hardware key (JSON: kind, root, serial, policy); null for
    // software keys and for hardware keys enrolled without one (`claimed`).
    sql: `ALTER TABLE keys ADD COLUMN attestation TEXT;`,
  },
  {
    version: 9,
    name: 'transparency log tables',
    // The transparency log's own tables (grant-store/ledger/transparency-log.ts), read and written
    // through Store.openLogTables() (sqlite-log-tables.ts), both append-only and both derived
    // from, or committing to, ledger_entries:
    // - ledger_nodes: every perfect-subtree hash (level 0 = leaf hashes recomputed by the log from
    //   the entry bytes), so roots and proofs cost O(log n) lookups;
    // - ledger_checkpoints: every checkpoint the log signed, in order. The newest is the one the
    //   log will not contradict: a new checkpoint is signed only after proving consistency with it.
    // IF NOT EXISTS: before this migration the log created them itself on start, so a store from
    // then already has them (with their rows, which must stay). PostgreSQL has had them since its
    // migration 2.
    sql: `
      CREATE TABLE IF NOT EXISTS ledger_nodes (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
      ) WITHOUT ROWID;
      CREATE TRIGGER IF NOT EXISTS ledger_nodes_no_update BEFORE UPDATE ON ledger_nodes
        BEGIN SELECT RAISE(ABORT, 'ledger_nodes is append-only: UPDATE rejected'); END;
      CREATE TRIGGER IF NOT EXISTS ledger_nodes_no_delete BEFORE DELETE ON ledger_nodes
        BEGIN SELECT RAISE(ABORT, 'ledger_nodes is append-only: DELETE rejected'); END;

      CREATE TABLE IF NOT EXISTS ledger_checkpoints (
        id INTEGER PRIMARY KEY,
        tree_size INTEGER NOT NULL,
        root_hash BLOB NOT NULL,
        note TEXT NOT NULL,
        signed_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ledger_checkpoints_size ON ledger_checkpoints(tree_size);
      CREATE TRIGGER IF NOT EXISTS ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
        BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only: UPDATE rejected'); END;
      CREATE TRIGGER IF NOT EXISTS ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
        BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only: DELETE rejected'); END;
    `,
  },
  {
    version: 10,
    name: 'witness cosignatures',
    // Cosignatures of the log's checkpoints by the policy's witnesses (C2SP tlog-cosignature),
    // each verified against the witness's key before it is kept (grant-store/ledger/
    // checkpoint-witnesses.ts); served appended to the checkpoint. Append-only like the log's
    // other tables; one per witness and checkpoint.
    sql: `
      CREATE TABLE ledger_cosignatures (
        id INTEGER PRIMARY KEY,
        checkpoint_id INTEGER NOT NULL REFERENCES ledger_checkpoints(id),
        tree_size INTEGER NOT NULL,
        witness TEXT NOT NULL,
        cosigned_at INTEGER NOT NULL,
        line TEXT NOT NULL,
        received_at TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('push', 'submitted')),
        UNIQUE (checkpoint_id, witness)
      );
      CREATE TRIGGER ledger_cosignatures_no_update BEFORE UPDATE ON ledger_cosignatures
        BEGIN SELECT RAISE(ABORT, 'ledger_cosignatures is append-only: UPDATE rejected'); END;
      CREATE TRIGGER ledger_cosignatures_no_delete BEFORE DELETE ON ledger_cosignatures
        BEGIN SELECT RAISE(ABORT, 'ledger_cosignatures is append-only: DELETE rejected'); END;
    `,
  },
  {
    version: 11,
    name: 'bounded report reads: decisions by time, open reviews, bypasses per gate and team; decision latency counters',
    // The reports read these instead of every request (grant-store/reports/report-source.ts):
    // the decisions of the last 90 days, the open reviews (a partial index, so closed reviews
    // cost nothing), the latest bypasses of a gate and team (a report's evidence ids).
    sql: `
      CREATE INDEX decisions_at ON decisions(at);
      CREATE INDEX reviews_open ON reviews(opened_at, id) WHERE state = 'review_open';
      CREATE INDEX requests_gate_team_activated ON requests(gate, team, activated_at);
    `,
    after: backfillDecisionLatency,
  },
  {
    version: 12,
    name: 'notification feed: entries per requester, notify-list gates and emergency entries indexed',
    // GET /v1/notifications (grant-store/alerts/notifications.ts) reads a principal's feed from
    // three indexed ranges from \`since\`, never the lifecycle entries of everyone:
    //  - ledger_requester_feed: (requester, seq) of every entry a requester is told of (the kinds
    //    in REQUESTER_NOTIFICATION_KINDS), kept by triggers in the transaction that writes the
    //    entry or the request, whichever comes second; derived, so rebuilt from both tables here;
    //  - ledger_entries_gate_lifecycle: a gate's entries without the warns (notify lists);
    //  - ledger_entries_emergency: emergency uses and refusals.
    sql: `
      CREATE TABLE ledger_requester_feed (
        requester TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (requester, seq)
      ) WITHOUT ROWID;
      CREATE TRIGGER ledger_requester_feed_on_entry AFTER INSERT ON ledger_entries
        WHEN NEW.type IN (${REQUESTER_KINDS_SQL})
        BEGIN INSERT OR IGNORE INTO ledger_requester_feed (requester, seq) SELECT requester, NEW.seq FROM requests WHERE id = NEW.target; END;
      CREATE TRIGGER ledger_requester_feed_on_request AFTER INSERT ON requests
        BEGIN INSERT OR IGNORE INTO ledger_requester_feed (requester, seq) SELECT NEW.requester, seq FROM ledger_entries WHERE target = NEW.id AND type IN (${REQUESTER_KINDS_SQL}); END;
      INSERT OR IGNORE INTO ledger_requester_feed (requester, seq)
        SELECT r.requester, e.seq FROM ledger_entries e JOIN requests r ON r.id = e.target WHERE e.type IN (${REQUESTER_KINDS_SQL});
      CREATE INDEX ledger_entries_gate_lifecycle ON ledger_entries(json_extract(entry_json, '$.gate'), seq) WHERE type <> 'evaluation_under_bypass';
      CREATE INDEX ledger_entries_emergency ON ledger_entries(seq) WHERE type IN ('emergency_used', 'emergency_refused');
    `,
  },
  {
    version: 13,
    name: 'time index carries the seq: the seq bounds of a time window from the index alone',
    // PostgreSQL rebuilds ledger_entries_time on (time, seq) so that StoreReader.ledgerSeqRange
    // reads a window's MIN/MAX(seq) from the index alone. Here the index on (time) already holds
    // the rowid, which is the seq (EXPLAIN QUERY PLAN: COVERING INDEX): nothing to change; the
    // version keeps both backends' numbering the same.
    sql: '',
  },
  {
    version: 14,
    name: 'keyset pages of requests and reviews: list indexes end in (time, id)',
    // GET /v1/requests and GET /v1/reviews are read a page at a time, newest first with the id
    // breaking ties (grant-store/storage/list-page-sql.ts): every index a list reads by ends in
    // (time, id), so a page after a cursor is a range read in index order that stops at its
    // limit, whatever the filter (none, a state, a requester, a team, a gate), never a sort of
    // every matching row. The request indexes keep their names and gain the trailing columns;
    // the state-only index was what COUNT and the state gauges read, which the longer one serves.
    sql: `
      DROP INDEX requests_created;
      CREATE INDEX requests_created ON requests(created_at, id);
      DROP INDEX requests_state;
      CREATE INDEX requests_state ON requests(state, created_at, id);
      DROP INDEX requests_requester;
      CREATE INDEX requests_requester ON requests(requester, created_at, id);
      DROP INDEX requests_team;
      CREATE INDEX requests_team ON requests(team, created_at, id);
      CREATE INDEX requests_gate_created ON requests(gate, created_at, id);
      CREATE INDEX reviews_opened ON reviews(opened_at, id);
      CREATE INDEX reviews_state_opened ON reviews(state, opened_at, id);
    `,
  },
];

/** Apply every migration newer than the database's version, each in its own transaction. */
export function migrate(db: Database.Database, now: () => string): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number };
  let applied = 0;
  for (const migration of MIGRATIONS) {
    if (migration.version <= row.v) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      migration.after?.(db);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, now());
    })();
    applied++;
  }
  return applied;
}
