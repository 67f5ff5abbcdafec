import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { canonicalJson } from '../../../shared/canonical-json';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { AuditViolationKind } from '../../../shared/ledger/semantic-audit';
import { checkpointTimeLine, formatCheckpoint } from '../../../shared/ledger/checkpoint';
import { CompactRange } from '../../../shared/ledger/compact-range';
import { signNote } from '../../../shared/ledger/signed-note';
import { nodeTreeHasher } from '../../../shared/node/ledger/node-crypto';
import { keyIdFromPublicKeyPem } from '../../../shared/node/signing/key-id';
import { signDecision } from '../../../shared/node/signing/sign-decision';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../shared/node/signing/software-signer';
import { verifyDecisionBundle } from '../../../shared/node/signing/verify-decision';
import type { DecisionKind } from '../../../shared/domain/decision';
import { newDecisionStatement } from '../../../shared/signing/decision-statement';
import { utf8 } from '../../../shared/bytes';
import { dataDirPaths } from '../../../grant-store/admin/data-dir';
import { initDataDir } from '../../../grant-store/admin/init';
import { EXPORT_FILES } from '../../../grant-store/ledger/export-bundle';
import { loadLogKey, type LogKey } from '../../../grant-store/ledger/log-key';
import { outcomeJson, verifyOffline } from '../../../grant-store/cli/commands/ledger-verify';
import { rekorDsseBody } from '../../../grant-store/service/rekor-dsse-body';
import { startGrantStore, type RunningGrantStore } from '../../../grant-store/http/server';
import { runCli } from '../cli/cli-harness';
import { createTempDatabase, TEST_PG_URL, type TempDatabase } from '../storage/pg-temp-database';

/**
 * The semantic audit against a ledger an attacker rewrote (issue 11). A real store (SQLite and
 * PostgreSQL) records requests, signed decisions, activations, CI checks under a bypass and an
 * expiry through its HTTP API; it is stopped; then someone with write access to the database
 * AND the data directory (so the log key: a stolen backup, a root shell on the store host)
 * inserts or edits `ledger_entries` rows straight in the database, binds them, and signs a
 * checkpoint over the result. Every hash, binding and signature then verifies: only the
 * semantic audit can tell. For each violation kind, `breakglass ledger verify --offline` (the
 * function the command runs, and once per backend the command itself) must fail with exactly
 * that violation, naming the entry the attacker wrote. The same export of the untouched
 * database verifies with no violation, so each failure is the attack's.
 */

const T0 = Date.parse('2026-11-30T09:00:00.000Z');
const DECISION_ROUTE = (id: string) => `/v1/requests/${id}/decisions`;

/** What the store recorded through its API, by role in the story. */
interface Story {
  entries: LedgerEntry[];
  /** Active, approved by bob for 1h, three CI checks under it. */
  active: string;
  /** Approved, expired; its review is open. */
  expired: string;
  denied: string;
  /** Pending on ci-tests (tier low) and on deploy-freeze (tier high: no same-team approvals). */
  pending: string;
  pendingHigh: string;
  digests: Record<string, string>;
}

/** One database an attack is written into: rows read and written as the attacker would. */
interface AttackDb {
  texts(): Promise<string[]>;
  insert(seq: number, text: string, leaf: Uint8Array, binding: Uint8Array): Promise<void>;
  /** Rewrite a row (the append-only triggers dropped first, as an attacker would). */
  rewrite(seq: number, text: string, leaf: Uint8Array, binding: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

interface Backend {
  name: string;
  /** A copy of the stopped store's database for one case. */
  fork(): Promise<AttackDb>;
  cleanup(): Promise<void>;
}

/** An attack: rows to append (seq and time filled in) and rows to rewrite; `expect` is the seq the audit must name. */
interface Attack {
  append?: LedgerEntry[];
  rewrite?: LedgerEntry[];
  /** Index into `append` (a number) or the seq of a rewritten entry ({ seq }). */
  expect: number | { seq: number };
}

type AttackBuilder = (story: Story, forge: Forger) => Attack | Promise<Attack>;

/** Builds entries the way the store writes them, by copying ones it wrote. */
class Forger {
  private at: number;

  constructor(private readonly story: Story) {
    this.at = Date.parse(story.entries.at(-1)!.time);
  }

  first(type: LedgerEntry['type'], target?: string): LedgerEntry {
    const found = this.story.entries.find((e) => e.type === type && (target === undefined || e.target === target));
    assert.ok(found, `the store recorded no ${type}${target ? ` for ${target}` : ''}`);
    return structuredClone(found);
  }

  /** A copy of a recorded entry of `type`, changed by `patch`, a few seconds after the last one. */
  like(type: LedgerEntry['type'], patch: Partial<LedgerEntry>, data: Record<string, unknown> = {}, from?: string): LedgerEntry {
    const base = this.first(type, from);
    this.at += 5_000;
    return { ...base, time: new Date(this.at).toISOString(), ...patch, data: { ...base.data, ...data } };
  }

  /** Move the attacker's clock (appended entries get times after it). */
  skip(ms: number): void {
    this.at += ms;
  }

  /** A key_enrolled for `principal` with a key the attacker holds, and that key. */
  key(principal: string): { entry: LedgerEntry; privateKeyPem: string; publicKeyPem: string; keyId: string } {
    const pair = generateSoftwareKeyPair();
    const keyId = keyIdFromPublicKeyPem(pair.publicKeyPem);
    const entry = this.like('key_enrolled', { target: keyId, approver: principal }, { principal, keyId, publicKeyPem: pair.publicKeyPem });
    return { entry, ...pair, keyId };
  }

  /** A decision entry exactly as the store writes one (bundle, Rekor dsse fields), signed with the attacker's key. */
  async decision(key: { privateKeyPem: string; publicKeyPem: string; keyId: string }, approver: string, requestId: string, decision: DecisionKind, ttl?: string): Promise<LedgerEntry> {
    const statement = newDecisionStatement({
      request: { id: requestId, digest: this.story.digests[requestId]! },
      decision,
      approver,
      comment: 'looks fine',
      ...(ttl ? { ttl } : {}),
      nonceHex: randomBytes(16).toString('hex'),
      now: new Date(this.at),
    });
    const bundle = await signDecision(statement, fileKeySigner(key.privateKeyPem));
    const verified = await verifyDecisionBundle(bundle, () => ({ publicKeyPem: key.publicKeyPem }));
    const request = this.first('request_created', requestId);
    const entry = this.like(
      'decision',
      { actor: approver, approver, target: requestId, gate: request.gate },
      { decision, keyId: key.keyId, ttl: ttl ?? null, nonce: statement.nonce, requestDigest: statement.requestDigest, signatureDigest: verified.signatureDigest, bundle },
    );
    return { ...entry, ...rekorDsseBody(bundle, key.publicKeyPem) } as LedgerEntry;
  }

  /** A new request filed by alice (copied from one the store recorded), with `data` changed. */
  request(data: Record<string, unknown>): LedgerEntry {
    return this.like('request_created', { target: `req_forged${randomBytes(8).toString('hex')}` }, data, this.story.pending);
  }

  /** The store's activation of `requestId` (copied from a real one), window `ms` long. */
  activation(requestId: string, ms = 3_600_000, data: Record<string, unknown> = {}): LedgerEntry {
    const e = this.like('bypass_activated', { target: requestId }, data, this.story.active);
    return { ...e, expiresAt: new Date(Date.parse(e.time) + ms).toISOString(), data: { ...e.data, activatedAt: e.time } };
  }

  /** A CI check recorded under the bypass of `requestId` (copied from a real one). */
  evaluation(requestId: string, subject?: Record<string, string>): LedgerEntry {
    return this.like('evaluation_under_bypass', { target: requestId }, subject ? { subject } : {}, this.story.active);
  }
}

/** One attack per violation kind the audit reports. */
const ATTACKS: Record<AuditViolationKind, AttackBuilder> = {
  // A bypass switched on for a request nobody approved.
  activation_without_approvals: (s, f) => ({ append: [f.activation(s.pending)], expect: 0 }),
  self_approval: async (s, f) => {
    const key = f.key('alice');
    return { append: [key.entry, await f.decision(key, 'alice', s.pending, 'approve', '1h')], expect: 1 };
  },
  same_team_approval: async (s, f) => {
    // dave is in alice's team (payments); deploy-freeze's tier forbids same-team approvals.
    const key = f.key('dave');
    return { append: [key.entry, await f.decision(key, 'dave', s.pendingHigh, 'approve', '1h')], expect: 1 };
  },
  ineligible_decision: async (s, f) => {
    // frank leads security: not an approver of ci-tests' tier (oncall-leads).
    const key = f.key('frank');
    return { append: [key.entry, await f.decision(key, 'frank', s.pending, 'approve', '1h')], expect: 1 };
  },
  evaluation_outside_window: (s, f) => ({ append: [f.evaluation(s.denied)], expect: 0 }),
  evaluation_outside_scope: (s, f) => ({ append: [f.evaluation(s.active, { repo: 'payments-api', branch: 'release' })], expect: 0 }),
  late_expiry: (s, f) => {
    // The store went on writing two hours later; the active bypass (1h) was never expired.
    f.skip(2 * 3_600_000);
    return { append: [f.request({ scope: { repo: 'payments-api', branch: 'docs' } })], expect: 0 };
  },
  // alice closes the review of her own expired bypass (the store refuses her; the row does not ask).
  review_by_requester: (s, f) => {
    const opened = f.first('review_opened', s.expired);
    const completed = f.like('review_opened', { type: 'review_completed', actor: 'alice', actorRole: 'requester', reason: 'all fine' }, {}, s.expired);
    return { append: [{ ...completed, data: { reviewId: opened.data.reviewId, finding: 'justified' } }], expect: 0 };
  },
  illegal_transition: (s, f) => ({ append: [f.activation(s.denied)], expect: 0 }),
  unknown_request: (s, f) => ({ append: [f.evaluation('req_0000000000000000000000dead')], expect: 0 }),
  // The recorded window of the active bypass stretched from 1h to a week, in place.
  window_exceeds_approval: (s, f) => {
    const activation = f.first('bypass_activated', s.active);
    return { rewrite: [{ ...activation, expiresAt: new Date(Date.parse(activation.expiresAt!) + 7 * 86_400_000).toISOString() }], expect: { seq: activation.seq } };
  },
  standing_scope_invalid: (s, f) => {
    const request = f.request({ standingScope: 'payments-forever', scope: { repo: 'payments-api', branch: 'main' } });
    return { append: [request, f.activation(request.target)], expect: 1 };
  },
  // A second policy entry whose recorded rules are not what its file text says (any approver counts).
  policy_mismatch: (s, f) => {
    const loaded = f.first('policy_loaded');
    const policy = structuredClone(loaded.data.policy) as { tiers: Record<string, { approvals: number }> };
    policy.tiers.critical!.approvals = 1;
    return { append: [f.like('policy_loaded', {}, { policy })], expect: 0 };
  },
  // A use of an emergency credential the ledger never sealed.
  emergency_invalid: (s, f) => {
    const request = f.like('request_created', { type: 'emergency_used', actorRole: 'requester', target: s.pending }, {}, s.pending);
    return { append: [{ ...request, data: { credentialId: 'emc_never_sealed', team: 'payments', holders: ['alice'], ttl: '15m', reviewSignoffs: 2 } }], expect: 0 };
  },
  pre_approval_invalid: (s, f) => {
    const request = f.request({ preApproval: { source: 'pagerduty', incidentId: 'PNOSUCH' } });
    return { append: [request, f.activation(request.target)], expect: 1 };
  },
};

async function api<T>(store: RunningGrantStore, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(store.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** The story, through the real store's HTTP API, on an injected clock; the store is stopped after. */
async function recordStory(dataDir: string, databaseUrl: string | undefined): Promise<{ story: Story; key: LogKey }> {
  const { adminToken } = await initDataDir(dataDir, { databaseUrl });
  let now = T0;
  const store = await startGrantStore({ dataDir, port: 0, databaseUrl, clock: () => new Date(now) });
  try {
    const tokens: Record<string, string> = {};
    for (const [principal, roles] of [
      ['alice', ['requester']],
      ['bob', ['approver']],
      ['carol', ['approver']],
      ['ci-gate', ['gate']],
      ['erin', ['auditor']],
    ] as const) {
      const r = await api<{ token: string }>(store, adminToken, 'POST', '/v1/admin/tokens', { principal, roles });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      tokens[principal] = r.body.token;
    }
    const keys: Record<string, { privateKeyPem: string; publicKeyPem: string }> = {};
    for (const who of ['bob', 'carol']) {
      keys[who] = generateSoftwareKeyPair();
      const r = await api(store, adminToken, 'POST', `/v1/admin/approvers/${who}/keys`, { publicKeyPem: keys[who]!.publicKeyPem });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const digests: Record<string, string> = {};
    const file = async (gate: string, branch: string, ttl: string): Promise<string> => {
      const r = await api<{ request: { id: string; digest: string } }>(store, tokens.alice!, 'POST', '/v1/requests', {
        gate,
        scope: { repo: 'payments-api', branch },
        reason: 'Flaky integration suite blocks the INC-7 hotfix release',
        severity: 'sev3',
        ttl,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      digests[r.body.request.id] = r.body.request.digest;
      return r.body.request.id;
    };
    const decide = async (who: 'bob' | 'carol', id: string, decision: DecisionKind, ttl?: string) => {
      const statement = newDecisionStatement({ request: { id, digest: digests[id]! }, decision, approver: who, comment: decision === 'deny' ? 'use the retry job instead' : 'ok for the hotfix', ...(ttl ? { ttl } : {}), nonceHex: randomBytes(16).toString('hex'), now: new Date(now) });
      const bundle = await signDecision(statement, fileKeySigner(keys[who]!.privateKeyPem));
      const r = await api(store, tokens[who]!, 'POST', DECISION_ROUTE(id), { bundle });
      assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.body));
    };
    const entries = async () => (await api<{ entries: LedgerEntry[] }>(store, tokens.erin!, 'GET', '/v1/ledger/entries?limit=1000')).body.entries;

    // A bypass that runs its course: approved for 15 minutes, then the clock moves past it and
    // the store's sweeper expires it and opens its review.
    const expired = await file('ci-tests', 'hotfix', '15m');
    await decide('bob', expired, 'approve', '15m');
    now += 16 * 60_000;
    for (let i = 0; !(await entries()).some((e) => e.type === 'review_opened' && e.target === expired); i++) {
      assert.ok(i < 200, 'the sweeper did not expire the 15-minute bypass');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const active = await file('ci-tests', 'main', '1h');
    await decide('bob', active, 'approve', '1h');
    for (let i = 0; i < 3; i++) {
      now += 60_000;
      const r = await api<{ verdict: string }>(store, tokens['ci-gate']!, 'POST', '/v1/checks', { gate: 'ci-tests', subject: { repo: 'payments-api', branch: 'main' } });
      assert.equal(r.body.verdict, 'warn', JSON.stringify(r.body));
    }
    const denied = await file('ci-tests', 'feature', '1h');
    await decide('carol', denied, 'deny');
    const pending = await file('ci-tests', 'perf', '1h');
    const pendingHigh = await file('deploy-freeze', 'main', '1h');
    const story: Story = { entries: await entries(), active, expired, denied, pending, pendingHigh, digests };
    return { story, key: await loadLogKey(dataDirPaths(dataDir).logKeyPath) };
  } finally {
    // A clean shutdown signs a checkpoint over every entry.
    await store.close();
  }
}

/** Bind and write the attack's rows, sign a checkpoint over the result, export it as `ledger export` does. */
async function carryOut(db: AttackDb, attack: Attack, key: LogKey, dir: string): Promise<number> {
  const texts = await db.texts();
  const bound = (entry: LedgerEntry) => {
    const text = canonicalJson(entry);
    const leaf = nodeTreeHasher.leaf(utf8(text));
    return { text, leaf, binding: key.binder.bind(entry.seq, leaf) };
  };
  let expected = -1;
  for (const entry of attack.rewrite ?? []) {
    const b = bound(entry);
    await db.rewrite(entry.seq, b.text, b.leaf, b.binding);
  }
  let seq = texts.length;
  for (const [i, raw] of (attack.append ?? []).entries()) {
    const entry = { ...raw, seq: seq++ };
    const b = bound(entry);
    await db.insert(entry.seq, b.text, b.leaf, b.binding);
    if (attack.expect === i) expected = entry.seq;
  }
  if (typeof attack.expect === 'object') expected = attack.expect.seq;
  await exportSigned(await db.texts(), key, dir);
  return expected;
}

/** The export directory of `ledger export` for these rows, with a checkpoint the log key signed over them. */
async function exportSigned(texts: string[], key: LogKey, dir: string): Promise<void> {
  const range = new CompactRange(nodeTreeHasher);
  for (const text of texts) range.append(nodeTreeHasher.leaf(utf8(text)));
  const note = signNote(formatCheckpoint({ origin: key.origin, size: texts.length, rootHash: range.root(), extensions: [checkpointTimeLine(new Date(T0 + 86_400_000))] }), [key.signer]);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, EXPORT_FILES.entries), texts.map((t) => `${t}\n`).join(''));
  await writeFile(join(dir, EXPORT_FILES.checkpoint), note);
  await writeFile(join(dir, EXPORT_FILES.logKey), key.publicKeyPem);
}

interface VerifyJson {
  ok: boolean;
  code?: string;
  firstBadSeq?: number | null;
  reason?: string;
  audit: { violations: Array<{ kind: string; seq: number; target: string; message: string }>; counts: { entries: number } } | null;
}

async function verifyExport(dir: string): Promise<VerifyJson> {
  return outcomeJson(await verifyOffline(dir)) as VerifyJson;
}

function sqliteBackend(databasePath: string, work: string): Backend {
  let n = 0;
  return {
    name: 'SQLite',
    async fork() {
      const path = join(work, `case-${++n}.db`);
      await copyFile(databasePath, path);
      const db = new Database(path);
      const columns = (db.prepare('PRAGMA table_info(ledger_entries)').all() as Array<{ name: string }>).map((c) => c.name);
      const row = (seq: number, text: string, leaf: Uint8Array, binding: Uint8Array) => rowValues(columns, seq, text, leaf, binding);
      return {
        async texts() {
          return (db.prepare('SELECT entry_json FROM ledger_entries ORDER BY seq').all() as Array<{ entry_json: string }>).map((r) => r.entry_json);
        },
        async insert(seq, text, leaf, binding) {
          const values = row(seq, text, leaf, binding);
          db.prepare(`INSERT INTO ledger_entries (${Object.keys(values).join(', ')}) VALUES (${Object.keys(values).map(() => '?').join(', ')})`).run(...Object.values(values));
        },
        async rewrite(seq, text, leaf, binding) {
          db.exec('DROP TRIGGER IF EXISTS ledger_entries_no_update');
          const values = row(seq, text, leaf, binding);
          delete values.seq;
          db.prepare(`UPDATE ledger_entries SET ${Object.keys(values).map((c) => `${c} = ?`).join(', ')} WHERE seq = ?`).run(...Object.values(values), seq);
        },
        async close() {
          db.close();
        },
      };
    },
    async cleanup() {},
  };
}

function postgresBackend(base: TempDatabase): Backend {
  const copies: string[] = [];
  return {
    name: 'PostgreSQL',
    async fork() {
      // A copy of the stopped store's database (nobody is connected to it: TEMPLATE needs that).
      const name = `${base.name}_c${copies.length + 1}`;
      const admin = new pg.Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${base.name}`);
      } finally {
        await admin.end();
      }
      copies.push(name);
      const u = new URL(TEST_PG_URL);
      u.pathname = `/${name}`;
      const client = new pg.Client({ connectionString: u.toString() });
      await client.connect();
      const columns = (await client.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'ledger_entries'`)).rows.map((r) => r.column_name);
      const row = (seq: number, text: string, leaf: Uint8Array, binding: Uint8Array) => rowValues(columns, seq, text, leaf, binding);
      return {
        async texts() {
          return (await client.query<{ entry_json: string }>('SELECT entry_json FROM ledger_entries ORDER BY seq')).rows.map((r) => r.entry_json);
        },
        async insert(seq, text, leaf, binding) {
          const values = row(seq, text, leaf, binding);
          await client.query(`INSERT INTO ledger_entries (${Object.keys(values).join(', ')}) VALUES (${Object.keys(values).map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(values));
        },
        async rewrite(seq, text, leaf, binding) {
          await client.query('ALTER TABLE ledger_entries DISABLE TRIGGER USER');
          const values = row(seq, text, leaf, binding);
          delete values.seq;
          const keys = Object.keys(values);
          await client.query(`UPDATE ledger_entries SET ${keys.map((c, i) => `${c} = $${i + 1}`).join(', ')} WHERE seq = $${keys.length + 1}`, [...Object.values(values), seq]);
        },
        async close() {
          await client.end();
        },
      };
    },
    async cleanup() {
      const admin = new pg.Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      try {
        for (const name of copies) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** A row as the store writes it, for the columns this schema has; an unknown column fails loudly. */
function rowValues(columns: string[], seq: number, text: string, leaf: Uint8Array, binding: Uint8Array): Record<string, unknown> {
  const entry = JSON.parse(text) as LedgerEntry;
  const known: Record<string, unknown> = {
    seq,
    time: entry.time,
    type: entry.type,
    target: entry.target,
    entry_json: text,
    leaf_hash: Buffer.from(leaf),
    binding: Buffer.from(binding),
    gate: entry.gate,
    actor: entry.actor,
  };
  const values: Record<string, unknown> = {};
  for (const column of columns) {
    assert.ok(column in known, `ledger_entries has a column ${column} this test does not know how to write`);
    values[column] = known[column];
  }
  return values;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`semantic audit of a ledger rewritten in the database (${backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, real store)`, { concurrency: false }, () => {
    let work = '';
    let story: Story;
    let key: LogKey;
    let db: Backend;
    let pgBase: TempDatabase | undefined;

    before(async () => {
      work = await mkdtemp(join(tmpdir(), 'breakglass-audit-db-'));
      const dataDir = join(work, 'data');
      if (backend === 'postgres') pgBase = await createTempDatabase('bg_audit');
      ({ story, key } = await recordStory(dataDir, pgBase?.url));
      db = backend === 'sqlite' ? sqliteBackend(dataDirPaths(dataDir).databasePath, work) : postgresBackend(pgBase!);
    });

    after(async () => {
      await db?.cleanup();
      await pgBase?.drop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    test('the untouched ledger, exported and signed the same way, verifies with no violation', async () => {
      const copy = await db.fork();
      try {
        const dir = join(work, 'clean');
        await exportSigned(await copy.texts(), key, dir);
        const out = await verifyExport(dir);
        assert.equal(out.ok, true, JSON.stringify(out));
        assert.deepEqual(out.audit?.violations, []);
        assert.equal(out.audit?.counts.entries, story.entries.length);
      } finally {
        await copy.close();
      }
    });

    for (const [kind, builder] of Object.entries(ATTACKS) as Array<[AuditViolationKind, AttackBuilder]>) {
      test(`${kind}: reported alone, naming the entry the attacker wrote`, async () => {
        const copy = await db.fork();
        const dir = join(work, kind);
        let seq: number;
        try {
          seq = await carryOut(copy, await builder(story, new Forger(story)), key, dir);
        } finally {
          await copy.close();
        }
        const out = await verifyExport(dir);
        assert.equal(out.ok, false, JSON.stringify(out));
        assert.deepEqual(
          out.audit?.violations.map((v) => ({ kind: v.kind, seq: v.seq })),
          [{ kind, seq }],
          JSON.stringify(out.audit?.violations, null, 2),
        );
        // Every hash, binding and signature verifies: the audit alone decides, at that entry.
        assert.equal(out.code, 'semantic_violation', JSON.stringify(out));
        assert.equal(out.firstBadSeq, seq);
        assert.match(out.reason!, new RegExp(`^${kind}: `));

        if (kind === 'activation_without_approvals') {
          // The command itself, once per backend: exit 1, the same verdict in --json and in words.
          const json = await runCli(['ledger', 'verify', '--offline', dir, '--json'], { XDG_STATE_HOME: join(work, 'state') });
          assert.equal(json.code, 1, json.stdout + json.stderr);
          assert.deepEqual((JSON.parse(json.stdout) as VerifyJson).audit?.violations, out.audit?.violations);
          const text = await runCli(['ledger', 'verify', '--offline', dir], { XDG_STATE_HOME: join(work, 'state') });
          assert.equal(text.code, 1);
          assert.match(text.stdout, new RegExp(`^FAILED: ledger verification failed at entry ${seq}\\n  first bad: activation_without_approvals: entry ${seq}: request ${story.pending} activated with 0 valid distinct approvals`));
        }
      });
    }
  });
}
