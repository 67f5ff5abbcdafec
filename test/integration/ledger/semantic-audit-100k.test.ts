import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { CheckResult } from '../../../shared/domain/check';
import type { AuditCounts } from '../../../shared/ledger/semantic-audit';
import { keyIdFromPublicKeyPem } from '../../../shared/node/signing/key-id';
import { signDecision } from '../../../shared/node/signing/sign-decision';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../shared/node/signing/software-signer';
import { newDecisionStatement } from '../../../shared/signing/decision-statement';
import { dataDirPaths } from '../../../grant-store/admin/data-dir';
import { initDataDir } from '../../../grant-store/admin/init';
import { verifyOffline } from '../../../grant-store/cli/commands/ledger-verify';
import { composeGrantStore, type GrantStoreServices } from '../../../grant-store/compose-grant-store';
import { grantStoreConfig } from '../../../grant-store/http/server';
import { writeExportBundle } from '../../../grant-store/ledger/export-bundle';
import { createStoreLogger } from '../../../grant-store/logger';
import { answerCheck } from '../../../grant-store/service/check-service';
import { submitDecision } from '../../../grant-store/service/decision-service';
import { enrollKey } from '../../../grant-store/service/identity-service';
import { createRequest } from '../../../grant-store/service/request-service';
import { completeReview } from '../../../grant-store/service/review-service';
import type { Caller } from '../../../grant-store/service/service-deps';

/**
 * A real ledger of 100,000 entries has no semantic violation. The grant store builds it through
 * its own code paths, in-process (composeGrantStore, the services the HTTP routes call, the
 * check hot path with its group commit, the expiry sweeper), on an injected clock: CI-shaped
 * traffic, about one request per 100 entries and the rest evaluations under its bypass. Then
 * the shipped `ledger verify --offline` (verifyOffline: hashes, signatures and the semantic
 * audit) reads an export of it and must find nothing, having checked exactly what was done.
 */

const TOTAL_ENTRIES = 100_000;
/** Entries per request cycle, as on a CI store: the request's own entries plus its evaluations. */
const CYCLE_ENTRIES = 100;
/** Evaluations under one bypass arrive in waves (CI jobs), each wave one group commit. */
const WAVES = 4;

const POLICY = `version: 1
ttlChoices: [1h, 4h]
decisionWindow: 24h
tiers:
  low:
    approvals: 1
    approverGroups: [leads]
    maxTtl: 4h
  high:
    approvals: 2
    approverGroups: [leads]
    allowSameTeam: false
    maxTtl: 4h
gates:
  - id: ci-tests
    kind: slow
    tier: low
    scopeKeys: [repo, branch]
  - id: deploy-prod
    kind: slow
    tier: high
    scopeKeys: [service]
teams:
  payments:
    members: [alice]
    bypassBudget: 100000
  platform:
    members: [bob, carol]
    bypassBudget: 100000
approvers:
  leads: [bob, carol]
standingScopes:
  - id: payments-ci
    gate: ci-tests
    team: payments
    scope: { repo: payments-api }
    maxTtl: 4h
    approvedBy: [bob]
    validUntil: "2099-12-31"
    reason: CI reruns of the payments suite are pre-approved
`;

// Memory-backed when the machine has it: this test is about what the ledger records, and
// 8,000 durable commits on a slow disk would be most of its time.
const tmp = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'bg-audit-100k-'));
let services: GrantStoreServices | undefined;
after(async () => {
  await services?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('a real ledger of 100,000 entries, built by the store, passes the semantic audit with exact counts', { timeout: 600_000 }, async () => {
  const dataDir = join(tmp, 'data');
  await initDataDir(dataDir);
  await writeFile(dataDirPaths(dataDir).policyPath, POLICY);
  // The injected clock starts where init's entries left it and only moves when the test moves it.
  let nowMs = Date.now();
  const clock = () => new Date(nowMs);
  services = await composeGrantStore(grantStoreConfig({ dataDir, clock, logger: createStoreLogger({ level: 'error' }) }, {}));
  const { deps, store, sweeper } = services;

  const admin: Caller = { principal: 'admin', roles: ['admin'], sourceAddress: '127.0.0.1' };
  const alice: Caller = { principal: 'alice', roles: ['requester'], sourceAddress: '10.0.0.7' };
  const gate: Caller = { principal: 'ci-runner', roles: ['gate'], sourceAddress: '10.0.1.2' };
  const approvers = Object.fromEntries(
    ['bob', 'carol'].map((name) => {
      const pair = generateSoftwareKeyPair();
      return [name, { caller: { principal: name, roles: ['approver'], sourceAddress: '10.0.0.9' } as Caller, signer: fileKeySigner(pair.privateKeyPem), publicKeyPem: pair.publicKeyPem }];
    }),
  );
  const auditor: Caller = { principal: 'erin', roles: ['auditor'], sourceAddress: '10.0.0.11' };
  for (const name of ['bob', 'carol']) {
    const key = await enrollKey(deps, admin, name, { publicKeyPem: approvers[name]!.publicKeyPem });
    assert.equal(key.keyId, keyIdFromPublicKeyPem(approvers[name]!.publicKeyPem));
  }

  // What the driver did, to compare with what the audit says it checked.
  const done = { requests: 0, decisions: 0, activations: 0, evaluations: 0, expiries: 0, revocations: 0, reviewsCompleted: 0 };

  async function decide(who: 'bob' | 'carol', request: { id: string; digest: string }, decision: 'approve' | 'deny' | 'revoke', comment: string): Promise<void> {
    const statement = newDecisionStatement({ request, decision, approver: who, comment, ...(decision === 'approve' ? { ttl: '1h' } : {}), nonceHex: randomBytes(16).toString('hex'), now: clock() });
    const bundle = await signDecision(statement, approvers[who]!.signer);
    await submitDecision(deps, approvers[who]!.caller, request.id, { bundle });
    done.decisions++;
  }

  /** `count` CI checks under the bypass, in waves across the first 40 minutes of its window. */
  async function evaluate(gateId: string, subject: Record<string, string>, count: number, activatedAtMs: number): Promise<void> {
    for (let wave = 0; wave < WAVES; wave++) {
      const size = Math.floor(count / WAVES) + (wave < count % WAVES ? 1 : 0);
      nowMs = activatedAtMs + (wave + 1) * 10 * 60_000;
      const results: CheckResult[] = await Promise.all(Array.from({ length: size }, () => answerCheck(deps, gate, { gate: gateId, subject })));
      for (const r of results) assert.equal(r.verdict, 'warn', r.message);
      done.evaluations += size;
    }
  }

  /** After the window: the sweeper expires the bypass (and opens its review) from the clock. */
  async function expire(expiresAt: string): Promise<void> {
    nowMs = Date.parse(expiresAt) + 200;
    assert.equal(await sweeper.sweep(), 1);
    done.expiries++;
  }

  async function review(requestId: string, by: Caller): Promise<void> {
    const open = (await store.getReviewByRequest(requestId))!;
    nowMs += 5 * 60_000;
    await completeReview(deps, by, open.id, { finding: 'justified', note: 'the suite was broken upstream, the fix shipped the same day' });
    done.reviewsCompleted++;
  }

  async function file(gateId: string, scope: Record<string, string>): Promise<{ id: string; digest: string; activatedAt: string | null; expiresAt: string | null }> {
    nowMs += 60_000;
    const { request } = await createRequest(deps, alice, { gate: gateId, scope, reason: 'the integration suite fails on an upstream outage, blocking the hotfix', severity: 'sev3', ttl: '1h' });
    done.requests++;
    return request;
  }

  /**
   * One request's story, `cycle` picking the kind: mostly a CI bypass approved by one signed
   * decision; some under the standing scope; a two-approver deploy bypass revoked early; a
   * denial now and then. Each ends reviewed by someone other than the requester.
   */
  async function runCycle(cycle: number, evaluations: number): Promise<void> {
    const approver = cycle % 2 === 0 ? 'bob' : 'carol';
    const kind = cycle % 10;
    if (kind === 9 && cycle % 20 === 9) {
      const r = await file('ci-tests', { repo: `svc-${cycle % 7}`, branch: 'main' });
      await decide(approver, r, 'deny', 'use the retry job instead, this suite has a known flake');
      return;
    }
    if (kind === 9) {
      const scope = { service: `checkout-${cycle % 3}` };
      const r = await file('deploy-prod', scope);
      await decide('bob', r, 'approve', 'ok for the hotfix');
      nowMs += 30_000;
      await decide('carol', r, 'approve', 'ok for the hotfix');
      const active = (await store.getRequest(r.id))!;
      assert.equal(active.state, 'active');
      done.activations++;
      await evaluate('deploy-prod', scope, evaluations, Date.parse(active.activatedAt!));
      nowMs += 60_000;
      await decide('carol', r, 'revoke', 'the hotfix is out, closing the bypass early');
      done.revocations++;
      await review(r.id, auditor);
      return;
    }
    const standing = kind === 7 || kind === 8;
    const subject = { repo: standing ? 'payments-api' : `svc-${cycle % 7}`, branch: 'main' };
    const r = await file('ci-tests', subject);
    if (!standing) await decide(approver, r, 'approve', 'ok for the hotfix');
    const active = (await store.getRequest(r.id))!;
    assert.equal(active.state, 'active');
    done.activations++;
    await evaluate('ci-tests', subject, evaluations, Date.parse(active.activatedAt!));
    await expire(active.expiresAt!);
    await review(r.id, approvers[approver === 'bob' ? 'carol' : 'bob']!.caller);
  }

  // Entries per kind besides the evaluations: request, decision(s), activation, closure, review opened, review completed.
  const overhead = (cycle: number) => (cycle % 20 === 9 ? 2 : cycle % 10 === 9 ? 8 : cycle % 10 === 7 || cycle % 10 === 8 ? 5 : 6);
  let cycle = 0;
  for (;;) {
    const size = await store.ledgerSize();
    const left = TOTAL_ENTRIES - size;
    if (left <= 0) break;
    // Fill to exactly TOTAL_ENTRIES: the last cycle is a plain approved one with what is left.
    if (left < 2 * CYCLE_ENTRIES) {
      while (cycle % 10 !== 0) cycle++;
      await runCycle(cycle, left - overhead(cycle));
      break;
    }
    await runCycle(cycle, cycle % 20 === 9 ? 0 : CYCLE_ENTRIES - overhead(cycle));
    cycle++;
  }
  assert.equal(await store.ledgerSize(), TOTAL_ENTRIES);
  assert.equal(services.ledgerGuard.describe(), null, 'the store built its own ledger without a tamper alarm');

  // An export of exactly what the log signed, verified by the shipped offline verifier.
  await services.log.waitForCheckpoint(TOTAL_ENTRIES);
  const { log } = services;
  const checkpoint = log.latestCheckpoint()!;
  assert.equal(checkpoint.treeSize, TOTAL_ENTRIES);
  const entries: string[] = [];
  const leafHashes: string[] = [];
  for (let from = 0; from < TOTAL_ENTRIES; from += 10_000) {
    for (const row of await store.getLedgerEntryTexts(from, 10_000)) entries.push(row.text);
    for (const leaf of await log.leafHashes(from, Math.min(10_000, TOTAL_ENTRIES - from))) leafHashes.push(Buffer.from(leaf).toString('base64'));
  }
  const dir = join(tmp, 'export');
  await writeExportBundle(dir, {
    origin: log.origin,
    publicKeyPem: log.publicKeyPem,
    entries,
    checkpoint: checkpoint.note,
    checkpoints: log.checkpoints(TOTAL_ENTRIES).map((c) => c.note),
    leafHashes,
    trustedRoot: await log.trustedRoot(),
    publicKeys: await log.approverKeys(),
  });
  await services.close();
  services = undefined;

  const outcome = await verifyOffline(dir);
  const verdict = outcome.verdict;
  assert.ok(verdict.ok, JSON.stringify(verdict.ok ? null : verdict.problems.slice(0, 5)));
  assert.equal(verdict.entriesVerified, TOTAL_ENTRIES);
  assert.equal(verdict.decisionsVerified, done.decisions);
  const audit = verdict.audit!;
  assert.deepEqual(audit.violations, []);
  // init's policy plus the one this store runs; everything else is what the driver did.
  // Every approver signs with a software key (enrolled without --hardware or an attestation).
  const expected: AuditCounts = { entries: TOTAL_ENTRIES, policies: 2, ...done, signedWith: { attested: 0, claimed: 0, software: done.decisions }, withoutPolicy: 0, lateAfterDowntime: 0, redacted: 0 };
  assert.deepEqual(audit.counts, expected);
  // One request per CYCLE_ENTRIES, plus the denials (a request and its decision, no bypass).
  assert.ok(done.requests >= TOTAL_ENTRIES / CYCLE_ENTRIES && done.requests <= 1.1 * (TOTAL_ENTRIES / CYCLE_ENTRIES), `about one request per ${CYCLE_ENTRIES} entries (${done.requests})`);
});
