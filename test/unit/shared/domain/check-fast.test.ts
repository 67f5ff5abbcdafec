import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CheckResultSchema } from '../../../../shared/domain/check';
import { validCheckResult, validWorkloadCheckInput } from '../../../../shared/domain/check-fast';
import { WorkloadCheckInputSchema } from '../../../../shared/domain/workload-check';
import { seededRandom } from '../../../support/seeded-random';

/**
 * The zod-free validators of a gate check (what `breakglass check`'s fast path and the store's
 * hot path run instead of the schemas) against the schemas over many generated values (seeded,
 * so a failure reproduces): whatever a validator accepts, its schema accepts with the same value
 * (and, for the answer a gate prints with --json, the same keys in the same order); everything
 * else goes to the schema, so together they accept exactly what the schema accepts and refuse
 * what it refuses, with its messages. And a plain answer, as the store gives it, takes the fast
 * way. (validCheckInput: test/unit/grant-store/checks/check-input.test.ts.)
 */

const { random, int, pick, chance } = seededRandom(0xc4ec);

const GATES = ['container-signing', 'ci-tests', 'a'.repeat(64), 'a'.repeat(65), '', 'Upper', 'ci tests', 'ü', 42, null];
const SCOPES: unknown[] = [
  { repo: 'payments-api', branch: 'main' },
  { repo: 'payments-api' },
  { namespace: 'pay', workload: 'api', digest: `sha256:${'a'.repeat(64)}` },
  Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v'])),
  Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])),
  {},
  { Repo: 'a' },
  { repo: '' },
  { repo: 'a b' },
  { repo: 'a,b' },
  { repo: 'x'.repeat(256) },
  { repo: 'x'.repeat(257) },
  { repo: 'caf\u00e9' },
  { repo: 'cafe\u0301' },
  { repo: 'main\u202e' },
  { repo: 7 },
  { constructor: 'x' },
  'repo=a',
  ['repo'],
  null,
];
const TIMESTAMPS = ['2026-11-30T08:15:00.000Z', '2027-02-28T23:59:59.999Z', '2026-13-45T25:61:61.000Z', '2026-11-30T08:15:00Z', '2026-11-30 08:15:00.000Z', '', 1764490500000, null];
const PRINCIPALS = ['alice', 'bob@example.com', 'carol.d-e_f', '', '-x', 'a b', 'x'.repeat(64), 'x'.repeat(65), 3];
const SEQS = [0, 1, 4711, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, -1, 1.5, -0, Number.NaN, '3', null];

function genBypass(): unknown {
  if (chance(0.05)) return pick(['byp_x', [], 1, {}]);
  const bypass: Record<string, unknown> = {
    id: chance(0.95) ? `byp_${'0123456789abcdef'.slice(int(4))}` : pick([1, null]),
    requestId: chance(0.95) ? 'req_0123456789abcdef' : pick([1, null]),
    approvers: chance(0.9) ? Array.from({ length: int(4) }, () => (chance(0.85) ? pick(PRINCIPALS.slice(0, 3)) : pick(PRINCIPALS))) : pick(['alice', null, {}]),
    expiresAt: chance(0.85) ? TIMESTAMPS[0] : pick(TIMESTAMPS),
    evaluationSeq: chance(0.8) ? int(100_000) : pick(SEQS),
  };
  if (chance(0.05)) delete bypass[pick(Object.keys(bypass))];
  if (chance(0.03)) bypass.extra = 'x';
  return bypass;
}

/** A check answer as JSON text, mostly the store's own shapes, sometimes broken in one place. */
function genResultText(): string {
  const result: Record<string, unknown> = {
    verdict: chance(0.95) ? pick(['block', 'warn']) : pick(['pass', 'BLOCK', '', null]),
    gate: chance(0.85) ? GATES[0] : pick(GATES),
    subject: chance(0.8) ? pick(SCOPES.slice(0, 3)) : pick(SCOPES),
    message: chance(0.95) ? pick(['BLOCKED by gate container-signing: no active bypass covers repo=payments-api.', 'WARN: passes under bypass byp_1', '']) : pick([null, 1]),
    requestCommand: chance(0.9) ? pick([null, 'breakglass request --gate container-signing --scope repo=payments-api --ttl 1h']) : pick([1, {}]),
    bypass: chance(0.5) ? null : genBypass(),
    checkedAt: chance(0.9) ? pick(TIMESTAMPS.slice(0, 2)) : pick(TIMESTAMPS),
  };
  if (chance(0.5)) result.gateKind = chance(0.9) ? pick(['slow', 'safety']) : pick(['fast', null]);
  if (chance(0.5)) result.bypassable = chance(0.9) ? pick([true, false]) : pick(['yes', null]);
  if (chance(0.5)) result.requestScope = chance(0.5) ? null : chance(0.8) ? pick(SCOPES.slice(0, 3)) : pick(SCOPES);
  if (chance(0.05)) delete result[pick(Object.keys(result))];
  if (chance(0.03)) result[pick(['extra', 'Verdict', 'error'])] = 'x';
  // The store's key order, or any other: zod answers the shape's order either way.
  const entries = Object.entries(result);
  if (chance(0.5)) entries.sort(() => random() - 0.5);
  const text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  return chance(0.02) ? pick(['null', '[]', '"block"', '1']) : text;
}

describe('CheckResult fast validator (validCheckResult)', () => {
  test('agrees with CheckResultSchema on 20,000 generated answers, value and key order alike, and takes every plain one', () => {
    let fastCount = 0;
    let valid = 0;
    let invalid = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = genResultText();
      const answer: unknown = JSON.parse(text);
      const schema = CheckResultSchema.safeParse(answer);
      const fast = validCheckResult(answer);
      if (fast !== undefined) {
        fastCount++;
        assert.ok(schema.success, `fast validator accepted what the schema refuses: ${text}`);
        assert.deepStrictEqual(fast, schema.data, text);
        assert.equal(JSON.stringify(fast), JSON.stringify(schema.data), `key order differs: ${text}`);
      }
      if (schema.success) {
        valid++;
        // Left to zod: non-ASCII text (NFC and the text rule are zod's), an own `constructor`, -0.
        if (!/[^\x20-\x7e]|\\u|"constructor"|-0[,}]/.test(text)) assert.ok(fast, `a plain valid answer was not taken: ${text}`);
      } else {
        invalid++;
      }
    }
    // Enough of each kind that the agreement means something.
    assert.ok(valid > 3_000 && invalid > 3_000 && fastCount > 3_000, `valid ${valid}, invalid ${invalid}, fast ${fastCount}`);
  });

  test('refuses what the schema refuses in one place each: the store answer as it is, then broken', () => {
    const answer = {
      verdict: 'warn',
      gate: 'container-signing',
      subject: { repo: 'payments-api', branch: 'main' },
      message: 'WARN',
      requestCommand: null,
      gateKind: 'safety',
      bypassable: true,
      requestScope: { repo: 'payments-api' },
      bypass: { id: 'byp_1', requestId: 'req_1', approvers: ['alice', 'bob'], expiresAt: '2026-11-30T09:15:00.000Z', evaluationSeq: 12 },
      checkedAt: '2026-11-30T08:15:00.000Z',
    };
    assert.deepStrictEqual(validCheckResult(structuredClone(answer)), CheckResultSchema.parse(answer));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each case reaches into the answer's nested fields
    type Answer = Record<string, any>;
    const broken: [string, (a: Answer) => void][] = [
      ['a day that does not exist', (a) => (a.checkedAt = '2026-02-30T08:15:00.000Z')],
      ['an expiry that does not exist', (a) => (a.bypass.expiresAt = '2026-11-31T08:15:00.000Z')],
      ['a negative ledger seq', (a) => (a.bypass.evaluationSeq = -1)],
      ['a fractional ledger seq', (a) => (a.bypass.evaluationSeq = 0.5)],
      ['an approver that is no principal', (a) => (a.bypass.approvers = ['a b'])],
      ['a bypass without its id', (a) => delete a.bypass.id],
      ['a bypass with an extra field', (a) => (a.bypass.note = 'x')],
      ['a missing bypass', (a) => delete a.bypass],
      ['an unknown verdict', (a) => (a.verdict = 'pass')],
      ['an unknown gate kind', (a) => (a.gateKind = 'fast')],
      ['an empty subject', (a) => (a.subject = {})],
      ['a subject value with a comma', (a) => (a.subject = { repo: 'a,b' })],
      ['an extra field', (a) => (a.error = { code: 'internal' })],
      ['a message that is not text', (a) => (a.message = 1)],
    ];
    for (const [what, breakIt] of broken) {
      const bad = structuredClone(answer) as Answer;
      breakIt(bad);
      assert.equal(CheckResultSchema.safeParse(bad).success, false, `the schema accepts ${what}`);
      assert.equal(validCheckResult(bad), undefined, `the fast validator accepts ${what}`);
    }
  });
});

describe('WorkloadCheckInput fast validator (validWorkloadCheckInput)', () => {
  test('agrees with WorkloadCheckInputSchema on 10,000 generated inputs and takes every plain one', () => {
    const contexts: unknown[] = [{ job: 'https://ci.example/jobs/1' }, {}, { ['k'.repeat(65)]: 'x' }, { job: 'two\nlines' }, { job: 1 }, null, 'job=1'];
    let valid = 0;
    for (let i = 0; i < 10_000; i++) {
      const input: Record<string, unknown> = {};
      if (chance(0.95)) input.gate = chance(0.8) ? GATES[0] : pick(GATES);
      if (chance(0.6)) input.subject = chance(0.7) ? pick(SCOPES.slice(0, 3)) : pick(SCOPES);
      if (chance(0.4)) input.context = pick(contexts);
      if (chance(0.03)) input.extra = 'x';
      const text = JSON.stringify(input);
      const value: unknown = JSON.parse(text);
      const schema = WorkloadCheckInputSchema.safeParse(value);
      const fast = validWorkloadCheckInput(value);
      if (fast !== undefined) {
        assert.ok(schema.success, `fast validator accepted what the schema refuses: ${text}`);
        assert.deepStrictEqual(fast, schema.data, text);
      }
      if (schema.success) {
        valid++;
        if (!/[^\x20-\x7e]|\\u|"constructor"/.test(text)) assert.ok(fast, `a plain valid input was not taken: ${text}`);
      }
    }
    assert.ok(valid > 2_000, `valid ${valid}`);
  });
});
