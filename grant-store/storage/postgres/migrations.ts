import type { Queryable } from './connection';
import { countersOf, counterValues, upsertCounterSql } from '../counters';
import { gateBlockFromRow, type DocRow, type GateBlockRow } from '../row-mapping';
import { PG_ROWS, pgParam } from './pg-reader';
import { REQUESTER_NOTIFICATION_KINDS } from '../ledger-filter-sql';

/** The kinds ledger_requester_feed (migration 12) keeps, as an SQL list. */
const REQUESTER_KINDS_SQL = REQUESTER_NOTIFICATION_KINDS.map((k) => `'${k}'`).join(', ');

/**
 * Versioned PostgreSQL schema, mirroring grant-store/storage/sqlite/migrations.ts table for
 * table so both backends hold the same data. Append new migrations; never edit an applied one.
 *
 * Times are stored as the domain's ISO text (`2026-06-22T03:14:07.000Z`): fixed width, so text
 * order is time order, and they round-trip byte for byte into the canonical ledger entries.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Runs after `sql` in the same transaction (data the SQL alone cannot derive). */
  after?: (client: Queryable) => Promise<void>;
}

/** Fill the counters from the state already stored (migration 5 on an existing database). */
async function backfillCounters(client: Queryable): Promise<void> {
  const requests = (await client.query<DocRow>('SELECT doc FROM requests')).rows.map(PG_ROWS.request);
  const reviews = (await client.query<DocRow>('SELECT doc FROM reviews')).rows.map(PG_ROWS.review);
  const blocks = (await client.query<GateBlockRow>('SELECT gate, count, last_at FROM gate_blocks')).rows.map(gateBlockFromRow).map((b) => ({ gate: b.gate, at: b.lastAt, count: b.count }));
  const upsert = upsertCounterSql(pgParam, 'LEAST', 'GREATEST');
  for (const row of countersOf({ requests, reviews, evaluations: [], blocks })) await client.query(upsert, counterValues(row));
  await client.query(`INSERT INTO counters (metric, day, gate, team, subject, count, total, first_at, last_at)
    SELECT 'warns', substr(l.time, 1, 10), l.entry_json::jsonb->>'gate', COALESCE(r.team, ''), '', COUNT(*), 0, MIN(l.time), MAX(l.time)
    FROM ledger_entries l LEFT JOIN requests r ON r.id = l.target
    WHERE l.type = 'evaluation_under_bypass' AND l.entry_json::jsonb->>'gate' IS NOT NULL
    GROUP BY 2, 3, 4`);
}

/** Count the decision_latency counters (migration 11) from the requests already stored. */
async function backfillDecisionLatency(client: Queryable): Promise<void> {
  const requests = (await client.query<DocRow>("SELECT doc FROM requests WHERE activated_at IS NOT NULL OR state = 'denied'")).rows.map(PG_ROWS.request);
  const upsert = upsertCounterSql(pgParam, 'LEAST', 'GREATEST');
  for (const row of countersOf({ requests, reviews: [], evaluations: [], blocks: [] })) if (row.metric === 'decision_latency') await client.query(upsert, counterValues(row));
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      -- The next ledger seq. Appenders lock this one row (UPDATE ... RETURNING) inside the
      -- transaction that commits the state change, so seqs are assigned in commit order with
      -- no gap and the Merkle tree is the same whichever instance wrote.
      CREATE TABLE ledger_head (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        next_seq bigint NOT NULL CHECK (next_seq >= 0)
      );
      INSERT INTO ledger_head (id, next_seq) VALUES (true, 0);

      CREATE TABLE ledger_entries (
        seq bigint PRIMARY KEY CHECK (seq >= 0),
        time text NOT NULL,
        type text NOT NULL,
        target text NOT NULL,
        entry_json text NOT NULL,
        leaf_hash bytea NOT NULL CHECK (octet_length(leaf_hash) = 32)
      );
      CREATE INDEX ledger_entries_target ON ledger_entries (target, seq);

      -- History is append-only: reject UPDATE, DELETE and TRUNCATE on ledger tables, so even a
      -- bug or a person with psql who does not drop the triggers cannot rewrite it silently.
      CREATE FUNCTION breakglass_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        RAISE EXCEPTION '% is append-only: % rejected', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
      END
      $fn$;
      CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION breakglass_append_only();
      CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
        FOR EACH STATEMENT EXECUTE FUNCTION breakglass_append_only();

      -- The head only moves forward: a rollback of next_seq would reuse seqs.
      CREATE FUNCTION breakglass_head_forward() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF NEW.next_seq < OLD.next_seq THEN
          RAISE EXCEPTION 'ledger_head only moves forward (% -> %)', OLD.next_seq, NEW.next_seq USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
      END
      $fn$;
      CREATE TRIGGER ledger_head_forward BEFORE UPDATE ON ledger_head
        FOR EACH ROW EXECUTE FUNCTION breakglass_head_forward();
      CREATE TRIGGER ledger_head_no_delete BEFORE DELETE ON ledger_head
        FOR EACH ROW EXECUTE FUNCTION breakglass_append_only();

      CREATE TABLE requests (
        id text PRIMARY KEY,
        state text NOT NULL,
        requester text NOT NULL,
        team text NOT NULL,
        gate text NOT NULL,
        created_at text NOT NULL,
        activated_at text,
        expires_at text,
        lapses_at text,
        doc jsonb NOT NULL
      );
      CREATE INDEX requests_state ON requests (state);
      CREATE INDEX requests_gate_state ON requests (gate, state);
      CREATE INDEX requests_requester ON requests (requester, created_at);
      CREATE INDEX requests_team ON requests (team, created_at);
      CREATE INDEX requests_active_expiry ON requests (expires_at) WHERE state = 'active';
      CREATE INDEX requests_open_lapse ON requests (lapses_at) WHERE state IN ('pending', 'needs_info');

      CREATE TABLE decisions (
        seq bigint PRIMARY KEY,
        request_id text NOT NULL REFERENCES requests (id),
        decision text NOT NULL,
        approver text NOT NULL,
        key_id text NOT NULL,
        comment text NOT NULL,
        ttl text,
        at text NOT NULL,
        signature_digest text NOT NULL UNIQUE,
        nonce text NOT NULL UNIQUE,
        bundle jsonb NOT NULL
      );
      CREATE INDEX decisions_request ON decisions (request_id, seq);

      CREATE TABLE tokens (
        id text PRIMARY KEY,
        token_hash text NOT NULL UNIQUE,
        principal text NOT NULL,
        roles jsonb NOT NULL,
        created_at text NOT NULL,
        expires_at text,
        revoked_at text
      );

      CREATE TABLE keys (
        key_id text PRIMARY KEY,
        principal text NOT NULL,
        public_key_pem text NOT NULL,
        hardware_backed boolean NOT NULL,
        label text,
        enrolled_at text NOT NULL,
        revoked_at text
      );
      CREATE INDEX keys_principal ON keys (principal);

      CREATE TABLE reviews (
        id text PRIMARY KEY,
        request_id text NOT NULL UNIQUE REFERENCES requests (id),
        state text NOT NULL,
        opened_at text NOT NULL,
        doc jsonb NOT NULL
      );

      CREATE TABLE gate_blocks (
        gate text PRIMARY KEY,
        count bigint NOT NULL,
        last_at text NOT NULL
      );

      CREATE TABLE meta (
        key text PRIMARY KEY,
        value text NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'transparency log tables',
    // Mirrored by SQLite's migration 9 (grant-store/storage/sqlite/migrations.ts): every perfect-subtree hash
    // and every signed checkpoint, both append-only. Nodes are derived from ledger_entries, so
    // every instance computes the same ones (ON CONFLICT DO NOTHING when two write the same);
    // checkpoints are signed by whichever instance integrated the entries, all with the log key.
    sql: `
      CREATE TABLE ledger_nodes (
        level integer NOT NULL CHECK (level >= 0),
        idx bigint NOT NULL CHECK (idx >= 0),
        hash bytea NOT NULL CHECK (octet_length(hash) = 32),
        PRIMARY KEY (level, idx)
      );
      CREATE TRIGGER ledger_nodes_append_only BEFORE UPDATE OR DELETE ON ledger_nodes
        FOR EACH ROW EXECUTE FUNCTION breakglass_append_only();
      CREATE TRIGGER ledger_nodes_no_truncate BEFORE TRUNCATE ON ledger_nodes
        FOR EACH STATEMENT EXECUTE FUNCTION breakglass_append_only();

      CREATE TABLE ledger_checkpoints (
        id bigserial PRIMARY KEY,
        tree_size bigint NOT NULL CHECK (tree_size >= 0),
        root_hash bytea NOT NULL CHECK (octet_length(root_hash) = 32),
        note text NOT NULL,
        signed_at text NOT NULL
      );
      CREATE INDEX ledger_checkpoints_size ON ledger_checkpoints (tree_size);
      CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
        FOR EACH ROW EXECUTE FUNCTION breakglass_append_only();
      CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
        FOR EACH STATEMENT EXECUTE FUNCTION breakglass_append_only();
    `,
  },
  {
    version: 3,
    name: 'sign-in sessions',
    // Mirrors the SQLite migration: store sessions issued after an OIDC sign-in, only hashes
    // of the bearer and of the ID token (UNIQUE: one ID token, one session).
    sql: `
      CREATE TABLE sessions (
        id text PRIMARY KEY,
        token_hash text NOT NULL UNIQUE,
        id_token_hash text NOT NULL UNIQUE,
        principal text NOT NULL,
        roles jsonb NOT NULL,
        team text,
        approver_groups jsonb NOT NULL,
        issuer text NOT NULL,
        subject text NOT NULL,
        created_at text NOT NULL,
        expires_at text NOT NULL,
        ended_at text
      );
      CREATE INDEX sessions_principal ON sessions (principal, created_at);
    `,
  },
  {
    version: 4,
    name: 'emergency credentials, incidents, digest runs',
    // Mirrors the SQLite migration (see there).
    sql: `
      CREATE TABLE emergency_credentials (
        id text PRIMARY KEY,
        credential_digest text NOT NULL UNIQUE,
        gate text NOT NULL,
        state text NOT NULL,
        sealed_at text NOT NULL,
        doc jsonb NOT NULL
      );
      CREATE TABLE incidents (
        source text NOT NULL,
        incident_id text NOT NULL,
        status text NOT NULL,
        updated_at text NOT NULL,
        doc jsonb NOT NULL,
        PRIMARY KEY (source, incident_id)
      );
      CREATE TABLE incident_receipts (
        source text NOT NULL,
        event_id text NOT NULL,
        payload_digest text NOT NULL,
        received_at text NOT NULL,
        seq bigint,
        PRIMARY KEY (source, event_id)
      );
      CREATE TABLE digest_runs (
        week text PRIMARY KEY,
        instance text NOT NULL,
        claimed_at text NOT NULL,
        lease_until text NOT NULL,
        sent_at text,
        attempts integer NOT NULL,
        last_error text
      );
    `,
  },
  {
    version: 5,
    name: 'per-day counters; ledger indexed by type and time',
    // Mirrors the SQLite migration (see there).
    sql: `
      CREATE TABLE counters (
        metric text NOT NULL,
        day text NOT NULL,
        gate text NOT NULL,
        team text NOT NULL,
        subject text NOT NULL,
        count bigint NOT NULL,
        total bigint NOT NULL,
        first_at text NOT NULL,
        last_at text NOT NULL,
        PRIMARY KEY (metric, day, gate, team, subject)
      );
      CREATE INDEX ledger_entries_type_time ON ledger_entries (type, time);
      CREATE INDEX ledger_entries_time ON ledger_entries (time);
      CREATE INDEX requests_created ON requests (created_at);
      CREATE INDEX requests_activated ON requests (activated_at);
    `,
    after: backfillCounters,
  },
  {
    version: 6,
    name: 'ledger indexed by gate, actor and lifecycle entries',
    // Mirrors the SQLite migration (see there); the expressions match AUDIT_GATE / AUDIT_ACTOR in pg-reader.ts.
    sql: `
      CREATE INDEX ledger_entries_gate ON ledger_entries (((entry_json::jsonb) ->> 'gate'), seq);
      CREATE INDEX ledger_entries_actor ON ledger_entries (((entry_json::jsonb) ->> 'actor'), seq);
      CREATE INDEX ledger_entries_lifecycle ON ledger_entries (seq) WHERE type <> 'evaluation_under_bypass';
    `,
  },
  {
    version: 7,
    name: 'ledger entry bindings',
    // Mirrors the SQLite migration (see there).
    sql: `
      ALTER TABLE ledger_entries ADD COLUMN binding bytea;
    `,
  },
  {
    version: 8,
    name: 'key attestations',
    // Mirrors the SQLite migration (see there).
    sql: `ALTER TABLE keys ADD COLUMN attestation text;`,
  },
  {
    version: 9,
    name: 'transparency log tables',
    // SQLite's migration 9 creates the log's tables, which PostgreSQL has had since migration 2;
    // here the same version describes them in the catalogue (psql \dt+), so both backends carry
    // the same version numbers (test/unit/grant-store/storage/migration-versions.test.ts).
    sql: `
      COMMENT ON TABLE ledger_nodes IS 'Transparency log: every perfect-subtree hash (level 0 = leaf hashes), append-only; derived from ledger_entries.';
      COMMENT ON TABLE ledger_checkpoints IS 'Transparency log: every signed checkpoint, oldest first, append-only; a new one is signed only consistent with the last.';
    `,
  },
  {
    version: 10,
    name: 'witness cosignatures',
    // Mirrors the SQLite migration (see there).
    sql: `
      CREATE TABLE ledger_cosignatures (
        id bigserial PRIMARY KEY,
        checkpoint_id bigint NOT NULL REFERENCES ledger_checkpoints(id),
        tree_size bigint NOT NULL,
        witness text NOT NULL,
        cosigned_at bigint NOT NULL,
        line text NOT NULL,
        received_at text NOT NULL,
        source text NOT NULL CHECK (source IN ('push', 'submitted')),
        UNIQUE (checkpoint_id, witness)
      );
      CREATE TRIGGER ledger_cosignatures_append_only BEFORE UPDATE OR DELETE ON ledger_cosignatures
        FOR EACH ROW EXECUTE FUNCTION breakglass_append_only();
      CREATE TRIGGER ledger_cosignatures_no_truncate BEFORE TRUNCATE ON ledger_cosignatures
        FOR EACH STATEMENT EXECUTE FUNCTION breakglass_append_only();
    `,
  },
  {
    version: 11,
    name: 'bounded report reads: decisions by time, open reviews, bypasses per gate and team; decision latency counters',
    // Mirrors the SQLite migration (see there).
    sql: `
      CREATE INDEX decisions_at ON decisions (at);
      CREATE INDEX reviews_open ON reviews (opened_at, id) WHERE state = 'review_open';
      CREATE INDEX requests_gate_team_activated ON requests (gate, team, activated_at);
    `,
    after: backfillDecisionLatency,
  },
  {
    version: 12,
    name: 'notification feed: entries per requester, notify-list gates and emergency entries indexed',
    // Mirrors the SQLite migration (see there); the gate expression matches PG_LEDGER in pg-reader.ts.
    sql: `
      CREATE TABLE ledger_requester_feed (
        requester text NOT NULL,
        seq bigint NOT NULL,
        PRIMARY KEY (requester, seq)
      );
      CREATE FUNCTION breakglass_requester_feed_on_entry() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO ledger_requester_feed (requester, seq) SELECT requester, NEW.seq FROM requests WHERE id = NEW.target ON CONFLICT DO NOTHING;
        RETURN NULL;
      END $fn$;
      CREATE TRIGGER ledger_requester_feed_on_entry AFTER INSERT ON ledger_entries
        FOR EACH ROW WHEN (NEW.type IN (${REQUESTER_KINDS_SQL}))
        EXECUTE FUNCTION breakglass_requester_feed_on_entry();
      CREATE FUNCTION breakglass_requester_feed_on_request() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO ledger_requester_feed (requester, seq)
          SELECT NEW.requester, seq FROM ledger_entries WHERE target = NEW.id AND type IN (${REQUESTER_KINDS_SQL}) ON CONFLICT DO NOTHING;
        RETURN NULL;
      END $fn$;
      CREATE TRIGGER ledger_requester_feed_on_request AFTER INSERT ON requests
        FOR EACH ROW EXECUTE FUNCTION breakglass_requester_feed_on_request();
      INSERT INTO ledger_requester_feed (requester, seq)
        SELECT r.requester, e.seq FROM ledger_entries e JOIN requests r ON r.id = e.target WHERE e.type IN (${REQUESTER_KINDS_SQL}) ON CONFLICT DO NOTHING;
      CREATE INDEX ledger_entries_gate_lifecycle ON ledger_entries (((entry_json::jsonb) ->> 'gate'), seq) WHERE type <> 'evaluation_under_bypass';
      CREATE INDEX ledger_entries_emergency ON ledger_entries (seq) WHERE type IN ('emergency_used', 'emergency_refused');
    `,
  },
  {
    version: 13,
    name: 'time index carries the seq: the seq bounds of a time window from the index alone',
    // StoreReader.ledgerSeqRange (audit time filters) takes MIN/MAX(seq) over a time range. SQLite's
    // index on (time) holds the rowid, which is the seq; PostgreSQL's needs the column to answer
    // it with an index-only scan instead of a heap fetch per entry in the window. Same name.
    sql: `
      DROP INDEX ledger_entries_time;
      CREATE INDEX ledger_entries_time ON ledger_entries (time, seq);
    `,
  },
  {
    version: 14,
    name: 'keyset pages of requests and reviews: list indexes end in (time, id)',
    // Mirrors the SQLite migration (see there): a page of a list after its cursor is a backward
    // range scan of an index ending in (time, id) that stops at the page's limit.
    sql: `
      DROP INDEX requests_created;
      CREATE INDEX requests_created ON requests (created_at, id);
      DROP INDEX requests_state;
      CREATE INDEX requests_state ON requests (state, created_at, id);
      DROP INDEX requests_requester;
      CREATE INDEX requests_requester ON requests (requester, created_at, id);
      DROP INDEX requests_team;
      CREATE INDEX requests_team ON requests (team, created_at, id);
      CREATE INDEX requests_gate_created ON requests (gate, created_at, id);
      CREATE INDEX reviews_opened ON reviews (opened_at, id);
      CREATE INDEX reviews_state_opened ON reviews (state, opened_at, id);
    `,
  },
];
