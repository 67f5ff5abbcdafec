import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { AppError } from '../../../../shared/errors';
import { EXAMPLE_POLICY_PATH } from '../../../../grant-store/policy/example-policy-path';
import { parsePolicy } from '../../../../grant-store/policy/load-policy';
import { checkRequestAgainstPolicy } from '../../../../shared/policy/request-validation';
import { ruleCovers, scopeErrors, scopeRuleOf, subjectRefusal } from '../../../../shared/policy/scope-rules';
import { sealErrors } from '../../../../shared/policy/emergency-rules';
import type { Gate } from '../../../../shared/domain/policy';
import { testPolicy } from './policy-fixture';

x509.cryptoProvider.set(webcrypto as never);

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const gate = (over: Partial<Gate> = {}): Gate => ({ id: 'ci-tests', kind: 'slow', tier: 'low', scopeKeys: ['repo', 'branch'], allowExtraSubjectKeys: true, ...over });
const request = (scope: Record<string, string>, gateId = 'ci-tests') => ({ gate: gateId, scope, reason: 'the integration suite is down for the whole org', severity: 'sev3' as const, ttl: '1h' });

function loadFailure(text: string): AppError {
  try {
    parsePolicy(Buffer.from(text), 'policy.yaml');
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error;
  }
  assert.fail('expected the policy to be refused');
}

describe('scope rules per gate', async () => {
  const example = await readFile(EXAMPLE_POLICY_PATH, 'utf8');

  test('a request scope names exactly the declared keys, each value matching its pattern', () => {
    const g = gate({ scopeKeys: ['repo', 'digest'], scopePatterns: { digest: 'sha256:[0-9a-f]{64}' } });
    assert.deepEqual(scopeErrors(g, { repo: 'payments-api', digest: DIGEST }), []);
    const missing = scopeErrors(g, { digest: DIGEST });
    assert.deepEqual(missing.map((e) => e.path), ['scope.repo']);
    assert.match(missing[0]!.message, /gate ci-tests needs scope key "repo" \(its scope keys: repo, digest\)/);
    const extra = scopeErrors(g, { repo: 'a', digest: DIGEST, branch: 'main' });
    assert.deepEqual(extra.map((e) => e.path), ['scope.branch']);
    assert.match(extra[0]!.message, /"branch" is not a scope key of gate ci-tests/);
    // The pattern matches in full: a prefix, a suffix or upper-case hex is not enough.
    for (const bad of ['sha256:abc', `${DIGEST}0`, `x${DIGEST}`, DIGEST.toUpperCase(), `sha256:${'ab'.repeat(31)}\n${'ab'}`]) {
      const errors = scopeErrors(g, { repo: 'a', digest: bad });
      assert.deepEqual(errors.map((e) => e.path), ['scope.digest'], bad);
      assert.match(errors[0]!.message, /must match sha256:\[0-9a-f\]\{64\} in full/);
    }
    // A standing scope or pre-approval rule may name fewer keys, never another one.
    assert.deepEqual(scopeErrors(g, { repo: 'a' }, 'scope', { exact: false }), []);
    assert.equal(scopeErrors(g, { team: 'a' }, 'scope', { exact: false }).length, 1);
  });

  test('the check matches on the declared keys only: one attribute never stands for the rest', () => {
    const rule = scopeRuleOf(gate());
    const scope = { repo: 'payments-api', branch: 'main' };
    assert.equal(ruleCovers(rule, scope, { repo: 'payments-api', branch: 'main', job: 'x' }), true, 'extra subject attributes are ignored');
    assert.equal(ruleCovers(rule, scope, { repo: 'totally-unrelated-repo', branch: 'main' }), false);
    assert.equal(ruleCovers(rule, scope, { repo: 'payments-api', branch: 'dev' }), false);
    // A bypass filed before the gate declared its keys (one attribute wide) no longer matches.
    assert.equal(ruleCovers(rule, { branch: 'main' }, { repo: 'totally-unrelated-repo', branch: 'main' }), false);
    assert.equal(ruleCovers(rule, { repo: 'payments-api' }, { repo: 'payments-api', branch: 'dev' }), false);
    // Without a rule (a policy from before scope keys, in an old ledger): plain coverage.
    assert.equal(ruleCovers(undefined, { repo: 'payments-api' }, { repo: 'payments-api', branch: 'dev' }), true);
  });

  test('a subject lacking a declared key, or carrying one a strict gate does not allow, is refused naming it', () => {
    assert.match(subjectRefusal(scopeRuleOf(gate()), { branch: 'main' }) ?? '', /lacks "repo"/);
    assert.equal(subjectRefusal(scopeRuleOf(gate()), { repo: 'a', branch: 'main', job: 'x' }), undefined);
    const strict = scopeRuleOf(gate({ allowExtraSubjectKeys: false }));
    assert.match(subjectRefusal(strict, { repo: 'a', branch: 'main', job: 'x' }) ?? '', /carries "job", which gate ci-tests does not allow/);
    assert.equal(subjectRefusal(strict, { repo: 'a', branch: 'main' }), undefined);
  });

  test('subjectRefusal answers every combination of declared, missing and extra keys as the full rule does', () => {
    // The rule written out plainly (arrays built for every subject), as the store's fast path must answer.
    const reference = (rule: NonNullable<ReturnType<typeof scopeRuleOf>>, subject: Record<string, string>): string | undefined => {
      const missing = rule.keys.filter((key) => !Object.prototype.hasOwnProperty.call(subject, key));
      if (missing.length > 0) return `the subject lacks ${missing.map((k) => `"${k}"`).join(', ')} (gate ${rule.gate} matches on ${rule.keys.join(', ')})`;
      const extra = Object.keys(subject).filter((key) => !rule.keys.includes(key)).sort();
      if (!rule.allowExtraSubjectKeys && extra.length > 0) return `the subject carries ${extra.map((k) => `"${k}"`).join(', ')}, which gate ${rule.gate} does not allow (it matches on ${rule.keys.join(', ')} only)`;
      return undefined;
    };
    const keys = ['repo', 'branch', 'job', 'env'];
    let refusals = 0;
    for (const allowExtraSubjectKeys of [true, false]) {
      const rule = scopeRuleOf(gate({ allowExtraSubjectKeys }))!;
      for (let mask = 0; mask < 1 << keys.length; mask++) {
        const subject: Record<string, string> = {};
        for (const [i, key] of keys.entries()) if (mask & (1 << i)) subject[key] = `v${i}`;
        // An inherited key is not the subject's: neither way counts it.
        const withProto = Object.assign(Object.create({ inherited: 'x' }) as Record<string, string>, subject);
        for (const s of [subject, withProto]) {
          const want = reference(rule, s);
          if (want !== undefined) refusals++;
          assert.equal(subjectRefusal(rule, s), want, `${JSON.stringify(s)} allowExtra=${allowExtraSubjectKeys}`);
        }
      }
    }
    assert.ok(refusals > 0 && refusals < 64, 'both verdicts were exercised');
  });

  test('requests: a scope one attribute wide, or with an extra key, is refused naming the key; bypass: never refuses any', () => {
    const policy = parsePolicy(Buffer.from(example), 'policy.yaml').policy;
    const now = new Date('2026-11-30T00:00:00Z');
    assert.deepEqual(checkRequestAgainstPolicy(policy, request({ repo: 'payments-api', branch: 'main' }), 'payments', now).errors, []);
    assert.deepEqual(checkRequestAgainstPolicy(policy, request({ branch: 'main' }), 'payments', now).errors.map((e) => e.path), ['scope.repo']);
    assert.deepEqual(checkRequestAgainstPolicy(policy, request({ repo: 'payments-api' }), 'payments', now).errors.map((e) => e.path), ['scope.branch']);
    const never = checkRequestAgainstPolicy(policy, request({ repo: 'a', branch: 'main' }, 'secret-scan'), 'payments', now).errors;
    assert.deepEqual(never.map((e) => e.path), ['gate']);
    assert.match(never[0]!.message, /secret-scan is a kept safety gate \(bypass: never\)/);
  });

  test('emergency seals follow the same scope rule', () => {
    const policy = testPolicy({ gates: [{ id: 'ci-tests', kind: 'slow', tier: 'low', scopeKeys: ['repo', 'branch'] }] });
    assert.deepEqual(sealErrors(policy, { gate: 'ci-tests', scope: { repo: 'a', branch: 'main' }, holders: ['alice'] }), []);
    assert.deepEqual(sealErrors(policy, { gate: 'ci-tests', scope: { repo: 'a' }, holders: ['alice'] }).map((e) => e.path), ['scope.branch']);
  });

  test('policy load refuses a bypassable gate without scopeKeys, naming the gate and pointing at the migration note', () => {
    const withoutKeys = example.replace('    scopeKeys: [repo, branch]\n    description: Full integration', '    description: Full integration');
    const error = loadFailure(withoutKeys);
    assert.match(error.message, /policy\.yaml:\d+:\d+: gates\.0: gate ci-tests can be bypassed but declares no scopeKeys/);
    assert.match(error.message, /Migrating to scope keys/);
    // bypass: never needs no keys; the same file still parses as a recorded (older) policy.
    assert.doesNotThrow(() => parsePolicy(Buffer.from(withoutKeys.replace('    tier: low\n    description: Full integration', '    tier: low\n    bypass: never\n    description: Full integration')), 'policy.yaml'));
    assert.doesNotThrow(() => parsePolicy(Buffer.from(withoutKeys), 'policy.yaml', { recorded: true }));
  });

  test('policy load refuses a tpm-ek root that is not a CA (an EK certificate pasted as the manufacturer root), with file and line; a CA loads', async () => {
    const rootless = example.slice(0, example.indexOf('\n# Roots that hardware key attestations'));
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const cert = async (ca: boolean) => (await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=TPM vendor', notBefore: new Date('2026-01-01'), notAfter: new Date('2036-01-01'), keys, signingAlgorithm: alg, extensions: [new x509.BasicConstraintsExtension(ca, undefined, true)] })).toString('pem');
    const withRoot = (pem: string) => `${rootless}\nattestation:\n  roots:\n    - id: tpm-vendor\n      kind: tpm-ek\n      certificate: |\n${pem.split('\n').map((l) => `        ${l}`).join('\n')}\n`;
    assert.match(loadFailure(withRoot(await cert(false))).message, /policy\.yaml:\d+:\d+: attestation\.roots\.0\.certificate: tpm-ek root tpm-vendor is not a CA certificate \(basicConstraints CA:TRUE\)/);
    assert.equal(parsePolicy(Buffer.from(withRoot(await cert(true))), 'policy.yaml').policy.attestation.roots[0]?.kind, 'tpm-ek');
  });

  test('policy load refuses a tier requiring attested keys with no attestation root to verify them against', () => {
    // The example names a root (yubico-piv): without its attestation section it names none.
    const rootless = example.slice(0, example.indexOf('\n# Roots that hardware key attestations'));
    const attested = rootless.replace('    maxTtl: 24h\n    hardwareKeyRequired: false\n', '    maxTtl: 24h\n    hardwareKeyRequired: false\n    attestationRequired: true\n');
    const error = loadFailure(attested);
    assert.ok(error.fieldErrors?.some((e) => e.path === 'tiers.low.attestationRequired' && /names no attestation root/.test(e.message)), error.message);
    const badRoot = `${rootless}\nattestation:\n  roots:\n    - { id: bad, kind: piv, certificate: "-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----" }\n`;
    assert.match(loadFailure(badRoot).message, /attestation\.roots\.0\.certificate: attestation root bad is not a readable certificate/);
    // A tpm-ek root (a TPM manufacturer's) is validated the same way, with file and line, and must be a CA.
    assert.match(loadFailure(badRoot.replace('kind: piv', 'kind: tpm-ek')).message, /policy\.yaml:\d+:\d+: attestation\.roots\.0\.certificate: attestation root bad is not a readable certificate/);
    assert.match(loadFailure(`${rootless}\nattestation:\n  roots:\n    - { id: tpm-vendor, kind: tmp-ek, certificate: "-----BEGIN CERTIFICATE-----" }\n`).message, /policy\.yaml:\d+:\d+: attestation\.roots\.0\.kind: must be one of: piv, tpm, tpm-ek/);

  });

  test('policy load refuses patterns for undeclared keys, bad regular expressions, and standing scopes outside the keys or on a kept gate', () => {
    const patterned = example.replace('    scopeKeys: [repo, branch]\n    description: Full integration', "    scopeKeys: [repo, branch]\n    scopePatterns: { digest: 'sha256:[0-9a-f]{64}', branch: '[' }\n    description: Full integration");
    const error = loadFailure(patterned);
    assert.ok(error.fieldErrors?.some((e) => e.path === 'gates.0.scopePatterns.digest' && /"digest" is not one of gate ci-tests's scopeKeys/.test(e.message)), error.message);
    assert.ok(error.fieldErrors?.some((e) => e.path === 'gates.0.scopePatterns.branch' && /not a valid regular expression/.test(e.message)), error.message);
    const standing = example.replace('    scope: { repo: payments-api, branch: release }', '    scope: { repo: payments-api, team: release }');
    assert.ok(loadFailure(standing).fieldErrors?.some((e) => e.path === 'standingScopes.0.scope.team'));
    const neverStanding = example.replace('    gate: perf-suite\n    team: payments', '    gate: secret-scan\n    team: payments');
    assert.ok(loadFailure(neverStanding).fieldErrors?.some((e) => e.path === 'standingScopes.0.gate' && /bypass: never/.test(e.message)));
  });
});
