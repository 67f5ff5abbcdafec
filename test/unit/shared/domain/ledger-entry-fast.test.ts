import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LedgerEntrySchema, LedgerEntryTypeSchema, safeParseLedgerEntry, validLedgerEntry } from '../../../../shared/domain/ledger-entry';
import { seededRandom } from '../../../support/seeded-random';

/**
 * The precompiled ledger-entry validator (what the verifier runs on every entry) against
 * LedgerEntrySchema over many generated entries (seeded, so a failure reproduces): whatever the
 * fast path accepts, the schema accepts with the same value; safeParseLedgerEntry accepts
 * exactly what the schema accepts, with the schema's issues when it refuses; and a valid entry
 * as JSON.parse builds it takes the fast path.
 */

const { int, pick, chance } = seededRandom(0x1ed9e5);

const ODD = [undefined, null, 0, -1, 1.5, '', 'x', true, [], {}, ['a'], Number.MAX_SAFE_INTEGER + 2, Number.NaN, -0];
const VALUES: Record<string, Array<() => unknown>> = {
  seq: [() => int(1_000_000), () => 0, () => -1, () => 2.5, () => '7', () => Number.MAX_SAFE_INTEGER, () => 2 ** 53, () => -0],
  time: [
    () => new Date(int(4_000_000_000_000)).toISOString(),
    () => '2026-13-45T25:61:61.000Z',
    () => '2026-02-30T00:00:00.000Z',
    () => '2026-06-22T03:14:07Z',
    () => '2026-06-22T03:14:07.000+00:00',
    () => ' 2026-06-22T03:14:07.000Z',
    () => '+012026-06-22T03:14:07.000Z',
  ],
  type: [() => pick(LedgerEntryTypeSchema.options), () => 'decision ', () => 'Decision', () => 'unknown_type'],
  actor: [() => 'system', () => 'alice', () => 'ci-gate', () => 'a@b.example', () => 'A'.repeat(64), () => 'a'.repeat(65), () => '-x', () => 'ali ce', () => 'ü', () => ''],
  actorRole: [() => pick(['requester', 'approver', 'gate', 'admin', 'auditor', 'system']), () => 'root', () => 'Admin'],
  target: [() => `req_${int(1e9).toString(36)}`, () => '', () => 'ü\u202e'],
  gate: [() => 'ci-tests', () => null, () => ''],
  reason: [() => 'because', () => null],
  incidentRef: [() => 'INC-1', () => null],
  approver: [() => 'bob', () => null],
  expiresAt: [() => null, () => new Date(int(4_000_000_000_000)).toISOString(), () => '2026-02-30T00:00:00.000Z', () => 'soon'],
  sourceAddress: [() => '127.0.0.1', () => null],
  data: [() => ({}), () => ({ subject: { repo: 'a' }, verdict: 'warn' }), () => [], () => null, () => 'x', () => ({ nested: [1, { a: null }] })],
};

function entry(): unknown {
  const out: Record<string, unknown> = {};
  for (const [field, makers] of Object.entries(VALUES)) {
    if (chance(0.02)) continue; // a missing field
    // Mostly the first (valid) maker, so that many generated entries are valid.
    out[field] = chance(0.9) ? makers[0]!() : chance(0.85) ? pick(makers)() : pick(ODD);
  }
  if (chance(0.05)) out.kind = 'dsse';
  if (chance(0.01)) out.extra = { any: 'thing' };
  // Through JSON, as the verifier meets them (undefined fields vanish, -0 becomes 0).
  return JSON.parse(JSON.stringify(out));
}

test('validLedgerEntry accepts only what LedgerEntrySchema accepts, with the same value; safeParseLedgerEntry agrees with the schema', () => {
  let fast = 0;
  let valid = 0;
  for (let i = 0; i < 10_000; i++) {
    const input = entry();
    const schema = LedgerEntrySchema.safeParse(input);
    const quick = validLedgerEntry(input);
    if (quick) {
      fast++;
      assert.ok(schema.success, `fast path accepted what the schema refuses: ${JSON.stringify(input)}`);
      assert.deepEqual(quick, schema.data);
    }
    // The verifier's call (its input is JSON.parse's): the same verdict and value.
    assert.deepEqual(validLedgerEntry(input, true), quick);
    const both = safeParseLedgerEntry(input);
    assert.equal(both.success, schema.success, JSON.stringify(input));
    if (schema.success) {
      valid++;
      // Every valid entry built by JSON.parse takes the fast path (no schema run per entry).
      assert.ok(quick, `a valid entry missed the fast path: ${JSON.stringify(input)}`);
    } else {
      assert.deepEqual(both.success ? null : both.error.issues, schema.error.issues);
    }
  }
  assert.ok(valid > 1_500 && fast === valid, `valid ${valid}, fast ${fast}`);
});

test('objects JSON.parse does not build are left to the schema', () => {
  const base = { seq: 1, time: '2026-06-22T03:14:07.000Z', type: 'decision', actor: 'bob', actorRole: 'approver', target: 'req_1', gate: null, reason: null, incidentRef: null, approver: null, expiresAt: null, sourceAddress: null, data: {} };
  assert.ok(validLedgerEntry(JSON.parse(JSON.stringify(base))));
  assert.equal(validLedgerEntry(Object.assign(Object.create({ inherited: 1 }) as object, base)), undefined);
  assert.equal(validLedgerEntry({ ...base, data: new Map() }), undefined);
  assert.equal(validLedgerEntry(JSON.parse(JSON.stringify(base).replace('"data":{}', '"data":{"__proto__":{"x":1}}'))), undefined);
  assert.equal(validLedgerEntry(JSON.parse(JSON.stringify(base).replace('"data":{}', '"data":{"__proto__":{"x":1}}')), true), undefined);
  assert.equal(validLedgerEntry(JSON.parse(JSON.stringify(base).replace('"data":{}', '"data":{"constructor":1}')), true), undefined);
  const withSymbol = { ...base, [Symbol('s')]: 1 };
  assert.equal(validLedgerEntry(withSymbol), undefined);
});
