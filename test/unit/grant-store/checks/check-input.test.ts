import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCheckInput, validCheckInput } from '../../../../grant-store/checks/check-input';
import { CheckInputSchema } from '../../../../shared/domain/check';
import { AppError, parseOrThrow } from '../../../../shared/errors';
import { seededRandom } from '../../../support/seeded-random';

/**
 * The precompiled CheckInput validator against CheckInputSchema over many generated inputs
 * (seeded, so a failure reproduces): whatever the fast path accepts, the schema accepts with the
 * same value; parseCheckInput accepts exactly what the schema accepts and fails with the
 * schema's message and field paths; and every valid JSON body takes the fast path.
 */

const { int, pick, chance } = seededRandom(0x5eed);

const SLUG_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789._-';
function word(chars: string, min: number, max: number): string {
  // By code point: picking UTF-16 units would split 😀 into lone surrogates, which the text
  // rule refuses (HOSTILE_VALUES has those on purpose).
  const points = [...chars];
  let out = '';
  const n = min + int(max - min + 1);
  for (let i = 0; i < n; i++) out += points[int(points.length)];
  return out;
}

const GATES = [
  () => 'ci-tests',
  () => pick([...'abcdefghij0123456789']) + word(SLUG_CHARS, 0, 63),
  () => 'a'.repeat(64),
  () => 'a'.repeat(65),
  () => '',
  () => '-leading',
  () => '.dot',
  () => 'Upper',
  () => 'ci-tests\n',
  () => 'ci tests',
  () => 'ci/tests',
  () => 'ü',
  () => 42,
  () => null,
  () => ['ci-tests'],
  () => ({ id: 'ci-tests' }),
];
const KEYS = [
  () => 'repo',
  () => 'branch',
  () => 'namespace',
  () => pick([...'abcdefghijklmnopqrstuvwxyz']) + word('abcdefghijklmnopqrstuvwxyz0123456789_.-', 0, 31),
  () => 'a'.repeat(32),
  () => 'a'.repeat(33),
  () => '',
  () => '1repo',
  () => '_repo',
  () => 'Repo',
  () => 'repo\n',
  () => 're po',
  () => 'constructor',
  () => 'toString',
  () => 'hasOwnProperty',
  () => '__proto__',
  () => '7',
];
const VALUE_CHARS = 'abcXYZ019-_./:@"\\\'ü😀#';
const VALUES = [
  () => 'payments-api',
  () => 'main',
  () => word(VALUE_CHARS, 1, 40),
  () => 'x'.repeat(256),
  () => 'x'.repeat(257),
  () => '😀'.repeat(128),
  () => '😀'.repeat(129),
  () => '',
  () => 'a b',
  () => 'a,b',
  () => 'a=b',
  () => 'a\tb',
  () => 'main\n',
  () => '\u00a0',
  () => '\u2028',
  () => 7,
  () => null,
  () => true,
  () => ['main'],
  () => ({}),
];
/** The text rule: bidi overrides, zero-width, controls, lone surrogates; NFD text that normalizes. */
const HOSTILE_VALUES = [() => 'main\u202e', () => 'ma\u200bin', () => 'a\u0000b', () => '\u001b[2K', () => 'x\ud800', () => 'cafe\u0301', () => 'caf\u00e9', () => '\u3164'];
const CONTEXT_KEYS = [() => 'job', () => 'commit', () => word(VALUE_CHARS + ' ,=', 0, 10), () => 'k'.repeat(64), () => 'k'.repeat(65), () => '', () => '__proto__', () => 'constructor', () => '1'];
const CONTEXT_VALUES = [() => 'https://ci.example/jobs/1', () => '', () => 'job\u0007', () => 'rtl\u2067x', () => 'e\u0301', () => 'v'.repeat(512), () => 'v'.repeat(513), () => word(VALUE_CHARS + ' ,=', 0, 30), () => 'two\nlines', () => 1, () => null, () => ['x'], () => ({})];

/** Built as JSON text and parsed, like a request body (own `__proto__` keys included). */
function record(keys: (() => unknown)[], values: (() => unknown)[], maxKeys: number): string {
  const n = int(maxKeys + 1);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`${JSON.stringify(pick(keys)())}:${JSON.stringify(pick(values)())}`);
  return `{${parts.join(',')}}`;
}

function genJsonText(): string {
  const fields: string[] = [];
  if (chance(0.95)) fields.push(`"gate":${JSON.stringify(pick(chance(0.7) ? GATES.slice(0, 3) : GATES)())}`);
  if (chance(0.95)) {
    const subject = chance(0.1) ? JSON.stringify(pick([null, 'repo=a', ['repo'], 3])) : record(chance(0.6) ? KEYS.slice(0, 5) : KEYS, chance(0.6) ? VALUES.slice(0, 5) : chance(0.15) ? HOSTILE_VALUES : VALUES, chance(0.9) ? 4 : 18);
    fields.push(`"subject":${subject}`);
  }
  if (chance(0.3)) {
    const context = chance(0.1) ? JSON.stringify(pick([null, 'x', [], 1])) : record(chance(0.6) ? CONTEXT_KEYS.slice(0, 4) : CONTEXT_KEYS, chance(0.6) ? CONTEXT_VALUES.slice(0, 5) : CONTEXT_VALUES, 4);
    fields.push(`"context":${context}`);
  }
  if (chance(0.05)) fields.push(`${JSON.stringify(pick(['extra', 'Gate', '__proto__', 'constructor', 'verdict']))}:${JSON.stringify(pick(['x', 1, null, {}]))}`);
  for (let i = fields.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [fields[i], fields[j]] = [fields[j]!, fields[i]!];
  }
  return chance(0.02) ? JSON.stringify(pick([null, [], 'check', 1, true])) : `{${fields.join(',')}}`;
}

/** Inputs a JSON body cannot produce, where zod's view of an object matters. */
function oddInputs(): unknown[] {
  const valid = () => ({ gate: 'ci-tests', subject: { repo: 'a' } });
  const nullProto = Object.assign(Object.create(null) as object, valid());
  const nullProtoSubject = { gate: 'ci-tests', subject: Object.assign(Object.create(null) as object, { repo: 'a' }) };
  class Body {
    gate = 'ci-tests';
    subject = { repo: 'a' };
  }
  const withSymbol = { gate: 'ci-tests', subject: { repo: 'a', [Symbol('s')]: 'x' } };
  const topSymbol = { ...valid(), [Symbol('s')]: 'x' };
  const hidden = valid();
  Object.defineProperty(hidden.subject, 'branch', { value: 'main', enumerable: false });
  const hiddenBad = valid();
  Object.defineProperty(hiddenBad.subject, 'Bad Key', { value: 1, enumerable: false });
  const inherited = { gate: 'ci-tests', subject: Object.create({ repo: 'a' }) as object };
  const undefinedContext = { ...valid(), context: undefined };
  const undefinedValue = { gate: 'ci-tests', subject: { repo: 'a', branch: undefined } };
  const ctorFn = { gate: 'ci-tests', subject: { repo: 'a', constructor: Object } };
  return [nullProto, nullProtoSubject, new Body(), withSymbol, topSymbol, hidden, hiddenBad, inherited, undefinedContext, undefinedValue, ctorFn, new Date(), new Map(), undefined, () => undefined];
}

function outcome(run: () => unknown): { ok: true; value: unknown } | { ok: false; error: AppError } {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    return { ok: false, error };
  }
}

function compare(input: unknown, label: string): { fast: boolean; valid: boolean } {
  const schema = CheckInputSchema.safeParse(input);
  const fast = validCheckInput(input);
  if (fast !== undefined) {
    assert.ok(schema.success, `fast path accepted what the schema rejects: ${label}`);
    assert.deepStrictEqual(fast, schema.data, `fast path value differs from the schema's: ${label}`);
  }
  const ours = outcome(() => parseCheckInput(input));
  const theirs = outcome(() => parseOrThrow(CheckInputSchema, input, 'check'));
  assert.equal(ours.ok, theirs.ok, `verdicts differ: ${label}`);
  if (ours.ok && theirs.ok) assert.deepStrictEqual(ours.value, theirs.value, label);
  if (!ours.ok && !theirs.ok) {
    assert.equal(ours.error.message, theirs.error.message, label);
    assert.deepStrictEqual(ours.error.fieldErrors, theirs.error.fieldErrors, label);
  }
  return { fast: fast !== undefined, valid: schema.success };
}

describe('CheckInput fast path', () => {
  test('agrees with CheckInputSchema on 30,000 generated JSON bodies, and takes every valid one', () => {
    let valid = 0;
    let invalid = 0;
    for (let i = 0; i < 30_000; i++) {
      const text = genJsonText();
      const input: unknown = JSON.parse(text);
      const { fast, valid: ok } = compare(input, text);
      if (ok) {
        valid++;
        // A JSON body that the schema accepts goes the fast way, unless it carries keys zod
        // treats specially (an own `constructor` or `__proto__`) or astral characters (zod
        // counts lengths in code points, the fast path in UTF-16 units: a string over a limit
        // in units is left to zod), or any non-ASCII text (NFC and the text rule are zod's).
        if (!/"(constructor|__proto__)"|[^\x20-\x7e]|\\u/.test(text)) assert.ok(fast, `valid body not on the fast path: ${JSON.stringify(text)}`);
      } else {
        invalid++;
      }
    }
    // The generator must exercise both sides.
    assert.ok(valid > 3_000, `only ${valid} valid inputs generated`);
    assert.ok(invalid > 3_000, `only ${invalid} invalid inputs generated`);
  });

  test('agrees with CheckInputSchema on inputs a JSON body cannot produce', () => {
    for (const [i, input] of oddInputs().entries()) compare(input, `odd input #${i}`);
  });

  test('boundaries: lengths, counts and patterns', () => {
    const subject16 = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v']));
    const subject17 = { ...subject16, k16: 'v' };
    assert.ok(validCheckInput({ gate: 'a'.repeat(64), subject: subject16 }));
    assert.equal(validCheckInput({ gate: 'a'.repeat(65), subject: { repo: 'a' } }), undefined);
    assert.equal(validCheckInput({ gate: 'ci', subject: subject17 }), undefined);
    assert.equal(validCheckInput({ gate: 'ci', subject: {} }), undefined);
    assert.ok(validCheckInput({ gate: 'ci', subject: { repo: 'x'.repeat(256) }, context: { ['k'.repeat(64)]: 'v'.repeat(512), '': '' } }));
    assert.equal(validCheckInput({ gate: 'ci', subject: { repo: 'x'.repeat(257) } }), undefined);
    assert.equal(validCheckInput({ gate: 'ci', subject: { repo: 'a' }, context: { ['k'.repeat(65)]: 'v' } }), undefined);
    assert.equal(validCheckInput({ gate: 'ci', subject: { repo: 'a' }, context: { k: 'v'.repeat(513) } }), undefined);
    assert.equal(validCheckInput({ gate: 'ci', subject: { repo: 'a', extra: 'b c' } }), undefined);
    assert.equal(validCheckInput({ gate: 'ci', subject: { repo: 'a' }, extra: 1 }), undefined);
    const error = outcome(() => parseCheckInput({ gate: 'ci', subject: { repo: 'a', Bad: 'x' }, extra: 1 }));
    assert.ok(!error.ok);
    assert.deepStrictEqual(error.error.fieldErrors?.map((f) => f.path).sort(), ['extra', 'subject.Bad']);
  });
});
