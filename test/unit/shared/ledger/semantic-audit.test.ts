import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { LedgerEntry } from '../../../../shared/domain/ledger-entry';
import type { Policy } from '../../../../shared/domain/policy';
import { auditLedger, auditView, EntryTimes, SemanticAuditor, type AuditSnapshot, type AuditViolationKind } from '../../../../shared/ledger/semantic-audit';
import { seededRandom } from '../../../support/seeded-random';
import { nodeSha256 } from '../../../../shared/node/ledger/node-crypto';
import { EXAMPLE_POLICY_PATH } from '../../../../grant-store/policy/example-policy-path';
import { parsePolicy, policyHash } from '../../../../grant-store/policy/load-policy';

// The example, with its critical tier's keys not required to be hardware-backed: the ledgers
// below enroll software keys and each breaks one other rule at a time.
const source = readFileSync(EXAMPLE_POLICY_PATH, 'utf8').replace(/^( {4}hardwareKeyRequired: )true.*$/m, '$1false');
const policy = parsePolicy(Buffer.from(source), 'policy.yaml').policy;
const T0 = Date.parse('2026-06-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Ledgers written the way the store writes them (same entry types, fields and order), with
 * one rule broken at a time. Times are explicit, in ms after T0.
 */
class Builder {
  readonly entries: LedgerEntry[] = [];
  at = 0;

  add(type: LedgerEntry['type'], actor: string, target: string, fields: Partial<LedgerEntry> = {}, data: Record<string, unknown> = {}): LedgerEntry {
    const entry: LedgerEntry = {
      seq: this.entries.length,
      time: iso(T0 + this.at),
      type,
      actor,
      actorRole: actor === 'system' ? 'system' : 'admin',
      target,
      gate: null,
      reason: null,
      incidentRef: null,
      approver: null,
      expiresAt: null,
      sourceAddress: null,
      data,
      ...fields,
    };
    this.entries.push(entry);
    return entry;
  }

  policy(p: Policy = policy, text = source): this {
    this.add('policy_loaded', 'admin', policyHash(Buffer.from(text)), {}, { hash: policyHash(Buffer.from(text)), path: 'policy.yaml', source: text, policy: p });
    return this;
  }

  /** A key enrolled as the store records it: attested (a verified TPM certification, the default), claimed (--hardware alone) or software. */
  key(principal: string, keyId = `key-${principal}`, hardware: 'attested' | 'claimed' | 'software' = 'attested'): this {
    const attestation = hardware === 'attested' ? { kind: 'tpm', root: 'corp-tpm-ca', serial: `5e${principal.length}`, policy: { fixedTPM: true } } : null;
    this.add('key_enrolled', 'admin', keyId, { approver: principal }, { principal, keyId, publicKeyPem: 'PEM', hardwareBacked: hardware !== 'software', hardware, attestation });
    return this;
  }

  request(id: string, requester: string, team: string, gate = 'ci-tests', ttl = '1h', scope: Record<string, string> = { repo: 'payments-api', branch: 'main' }): this {
    this.add('request_created', requester, id, { gate }, { scope, ttl, team, severity: 'sev2', standingScope: null });
    return this;
  }

  /** A decision entry as the store writes it; `key` overrides what it records about the signing key (a ledger from before it recorded hardware omits both fields). */
  decide(id: string, approver: string, decision: 'approve' | 'deny' | 'request_info' | 'revoke', ttl: string | null = '1h', keyId = `key-${approver}`, gate = 'ci-tests', key?: Record<string, unknown>): this {
    const enrolled = [...this.entries].reverse().find((e) => e.type === 'key_enrolled' && e.data.keyId === keyId)?.data;
    const recorded = key ?? (enrolled ? { hardwareBacked: enrolled.hardwareBacked, hardware: enrolled.hardware, attestation: enrolled.attestation } : { hardwareBacked: false });
    this.add('decision', approver, id, { gate, approver }, { decision, keyId, ttl: decision === 'approve' ? ttl : null, ...recorded });
    return this;
  }

  activate(id: string, ttlMs = 3_600_000, gate = 'ci-tests', ttl = '1h'): this {
    this.add('bypass_activated', 'bob', id, { gate, expiresAt: iso(T0 + this.at + ttlMs) }, { bypassId: `byp_${id}`, ttl, activatedAt: iso(T0 + this.at) });
    return this;
  }

  evaluate(id: string, subject: Record<string, string> = { repo: 'payments-api', branch: 'main' }, gate = 'ci-tests'): this {
    this.add('evaluation_under_bypass', 'ci', id, { gate }, { subject, verdict: 'warn' });
    return this;
  }

  expire(id: string): this {
    this.add('bypass_expired', 'system', id, { gate: 'ci-tests' });
    this.add('review_opened', 'system', id, { gate: 'ci-tests' }, { reviewId: `rev_${id}` });
    return this;
  }

  complete(id: string, by: string): this {
    this.add('review_completed', by, id, { gate: 'ci-tests' }, { reviewId: `rev_${id}`, finding: 'justified' });
    return this;
  }

  /** The happy path: alice files, bob approves, gates warn, it expires on time, carol reviews. */
  clean(id = 'req_1'): this {
    this.request(id, 'alice', 'payments').decide(id, 'bob', 'approve').activate(id).evaluate(id);
    this.at += 3_600_000 + 200;
    return this.expire(id).complete(id, 'carol');
  }
}

function base(): Builder {
  return new Builder().policy().key('bob').key('carol').key('erin').key('frank').key('alice');
}

function audit(b: Builder) {
  return auditLedger(b.entries, { sha256: nodeSha256, parsePolicySource: (text) => parsePolicy(Buffer.from(text), 'policy.yaml').policy });
}

function only(b: Builder, kind: AuditViolationKind, seq: number): void {
  const report = audit(b);
  assert.deepEqual(
    report.violations.map((v) => [v.kind, v.seq]),
    [[kind, seq]],
    report.violations.map((v) => v.message).join('\n'),
  );
}

describe('semantic audit: replay through the state machine and the policy in force', () => {
  test('a clean ledger reports no violation and counts what it checked', () => {
    const b = base().clean('req_1').clean('req_2');
    const report = audit(b);
    assert.deepEqual(report.violations, []);
    assert.deepEqual(
      { ...report.counts },
      { entries: b.entries.length, policies: 1, requests: 2, decisions: 2, activations: 2, evaluations: 2, expiries: 2, revocations: 0, reviewsCompleted: 2, signedWith: { attested: 2, claimed: 0, software: 0 }, withoutPolicy: 0, lateAfterDowntime: 0, redacted: 0 },
    );
  });

  test('activation without enough distinct, enrolled, unrevoked, eligible approvers', () => {
    // critical tier (container-signing) needs two distinct approvers; only erin approved.
    const b = base().request('req_c', 'alice', 'payments', 'container-signing').decide('req_c', 'erin', 'approve', '1h', 'key-erin', 'container-signing');
    const seq = b.entries.length;
    b.activate('req_c', 3_600_000, 'container-signing');
    only(b, 'activation_without_approvals', seq);

    // One approval by a key that was revoked before it: the approval does not count.
    const r = base();
    r.add('key_revoked', 'admin', 'key-bob', {}, { principal: 'bob', keyId: 'key-bob' });
    r.request('req_r', 'alice', 'payments').decide('req_r', 'bob', 'approve');
    const decisionSeq = r.entries.length - 1;
    r.activate('req_r');
    const report = audit(r);
    assert.deepEqual(report.violations.map((v) => [v.kind, v.seq]), [['ineligible_decision', decisionSeq], ['activation_without_approvals', decisionSeq + 1]]);
    assert.match(report.violations[1]!.message, /not counted: bob at \d+: key key-bob was revoked/);

    // The same approver twice does not make two.
    const twice = base().request('req_t', 'alice', 'payments', 'container-signing');
    twice.decide('req_t', 'carol', 'approve', '1h', 'key-carol', 'container-signing').decide('req_t', 'carol', 'approve', '1h', 'key-carol', 'container-signing');
    const activationSeq = twice.entries.length;
    twice.activate('req_t', 3_600_000, 'container-signing');
    only(twice, 'activation_without_approvals', activationSeq);
  });

  test('self-approval, and same-team approval where the tier forbids it', () => {
    const self = base().request('req_s', 'bob', 'platform');
    const seq = self.entries.length;
    self.decide('req_s', 'bob', 'approve');
    const selfReport = audit(self);
    assert.deepEqual(selfReport.violations.map((v) => [v.kind, v.seq]), [['self_approval', seq]]);

    // deploy-freeze is tier high (allowSameTeam: false): erin is on bob's team.
    const team = base().request('req_h', 'bob', 'platform', 'deploy-freeze', '1h');
    const teamSeq = team.entries.length;
    team.decide('req_h', 'erin', 'approve', '1h', 'key-erin', 'deploy-freeze');
    only(team, 'same_team_approval', teamSeq);
  });

  test('an evaluation under a bypass outside its window, or for a subject its scope does not cover', () => {
    const before = base().request('req_1', 'alice', 'payments').decide('req_1', 'bob', 'approve');
    const early = before.entries.length;
    before.evaluate('req_1');
    before.activate('req_1');
    only(before, 'evaluation_outside_window', early);

    const after = base().request('req_1', 'alice', 'payments').decide('req_1', 'bob', 'approve').activate('req_1');
    after.at += 3_600_000; // exactly at expiresAt: the window is [activatedAt, expiresAt)
    const late = after.entries.length;
    after.evaluate('req_1');
    only(after, 'evaluation_outside_window', late);

    const scope = base().request('req_1', 'alice', 'payments').decide('req_1', 'bob', 'approve').activate('req_1');
    const outside = scope.entries.length;
    scope.evaluate('req_1', { repo: 'payments-api', branch: 'release' });
    scope.evaluate('req_1', { repo: 'payments-api', branch: 'main', extra: 'fine' });
    only(scope, 'evaluation_outside_scope', outside);
  });

  test('the entries cut to auditView (as worker threads hand them over) give the same report as the whole entries', () => {
    const b = base().clean('req_1').request('req_2', 'alice', 'payments').decide('req_2', 'bob', 'approve');
    b.evaluate('req_2'); // before its activation: outside the window
    b.activate('req_2');
    b.evaluate('req_2', { repo: 'payments-api', branch: 'release' }); // outside the scope
    b.evaluate('req_2');
    b.evaluate('req_9'); // an unknown request
    b.at += 3_600_000 + 5000;
    b.evaluate('req_2'); // after the window, and evidence of a late expiry
    const views = b.entries.map(auditView);
    assert.ok(views.some((v, i) => v !== b.entries[i]), 'evaluations are cut');
    const options = { sha256: nodeSha256, parsePolicySource: (text: string) => parsePolicy(Buffer.from(text), 'policy.yaml').policy };
    const whole = auditLedger(b.entries, options);
    assert.ok(whole.violations.length >= 4, whole.violations.map((v) => v.kind).join());
    assert.deepEqual(auditLedger(views, options), whole);
  });

  test('an expiry more than a second late while the store was running; late after downtime is only counted', () => {
    const b = base().request('req_1', 'alice', 'payments').decide('req_1', 'bob', 'approve').activate('req_1');
    b.at += 3_600_000 + 1500;
    b.request('req_2', 'dave', 'payments'); // the store is up 1.5 s after the window ended
    b.at += 500;
    const seq = b.entries.length;
    b.expire('req_1');
    only(b, 'late_expiry', seq);

    const down = base().request('req_1', 'alice', 'payments').decide('req_1', 'bob', 'approve').activate('req_1');
    down.at += 3_600_000 + 60_000; // nothing written for a minute: the store was down
    down.expire('req_1');
    const report = audit(down);
    assert.deepEqual(report.violations, []);
    assert.equal(report.counts.lateAfterDowntime, 1);

    const never = base().request('req_1', 'alice', 'payments').decide('req_1', 'bob', 'approve').activate('req_1');
    never.at += 3_600_000 + 5000;
    const evidence = never.entries.length;
    never.request('req_2', 'dave', 'payments');
    only(never, 'late_expiry', evidence);

    // 999 ms late is within the tolerance.
    const onTime = base().request('req_1', 'alice', 'payments').decide('req_1', 'bob', 'approve').activate('req_1');
    onTime.at += 3_600_000 + 500;
    onTime.request('req_2', 'dave', 'payments');
    onTime.at += 499;
    onTime.expire('req_1');
    assert.deepEqual(audit(onTime).violations, []);
  });

  test('a review completed by the requester', () => {
    const b = base().request('req_1', 'alice', 'payments').decide('req_1', 'bob', 'approve').activate('req_1');
    b.at += 3_600_000 + 100;
    b.expire('req_1');
    const seq = b.entries.length;
    b.complete('req_1', 'alice');
    only(b, 'review_by_requester', seq);
  });

  test('illegal transitions, unknown requests, over-long windows, bad standing scopes and policy content that does not match its hash', () => {
    const closed = base().request('req_1', 'alice', 'payments').decide('req_1', 'bob', 'deny');
    const seq = closed.entries.length;
    closed.decide('req_1', 'carol', 'approve');
    only(closed, 'illegal_transition', seq);

    const unknown = base();
    unknown.evaluate('req_ghost');
    only(unknown, 'unknown_request', unknown.entries.length - 1);

    const long = base().request('req_1', 'alice', 'payments').decide('req_1', 'bob', 'approve', '15m');
    const longSeq = long.entries.length;
    long.activate('req_1', 3_600_000);
    only(long, 'window_exceeds_approval', longSeq);

    const standing = base();
    standing.add('request_created', 'alice', 'req_st', { gate: 'perf-suite' }, { scope: { repo: 'payments-api', branch: 'main' }, ttl: '4h', team: 'payments', standingScope: 'payments-release-perf' });
    const standingSeq = standing.entries.length;
    standing.activate('req_st', 4 * 3_600_000, 'perf-suite', '4h');
    only(standing, 'standing_scope_invalid', standingSeq);

    const lying = new Builder();
    const edited = { ...policy, tiers: { ...policy.tiers, critical: { ...policy.tiers.critical!, approvals: 1 as const } } };
    lying.policy(edited, source);
    only(lying, 'policy_mismatch', 0);
    const rehashed = new Builder();
    rehashed.add('policy_loaded', 'admin', 'sha256:00', {}, { hash: 'sha256:00', source, policy });
    only(rehashed, 'policy_mismatch', 0);
  });

  test('the policy in force at each point decides: a rule relaxed later does not excuse an earlier approval', () => {
    // Under the example policy erin may not approve deploy-freeze for her teammate bob; a later
    // policy that allows it changes nothing for entries before it.
    const relaxed = { ...policy, tiers: { ...policy.tiers, high: { ...policy.tiers.high!, allowSameTeam: true } } };
    const b = base().request('req_h', 'bob', 'platform', 'deploy-freeze');
    const seq = b.entries.length;
    b.decide('req_h', 'erin', 'approve', '1h', 'key-erin', 'deploy-freeze');
    b.add('policy_loaded', 'admin', 'sha256:relaxed', {}, { hash: 'sha256:relaxed', policy: relaxed });
    b.request('req_h2', 'bob', 'platform', 'deploy-freeze').decide('req_h2', 'erin', 'approve', '1h', 'key-erin', 'deploy-freeze');
    only(b, 'same_team_approval', seq);
  });

  test('a ledger without policy content (recorded before entries carried it) is replayed on the state machine alone', () => {
    const b = new Builder();
    b.add('policy_loaded', 'admin', 'sha256:old', {}, { hash: 'sha256:old', gates: ['ci-tests'] });
    b.key('bob').clean('req_1');
    const report = audit(b);
    assert.deepEqual(report.violations, []);
    assert.equal(report.counts.withoutPolicy, b.entries.length - 1);
  });
});

describe('semantic audit: which kind of key signed each decision', () => {
  test('decisions are counted by the key kind their enrollment recorded; old decision entries without the fields still read', () => {
    const b = new Builder().policy().key('bob', 'key-bob', 'attested').key('carol', 'key-carol', 'claimed').key('dave', 'key-dave', 'software');
    b.request('req_1', 'alice', 'payments').decide('req_1', 'carol', 'request_info');
    b.add('info_requested', 'carol', 'req_1', { gate: 'ci-tests' });
    b.add('info_provided', 'alice', 'req_1', { gate: 'ci-tests' });
    // dave's decision predates decisions recording the key: no hardware, no attestation field.
    b.decide('req_1', 'dave', 'request_info', null, 'key-dave', 'ci-tests', { hardwareBacked: false });
    b.add('info_requested', 'dave', 'req_1', { gate: 'ci-tests' });
    b.add('info_provided', 'alice', 'req_1', { gate: 'ci-tests' });
    b.decide('req_1', 'bob', 'approve').activate('req_1');
    const report = audit(b);
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.counts.signedWith, { attested: 1, claimed: 1, software: 1 });
  });

  test('an attestation-requiring tier: an approval signed with a claimed key does not count, whatever the entry says about it', () => {
    // container-signing is tier critical (attestationRequired: true, two approvals).
    const b = new Builder().policy().key('carol', 'key-carol', 'attested').key('erin', 'key-erin', 'claimed');
    b.request('req_c', 'alice', 'payments', 'container-signing').decide('req_c', 'carol', 'approve', '1h', 'key-carol', 'container-signing');
    const claimedSeq = b.entries.length;
    b.decide('req_c', 'erin', 'approve', '1h', 'key-erin', 'container-signing');
    b.activate('req_c', 3_600_000, 'container-signing');
    const report = audit(b);
    assert.deepEqual(report.violations.map((v) => [v.kind, v.seq]), [['ineligible_decision', claimedSeq], ['activation_without_approvals', claimedSeq + 1]]);
    assert.match(report.violations[0]!.message, /tier critical requires an attested hardware key; the key was enrolled claimed, not attested/);

    // The same with the decision entry rewritten to call erin's key attested: the enrollment decides, and the lie is named.
    const forged = new Builder().policy().key('carol', 'key-carol', 'attested').key('erin', 'key-erin', 'claimed');
    forged.request('req_c', 'alice', 'payments', 'container-signing').decide('req_c', 'carol', 'approve', '1h', 'key-carol', 'container-signing');
    const forgedSeq = forged.entries.length;
    forged.decide('req_c', 'erin', 'approve', '1h', 'key-erin', 'container-signing', { hardwareBacked: true, hardware: 'attested', attestation: { kind: 'tpm', root: 'corp-tpm-ca', serial: '5e4', policy: {} } });
    forged.activate('req_c', 3_600_000, 'container-signing');
    const forgedReport = audit(forged);
    assert.deepEqual(forgedReport.violations.map((v) => [v.kind, v.seq]), [['ineligible_decision', forgedSeq], ['activation_without_approvals', forgedSeq + 1]]);
    assert.match(forgedReport.violations[0]!.message, /requires an attested hardware key; the key was enrolled claimed, not attested/);
  });

  test('a decision entry that misstates its key (kind or attestation serial) is a violation even where the tier does not care', () => {
    const b = new Builder().policy().key('bob', 'key-bob', 'attested');
    b.request('req_1', 'alice', 'payments');
    const seq = b.entries.length;
    b.decide('req_1', 'bob', 'deny', null, 'key-bob', 'ci-tests', { hardwareBacked: true, hardware: 'attested', attestation: { kind: 'tpm', root: 'corp-tpm-ca', serial: 'ffff', policy: {} } });
    only(b, 'ineligible_decision', seq);
    assert.match(audit(b).violations[0]!.message, /records the signing key's attestation as attested \(tpm, serial ffff\), but it was enrolled attested \(tpm, serial 5e3\)/);

    const c = new Builder().policy().key('bob', 'key-bob', 'software');
    c.request('req_1', 'alice', 'payments');
    const cSeq = c.entries.length;
    c.decide('req_1', 'bob', 'deny', null, 'key-bob', 'ci-tests', { hardwareBacked: true, hardware: 'claimed', attestation: null });
    only(c, 'ineligible_decision', cSeq);
    assert.match(audit(c).violations[0]!.message, /records the signing key as claimed, but it was enrolled software/);
  });
});

describe('semantic audit: resuming from a snapshot (an incremental verify)', () => {
  const options = { sha256: nodeSha256, parsePolicySource: (text: string) => parsePolicy(Buffer.from(text), 'policy.yaml').policy };

  /** A random ledger of many requests in every state, breaking rules now and then (seeded). */
  function workload(seed: number): Builder {
    const rnd = seededRandom(seed);
    const b = base();
    const open: string[] = [];
    for (let i = 0; i < 60; i++) {
      const id = `req_${i}`;
      b.at += rnd.int(600_000);
      const roll = rnd.random();
      if (roll < 0.15) b.clean(id);
      else if (roll < 0.3) b.request(id, 'alice', 'payments'); // pending
      else {
        b.request(id, rnd.pick(['alice', 'dave']), 'payments').decide(id, 'bob', 'approve').activate(id).evaluate(id);
        open.push(id);
      }
      // Now and then something happens to an earlier request: an evaluation, an expiry (on
      // time or late), a review, or a rule broken (a review by the requester, an evaluation
      // after the window, a request created twice).
      for (let k = 0; k < 2 && open.length > 0; k++) {
        const target = rnd.pick(open);
        const what = rnd.random();
        if (what < 0.3) b.evaluate(target);
        else if (what < 0.5) {
          b.expire(target);
          if (rnd.chance(0.5)) b.complete(target, rnd.chance(0.2) ? 'alice' : 'carol');
        } else if (what < 0.6) b.evaluate(target, { repo: 'payments-api', branch: 'release' });
        else if (what < 0.65) b.request(target, 'alice', 'payments');
        else if (what < 0.7) b.complete(target, 'carol');
      }
      if (rnd.chance(0.1)) b.at += 3_600_000; // windows end while the store writes on: late expiries
    }
    return b;
  }

  /** Audit entries [0, cut), save a snapshot the way the CLI writes it (JSON), restore it, audit the rest. */
  function resumed(entries: readonly LedgerEntry[], cut: number, through: (s: AuditSnapshot) => AuditSnapshot = (s) => JSON.parse(JSON.stringify(s)) as AuditSnapshot) {
    const first = new SemanticAuditor(options);
    for (const e of entries.slice(0, cut)) first.add(e);
    const second = SemanticAuditor.restore(through(first.snapshot()), options);
    for (const e of entries.slice(cut)) second.add(e);
    return { report: second.finish(), snapshot: second.snapshot() };
  }

  /** The previous form: every kept request an object (version 2), as the audit read them before texts. */
  const asVersion2 = (s: AuditSnapshot): AuditSnapshot => ({ ...s, version: 2, requests: (s.requests as string[]).map((t) => JSON.parse(t) as never) });
  /**
   * What a run from `cut` must report: the whole replay's findings from there on (earlier ones
   * were the earlier run's), at the same entries about the same targets. The kind may differ for
   * a request whose story ended before the cut: the snapshot forgets it, so an entry about it
   * afterwards is one unknown request rather than, say, a second review and one by its requester.
   * A finding either way.
   */
  const from = (violations: readonly { seq: number; target: string }[], cut: number) => [...new Set(violations.filter((v) => v.seq >= cut).map((v) => `${v.seq} ${v.target}`))];

  test('at every cut, the resumed audit finds what the whole replay finds from there on, and what resuming from objects finds; untouched requests are handed on as they came', () => {
    for (const seed of [1, 2, 3]) {
      const b = workload(seed);
      const whole = auditLedger(b.entries, options);
      const kinds = new Set(whole.violations.map((v) => v.kind));
      assert.ok(kinds.size >= 3, `seed ${seed}: the workload breaks several rules (${[...kinds].join()})`);
      const step = Math.max(1, Math.floor(b.entries.length / 40));
      for (let cut = 0; cut <= b.entries.length; cut += step) {
        const { report } = resumed(b.entries, cut);
        assert.deepEqual(report, resumed(b.entries, cut, asVersion2).report, `seed ${seed}, cut at ${cut}: texts and objects`);
        assert.deepEqual(report.counts, whole.counts, `seed ${seed}, cut at ${cut}`);
        assert.deepEqual(from(report.violations, cut), from(whole.violations, cut), `seed ${seed}, cut at ${cut}`);
      }
      // Chained: several incremental runs in a row, each from the snapshot of the one before.
      let snapshot: AuditSnapshot | undefined;
      let auditor = new SemanticAuditor(options);
      let last = 0;
      for (let at = 0; at < b.entries.length; at += 37) {
        if (snapshot) auditor = SemanticAuditor.restore(JSON.parse(JSON.stringify(snapshot)) as AuditSnapshot, options);
        for (const e of b.entries.slice(at, at + 37)) auditor.add(e);
        snapshot = auditor.snapshot();
        last = at;
      }
      const chained = auditor.finish();
      assert.deepEqual(from(chained.violations, last), from(whole.violations, last), `seed ${seed}, chained`);
      assert.deepEqual(chained.counts, whole.counts);
    }
    // A request no entry names after the restore goes into the next snapshot as the same text.
    const b = workload(4);
    const cut = b.entries.length - 3;
    const first = new SemanticAuditor(options);
    for (const e of b.entries.slice(0, cut)) first.add(e);
    const before = first.snapshot().requests as string[];
    const named = new Set(b.entries.slice(cut).map((e) => e.target));
    const after = new Set(resumed(b.entries, cut).snapshot.requests as string[]);
    const untouched = before.filter((t) => ![...named].some((id) => t.startsWith(`{"id":${JSON.stringify(id)},`)));
    assert.ok(untouched.length > 10);
    for (const text of untouched) assert.ok(after.has(text), text.slice(0, 60));
  });

  test('a version 2 snapshot (requests as objects) still resumes; version 1, a damaged text or a request twice do not', () => {
    const b = workload(5);
    const cut = Math.floor(b.entries.length / 2);
    const whole = resumed(b.entries, cut).report;
    assert.deepEqual(resumed(b.entries, cut, asVersion2).report, whole);
    // Texts without the head (written by something else) are parsed at once and still resume.
    const reordered = (s: AuditSnapshot): AuditSnapshot => ({ ...s, requests: (s.requests as string[]).map((t) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(t) as object).reverse()))) });
    assert.deepEqual(resumed(b.entries, cut, reordered).report, whole);

    assert.throws(() => resumed(b.entries, cut, (s) => ({ ...s, version: 1 as never })), /audit snapshot version 1 is not one this version reads/);
    assert.throws(() => resumed(b.entries, cut, (s) => ({ ...s, requests: [...(s.requests as string[]), (s.requests as string[])[0]!] })), /is in the audit snapshot twice/);
    assert.throws(() => resumed(b.entries, cut, (s) => ({ ...s, requests: ['{"id":'] })), /not a request/);
    // A text damaged after its head is caught when an entry names the request.
    const first = new SemanticAuditor(options);
    for (const e of b.entries.slice(0, cut)) first.add(e);
    const texts = first.snapshot().requests as string[];
    const active = texts.find((t) => t.includes('"state":"active"') && t.includes('"overdueSeenSeq":null'))!;
    const id = (JSON.parse(active) as { id: string }).id;
    const damaged = active.slice(0, -2); // cut short: the head reads, the body does not
    const restored = SemanticAuditor.restore({ ...first.snapshot(), requests: texts.map((t) => (t === active ? damaged : t)) }, options);
    assert.throws(() => restored.add({ ...b.entries[cut]!, seq: cut, type: 'evaluation_under_bypass', target: id, actor: 'ci', gate: 'ci-tests', data: { subject: { repo: 'payments-api', branch: 'main' }, verdict: 'warn' } }), /the saved audit state is damaged \(request req_\d+ does not read back as saved\): verify again without --incremental/);
  });
});

test('EntryTimes reads every time as Date.parse does, also after a time of the same second', () => {
  const { int, pick, chance } = seededRandom(0x71e5);
  const times = new EntryTimes();
  let previous = '2026-06-22T03:14:07.000Z';
  for (let i = 0; i < 20_000; i++) {
    // Mostly the second before (as a busy ledger writes them), now and then anything.
    let time = chance(0.7) ? `${previous.slice(0, 19)}.${String(int(1000)).padStart(3, '0')}Z` : new Date(int(4_000_000_000_000)).toISOString();
    if (chance(0.1)) {
      const at = int(24);
      time = time.slice(0, at) + pick(['9', '0', '2', '4', '6', 'x', '.', 'Z', ':', '-', ' ']) + time.slice(at + 1);
    }
    if (chance(0.02)) time = pick(['2026-06-22T24:00:00.000Z', '2026-06-22T24:00:00.500Z', '2026-02-30T00:00:00.000Z', '2026-06-22T03:14:60.000Z', '2026-06-22T03:14:07Z', '2026-06-22T03:14:07.1234Z', '+012026-06-22T03:14:07.000Z', '']);
    assert.equal(Object.is(times.ms(time), Date.parse(time)), true, `${time}: ${times.ms(time)} vs ${Date.parse(time)}`);
    if (Number.isFinite(Date.parse(time))) previous = time;
  }
});
