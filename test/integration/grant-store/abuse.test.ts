/**
 * The project's own hostile-input suite (issue 12), on SQLite and on PostgreSQL: what a requester
 * or a misconfigured gate tries against scopes, kept gates and free text. Every case asserts
 * there is no wrong accept and no 5xx, and every refusal leaves the ledger and every table
 * exactly as they were.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { BypassRequest } from '../../../shared/domain/request';
import { EXAMPLE_POLICY_PATH } from '../../../grant-store/policy/example-policy-path';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../shared/node/signing/software-signer';
import { startStoreFixture, withAttestationRoot, type CallResult, type StoreFixture } from '../../support/grant-store-fixture';
import { buildPivAttestation, type PivAttestationFixture } from '../../support/piv-attestation';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';

const REASON = 'The integration suite is down for the whole org since the runner upgrade';
const DIGEST = `sha256:${'4f'.repeat(32)}`;
/** The example policy plus an admission gate with a value pattern and no extra subject attributes. */
const IMAGE_GATE = "  - { id: image-admission, kind: slow, tier: low, scopeKeys: [namespace, digest], scopePatterns: { digest: 'sha256:[0-9a-f]{64}' }, allowExtraSubjectKeys: false }\n";

/** Every row of every table, canonical (table name → sorted rows): what "nothing was written" means. */
type Snapshot = () => Promise<Map<string, string>>;

function changedTables(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])].filter((t) => before.get(t) !== after.get(t));
}

function sqliteSnapshot(path: string): Snapshot {
  return async () => {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
      const cell = (_k: string, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? String(v) : v);
      return new Map(tables.map(({ name }) => [name, JSON.stringify((db.prepare(`SELECT * FROM "${name}"`).raw().all() as unknown[]).map((row) => JSON.stringify(row, cell)).sort())]));
    } finally {
      db.close();
    }
  };
}

function postgresSnapshot(url: string): Snapshot {
  return async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name");
      const out = new Map<string, string>();
      for (const { table_name: name } of tables.rows) {
        const rows = await client.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t`);
        out.set(name, JSON.stringify(rows.rows.map((r) => r.row).sort()));
      }
      return out;
    } finally {
      await client.end();
    }
  };
}

for (const backend of ['SQLite', 'PostgreSQL'] as const) {
  describe(`abuse: hostile input against scopes, kept gates and free text (${backend})`, () => {
    let f: StoreFixture;
    let db: TempDatabase | undefined;
    let snapshot: Snapshot;
    let alice: string;
    let gate: string;
    let bob: { token: string; signer: Awaited<ReturnType<StoreFixture['approver']>>['signer'] };
    let active: BypassRequest;
    let piv: PivAttestationFixture;
    const statuses: number[] = [];

    const call = async (...args: Parameters<StoreFixture['call']>): Promise<CallResult> => {
      const r = await f.call(...args);
      statuses.push(r.status);
      if (args[0] !== 'GET' && r.status < 300) dirty = true;
      return r;
    };

    /** `attempt` is refused with a 4xx naming `path` (when given), and nothing anywhere changes. */
    /** Set by any call that may write (a 2xx POST, a block counted) until the tables settle again. */
    let dirty = true;
    let quiet: Map<string, string> | undefined;
    /**
     * The tables once earlier, accepted work has settled: checkpoints are signed up to 500 ms
     * after an entry (DEFAULT_CHECKPOINT_INTERVAL_MS) and block counts are flushed in the
     * background, so after a write wait until two looks 700 ms apart agree.
     */
    async function settled(): Promise<Map<string, string>> {
      // Checks count blocks in memory and flush them every 10 s (BLOCK_FLUSH_INTERVAL_MS), so
      // the tests that check come after every refusal.
      if (!dirty && quiet) return quiet;
      let last = await snapshot();
      for (let i = 0; i < 10; i++) {
        await new Promise((resolve) => setTimeout(resolve, 700));
        const next = await snapshot();
        if (changedTables(last, next).length === 0) {
          dirty = false;
          return (quiet = next);
        }
        last = next;
      }
      assert.fail('the store kept writing for 7 s with nothing asked of it');
    }

    async function refused(what: string, attempt: () => Promise<CallResult>, expect: { status?: number; path?: string; message?: RegExp } = {}): Promise<CallResult> {
      const before = await settled();
      const r = await attempt();
      assert.ok(r.status >= 400 && r.status < 500, `${what}: ${r.status} ${r.text}`);
      if (expect.status) assert.equal(r.status, expect.status, `${what}: ${r.text}`);
      if (expect.path) assert.ok(r.json?.error?.fieldErrors?.some((e: { path: string }) => e.path === expect.path), `${what}: expected a field error at ${expect.path}: ${r.text}`);
      if (expect.message) assert.match(r.json?.error?.message ?? '', expect.message, what);
      const after = await snapshot();
      assert.deepEqual(changedTables(before, after), [], `${what}: a refusal wrote to these tables`);
      quiet = after;
      return r;
    }

    const file = (body: Record<string, unknown>) => call('POST', '/v1/requests', { token: alice, body: { gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, reason: REASON, severity: 'sev3', ttl: '1h', ...body } });
    const check = (body: Record<string, unknown>) => call('POST', '/v1/checks', { token: gate, body });

    before(async () => {
      const example = await readFile(EXAMPLE_POLICY_PATH, 'utf8');
      // Plus a tier that takes attested keys only, with the test's PIV root.
      piv = await buildPivAttestation();
      const policyYaml = withAttestationRoot(
        example
          .replace('gates:\n', `gates:\n${IMAGE_GATE}  - { id: signed-release, kind: slow, tier: attested, scopeKeys: [repo, tag] }\n`)
          .replace('tiers:\n', 'tiers:\n  attested:\n    approvals: 1\n    approverGroups: [oncall-leads]\n    maxTtl: 1h\n    hardwareKeyRequired: true\n    attestationRequired: true\n'),
        'test-yubico',
        piv.rootPem,
      );
      if (backend === 'PostgreSQL') {
        db = await createTempDatabase('bg_abuse');
        f = await startStoreFixture({ policyYaml, databaseUrl: db.url });
        snapshot = postgresSnapshot(db.url);
      } else {
        f = await startStoreFixture({ policyYaml });
        snapshot = sqliteSnapshot(join(f.dataDir, 'breakglass.db'));
      }
      alice = await f.token('alice', ['requester']);
      gate = await f.token('ci', ['gate']);
      bob = await f.approver('bob');
      const filed = await file({});
      assert.equal(filed.status, 201, filed.text);
      const request = filed.json.request as BypassRequest;
      const approved = await call('POST', `/v1/requests/${request.id}/decisions`, { token: bob.token, body: { bundle: await f.sign(request, 'bob', bob.signer, 'approve') } });
      assert.equal(approved.status, 200, approved.text);
      active = approved.json.request as BypassRequest;
      assert.equal(active.state, 'active');
    });
    after(async () => {
      await f?.close();
      await db?.drop();
    });

    test('a scope one attribute wide, with another key, or breaking a pattern is refused naming the key', async () => {
      await refused('branch only', () => file({ scope: { branch: 'main' } }), { status: 400, path: 'scope.repo' });
      await refused('repo only', () => file({ scope: { repo: 'payments-api' } }), { status: 400, path: 'scope.branch' });
      await refused('an undeclared key', () => file({ scope: { repo: 'payments-api', branch: 'main', job: 'x' } }), { status: 400, path: 'scope.job' });
      for (const digest of ['sha256:abc', `${DIGEST}0`, `sha512:${'4f'.repeat(32)}`, DIGEST.toUpperCase()]) {
        await refused(`digest ${digest}`, () => file({ gate: 'image-admission', scope: { namespace: 'pay', digest } }), { status: 400, path: 'scope.digest' });
      }
      const ok = await file({ gate: 'image-admission', scope: { namespace: 'pay', digest: DIGEST } });
      assert.equal(ok.status, 201, ok.text);
    });

    test('hostile text is refused naming the field and the code point; nothing reaches approvers raw', async () => {
      const hostile: [string, string, RegExp][] = [
        ['NUL', `${REASON}\u0000`, /U\+0000/],
        ['BEL', `${REASON}\u0007`, /U\+0007/],
        ['ANSI escape', `${REASON}\u001b[2K\rReason: SEV1 outage, CTO approved`, /U\+001B/],
        ['RLO', `${REASON}\u202e`, /U\+202E/],
        ['bidi isolate', `${REASON}\u2066`, /U\+2066/],
        ['lone surrogate', `${REASON}\ud800`, /U\+D800/],
        ['C1 control', `${REASON}\u009b`, /U\+009B/],
      ];
      for (const [what, reason, code] of hostile) await refused(`reason with ${what}`, () => file({ reason }), { status: 400, path: 'reason', message: code });
      await refused('25 zero-width spaces', () => file({ reason: '\u200b'.repeat(25) }), { status: 400, path: 'reason' });
      await refused('zero-width in a scope value', () => file({ scope: { repo: 'payments\u200b-api', branch: 'main' } }), { status: 400, path: 'scope.repo' });
      await refused('RLO in a scope value', () => file({ scope: { repo: 'payments-api', branch: 'main\u202e' } }), { status: 400, path: 'scope.branch' });
      await refused('ANSI in a key label', () => call('POST', '/v1/admin/approvers/carol/keys', { token: f.adminToken, body: { publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA7b3V0Yb1Q0m1C7b7Kz0cH2mX6Y3cD9Yg0sQ2x9nM1Vw=\n-----END PUBLIC KEY-----\n', label: 'yubikey\u001b[31m' } }), { status: 400, path: 'label' });
      await refused('NUL in check context', () => check({ gate: 'ci-tests', subject: { repo: 'payments-api', branch: 'main' }, context: { job: 'x\u0000' } }), { status: 400 });
      await refused('an impossible date', () => call('GET', '/v1/reports/gates?now=2026-13-45T25:61:61Z', { token: f.adminToken }), { status: 400 });
    });

    test('"hardware" is not the admin\'s word: a claimed key cannot approve an attestation tier, a forged attestation enrolls nothing', async () => {
      const claimed = generateSoftwareKeyPair();
      const enrolled = await call('POST', '/v1/admin/approvers/carol/keys', { token: f.adminToken, body: { publicKeyPem: claimed.publicKeyPem, hardwareBacked: true } });
      assert.equal(enrolled.status, 201, enrolled.text);
      assert.equal(enrolled.json.attestation, null);
      await refused('a forged attestation (another key\'s chain)', () => call('POST', '/v1/admin/approvers/dave/keys', { token: f.adminToken, body: { publicKeyPem: generateSoftwareKeyPair().publicKeyPem, attestation: { kind: 'piv', certificates: piv.certificates } } }), { status: 400, path: 'attestation' });
      const filed = await file({ gate: 'signed-release', scope: { repo: 'payments-api', tag: 'v1.2.3' } });
      assert.equal(filed.status, 201, filed.text);
      const request = filed.json.request as BypassRequest;
      const carol = await f.token('carol', ['approver']);
      const bundle = await f.sign(request, 'carol', fileKeySigner(claimed.privateKeyPem), 'approve');
      await refused('an approval with a claimed key', () => call('POST', `/v1/requests/${request.id}/decisions`, { token: carol, body: { bundle } }), { status: 403, message: /requires an attested hardware key/ });
      const attested = await call('POST', '/v1/admin/approvers/dave/keys', { token: f.adminToken, body: { publicKeyPem: piv.publicKeyPem, attestation: { kind: 'piv', certificates: piv.certificates } } });
      assert.equal(attested.status, 201, attested.text);
      assert.equal(attested.json.attestation.serial, '12345678');
      const dave = await f.token('dave', ['approver']);
      const ok = await call('POST', `/v1/requests/${request.id}/decisions`, { token: dave, body: { bundle: await f.sign(request, 'dave', fileKeySigner(piv.privateKeyPem), 'approve') } });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.request.state, 'active');
    });

    test('safety gates are kept: a policy weakening one is refused on reload naming the gate and property, and a software key cannot open one', async () => {
      const path = join(f.dataDir, 'policy.yaml');
      const good = await readFile(path, 'utf8');
      const weaken: [string, (text: string) => string, RegExp][] = [
        ['one approver', (t) => t.replace('    approvals: 2                     # two distinct approvers', '    approvals: 1'), /approvals: 2/],
        ['teammates', (t) => t.replace('    allowSameTeam: false\n    maxTtl: 1h', '    allowSameTeam: true\n    maxTtl: 1h'), /allowSameTeam: false/],
        ['no attestation', (t) => t.replace('    attestationRequired: true\n    notify: [ciso]', '    attestationRequired: false\n    notify: [ciso]'), /attestationRequired: true/],
        ['nobody told', (t) => t.replace('    notify: [ciso]                   # told about every request on this tier\n', ''), /notify: \[\.\.\.\]/],
      ];
      try {
        for (const [what, edit, missing] of weaken) {
          const weak = edit(good);
          assert.notEqual(weak, good, what);
          await writeFile(path, weak);
          const r = await refused(`reload: ${what}`, () => call('POST', '/v1/admin/policy/reload', { token: f.adminToken, body: {} }), { status: 400, message: /gate container-signing is a safety gate but its tier critical does not keep it/ });
          assert.match(r.json.error.message, missing, what);
        }
      } finally {
        await writeFile(path, good);
      }
      // The store kept its policy: a software key still cannot approve the safety gate.
      const filed = await file({ gate: 'container-signing', scope: { repo: 'payments-api', branch: 'main' } });
      assert.equal(filed.status, 201, filed.text);
      const request = filed.json.request as BypassRequest;
      await refused('a software-key approval of a safety gate', async () => call('POST', `/v1/requests/${request.id}/decisions`, { token: bob.token, body: { bundle: await f.sign(request, 'bob', bob.signer, 'approve') } }), { status: 403, message: /requires an attested hardware key/ });
    });

    test('a kept gate (bypass: never) refuses every request and says so at the check', async () => {
      await refused('request on secret-scan', () => file({ gate: 'secret-scan' }), { status: 400, path: 'gate', message: /bypass: never/ });
      const r = await check({ gate: 'secret-scan', subject: { repo: 'payments-api', branch: 'main' } });
      assert.equal(r.json.verdict, 'block');
      assert.equal(r.json.gateKind, 'safety');
      assert.equal(r.json.bypassable, false);
      assert.equal(r.json.requestCommand, null);
      assert.match(r.json.message, /SAFETY gate, kept: bypass: never/);
    });

    test('the check matches only on the declared keys: no wrong accept', async () => {
      const warn = await check({ gate: 'ci-tests', subject: { repo: 'payments-api', branch: 'main', job: 'nightly' } });
      assert.equal(warn.json.verdict, 'warn', 'extra subject attributes are ignored on this gate');
      for (const subject of [{ repo: 'totally-unrelated-repo', branch: 'main' }, { repo: 'payments-api', branch: 'dev' }, { branch: 'main' }, { repo: 'payments-api' }]) {
        const r = await check({ gate: 'ci-tests', subject });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.verdict, 'block', `${JSON.stringify(subject)} must block`);
      }
      const lacking = await check({ gate: 'ci-tests', subject: { branch: 'main' } });
      assert.match(lacking.json.message, /the subject lacks "repo"/);
      assert.equal(lacking.json.requestCommand, null);
      assert.equal(lacking.json.bypassable, false);
      const strict = await check({ gate: 'image-admission', subject: { namespace: 'pay', digest: DIGEST, image: 'ghcr.io/acme/api' } });
      assert.equal(strict.json.verdict, 'block');
      assert.match(strict.json.message, /carries "image", which gate image-admission does not allow/);
      const wider = await check({ gate: 'ci-tests', subject: { repo: 'payments-api', branch: 'dev' } });
      assert.match(wider.json.requestCommand, /--scope branch=dev,repo=payments-api /);
      const safety = await check({ gate: 'container-signing', subject: { repo: 'payments-api', branch: 'main' } });
      assert.equal(safety.json.verdict, 'block');
      assert.equal(safety.json.gateKind, 'safety');
      // The example's critical tier asks one more approver of a team over its quarterly budget.
      assert.match(safety.json.message, /SAFETY gate, tier critical: a bypass needs 2 distinct approvals from outside the requester's team \(1 more when the requester's team is over its quarterly budget\), signed with attested hardware keys, notifies ciso, at most 1h/);
    });

    test('no 5xx anywhere in the run', () => {
      assert.ok(statuses.length > 20);
      assert.deepEqual(statuses.filter((s) => s >= 500), []);
    });
  });
}
