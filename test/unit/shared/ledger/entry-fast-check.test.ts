import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from '../../../../shared/canonical-json';
import { LedgerEntryTypeSchema } from '../../../../shared/domain/ledger-entry';
import { fastEvaluationEntry } from '../../../../shared/ledger/entry-fast-check';
import { auditView } from '../../../../shared/ledger/semantic-audit';
import { checkEntryBytes, checkEntryParsed } from '../../../../shared/ledger/verify-ledger';
import { seededRandom } from '../../../support/seeded-random';

/**
 * The verifier's one-scan path for evaluations under a bypass (entry-fast-check.ts) against the
 * full check (checkEntryParsed: JSON.parse, canonical form, LedgerEntrySchema, seq) over streams
 * of generated entries, mostly well-formed evaluations under a few interleaved bypasses (so the
 * proven-prefix templates are used), many of them mutated by a character, a key order, a number
 * or a field (seeded, so a failure reproduces): whatever the fast path accepts, the full check
 * accepts, and the fast path's entry is auditView of the full check's; whatever it leaves,
 * checkEntryBytes answers exactly as the full check (same problem, code and message).
 */

const { int, pick, chance, random } = seededRandom(0x5eedfa5);

const LEAF = new Uint8Array(32).fill(7);
const ODD_TEXT = ['', 'ü', 'a"b', 'a\\b', 'line\nbreak', 'tab\t', '\u0000', '\ud800', '😀', '\u2028', 'constructor', '__proto__', ' spaced '];
const ODD_VALUES: unknown[] = [null, 0, -1, 1.5, 1e21, -0, true, false, [], {}, ['a', 1], { a: { b: [null] } }, 2 ** 54 + 2, 'x'];

function text(valid: () => string): unknown {
  return chance(0.95) ? valid() : chance(0.5) ? pick(ODD_TEXT) : pick(ODD_VALUES);
}

function timestamp(): string {
  if (chance(0.02)) return pick(['2026-02-30T00:00:00.000Z', '2026-06-22T03:14:07Z', '2026-06-22 03:14:07.000Z', '+012026-06-22T03:14:07.000Z', '2026-06-22T03:14:07.000z']);
  return new Date(1_700_000_000_000 + int(200_000_000_000)).toISOString();
}

/** A bypass's evaluations share everything but seq and time (and, now and then, anything). */
function bypass(): Record<string, unknown> {
  const subject: Record<string, unknown> = { repo: pick(['payments-api', 'web', 'ü-repo', 'a"b']), branch: `b-${int(100)}` };
  if (chance(0.1)) subject.extra = pick(ODD_VALUES);
  const data: Record<string, unknown> = { bypassId: `byp_${int(1e9).toString(36)}`, context: chance(0.8) ? null : { ci: 'github', run: int(1e6) }, gateKind: 'slow', verdict: 'warn' };
  if (chance(0.9)) data.subject = chance(0.95) ? subject : pick(ODD_VALUES);
  if (chance(0.05)) data[pick(['__proto__', 'constructor', '1', 'ü', 'a b'])] = 1;
  if (chance(0.05)) data.score = pick([1.5, -0.25, 1e3, 10 ** 16, -7]);
  return {
    actor: chance(0.97) ? pick(['ci-gate', 'system', 'a@b.example', 'A'.repeat(64)]) : pick(['', '-x', 'a'.repeat(65), 'ali ce', 1]),
    actorRole: chance(0.97) ? pick(['gate', 'system', 'admin']) : pick(['root', 'Gate', null]),
    approver: chance(0.5) ? null : text(() => 'bob'),
    data: chance(0.98) ? data : pick(ODD_VALUES),
    expiresAt: chance(0.1) ? null : chance(0.97) ? timestamp() : pick(ODD_VALUES),
    gate: chance(0.95) ? 'ci-tests' : pick([null, '', 3]),
    incidentRef: chance(0.9) ? null : text(() => 'INC-7'),
    reason: text(() => 'CI rerun of the payments suite'),
    sourceAddress: chance(0.9) ? '127.0.0.1' : text(() => '10.0.0.1'),
    target: text(() => `req_${int(1e9).toString(36)}`),
    type: chance(0.97) ? 'evaluation_under_bypass' : pick(LedgerEntryTypeSchema.options),
  };
}

/** One mutation of an entry's text, or the text itself. */
function mutate(t: string, index: number): string {
  const r = random();
  if (r < 0.6) return t;
  const at = int(t.length);
  if (r < 0.68) return t.slice(0, at) + pick(['"', '\\', ' ', '{', '}', '[', ']', ',', ':', '0', '9', '-', '.', 'e', 'a', 'ü', '\u0000', '\ud800', 'n', 't']) + t.slice(at + 1);
  if (r < 0.74) return t.slice(0, at) + pick(['"', ',', ' ', '0', '\\n', '{}', 'null', '"x":1,']) + t.slice(at);
  if (r < 0.78) return t.slice(0, at) + t.slice(at + 1);
  if (r < 0.82) return t.replace(`"seq":${index}`, `"seq":${pick([index + 1, index - 1, -index, `"${index}"`, `${index}.0`, `0${index}`, `${index}e0`, '12345678901234567'])}`);
  if (r < 0.86) return t.replace(/"time":"[^"]*"/, `"time":${JSON.stringify(pick([timestamp(), '2026-02-30T00:00:00.000Z', '2026-06-22T03:14:07.00Z', '2026-06-22T03:14:07.0000Z', 'x'.repeat(24)]))}`);
  if (r < 0.9) return JSON.stringify(JSON.parse(t), null, chance(0.5) ? 1 : undefined).replace('"actor"', '"actor" ');
  if (r < 0.94) {
    // The same value with its top-level keys out of order, or a key repeated.
    const obj = JSON.parse(t) as Record<string, unknown>;
    const keys = Object.keys(obj);
    return chance(0.5) ? JSON.stringify(Object.fromEntries(keys.reverse().map((k) => [k, obj[k]]))) : t.replace('{"actor":', `{"actor":${JSON.stringify(obj.actor)},"actor":`);
  }
  if (r < 0.955) {
    // Inside data: keys out of order or repeated, a number JSON.stringify does not write back.
    return pick([
      () => t.replace(/"subject":\{"branch":("[^"]*"),"repo":("[^"]*")/, '"subject":{"repo":$2,"branch":$1'),
      () => t.replace('"data":{"bypassId"', '"data":{"bypassId":"x","bypassId"'),
      () => t.replace('"gateKind":', '"gateKind":"slow","gateKind":'),
      () => t.replace('"verdict":"warn"}', `"verdict":"warn","weight":${pick(['12345678901234567', '1234567890123456', '123456789012345', '10000000000000000', '-0', '1.0', '1e2', '007', '-12'])}}`),
    ])();
  }
  if (r < 0.97) return t.replace('"type":"evaluation_under_bypass"', `"type":"${pick(['decision', 'evaluation_under_bypass ', 'bypass_expired'])}"`);
  return t.replace(/,"[a-zA-Z]+":(null|"[^"]*")/, '');
}

test('fastEvaluationEntry accepts only what the full check accepts, as auditView of its entry; the rest gets the full check exactly', () => {
  const bypasses = Array.from({ length: 24 }, bypass);
  let fast = 0;
  let validEvaluations = 0;
  let plainValid = 0;
  let plainFast = 0;
  for (let index = 0; index < 40_000; index++) {
    // A few bypasses at a time, as CI traffic interleaves them; now and then a new one.
    if (chance(0.01)) bypasses[int(bypasses.length)] = bypass();
    const base = pick(chance(0.8) ? bypasses.slice(0, 6) : bypasses);
    const entry: Record<string, unknown> = { ...base, seq: index, time: timestamp() };
    const plain = canonicalJson(entry);
    const t = mutate(plain, index);
    const full = checkEntryParsed(t, LEAF, index);
    const quick = fastEvaluationEntry(t, index);
    if (quick) {
      fast++;
      assert.equal(full.kind, 'entry', `fast path accepted what the full check refuses (${full.kind === 'bad' ? full.problem.message : ''}): ${t}`);
      assert.deepEqual(quick, auditView((full as { entry: Parameters<typeof auditView>[0] }).entry), t);
    }
    // What the verifier gets: the fast path's view, or else exactly the full check's answer.
    assert.deepEqual(checkEntryBytes(t, LEAF, index), quick ? { kind: 'entry', leaf: LEAF, entry: quick } : full, t);
    if (full.kind === 'entry' && full.entry.type === 'evaluation_under_bypass') {
      validEvaluations++;
      // Every valid evaluation whose text has no escape, control character or surrogate takes the fast path.
      // eslint-disable-next-line no-control-regex -- the characters the fast path leaves to the full check
      if (!/[\x00-\x1f\\\ud800-\udfff]/.test(t) && t === plain) {
        plainValid++;
        if (quick) plainFast++;
      }
    }
  }
  assert.ok(validEvaluations > 10_000, `valid evaluations ${validEvaluations}`);
  assert.ok(fast > 10_000, `fast ${fast}`);
  // Plain entries miss the fast path only for a number it leaves to the full check (data.score, a big integer).
  assert.ok(plainFast > 0.9 * plainValid, `plain valid ${plainValid}, fast ${plainFast}`);
});

test('the proven prefix of one entry is not taken for another entry whose bytes differ anywhere else', () => {
  const base = { actor: 'ci-gate', actorRole: 'gate', approver: null, data: { bypassId: 'byp_1', subject: { repo: 'r' } }, expiresAt: null, gate: 'ci-tests', incidentRef: null, reason: null, sourceAddress: '127.0.0.1', target: 'req_1', type: 'evaluation_under_bypass' };
  const first = canonicalJson({ ...base, seq: 100, time: '2026-06-22T03:14:07.000Z' });
  assert.ok(fastEvaluationEntry(first, 100));
  const next = canonicalJson({ ...base, seq: 101, time: '2026-06-22T03:14:08.000Z' });
  assert.deepEqual(fastEvaluationEntry(next, 101), auditView(JSON.parse(next)));
  // Same head and middle, but the seq is not this position, or not a canonical integer, or the time not a real instant.
  assert.equal(fastEvaluationEntry(next, 102), undefined);
  assert.equal(fastEvaluationEntry(next.replace('"seq":101', '"seq":0101'), 101), undefined);
  assert.equal(fastEvaluationEntry(next.replace('"seq":101', '"seq":-101'), -101), undefined);
  assert.equal(fastEvaluationEntry(next.replace('03:14:08.000Z', '03:14:61.000Z'), 101), undefined);
  assert.equal(fastEvaluationEntry(next.replace('03:14:08.000Z', '03:14:08.000"'), 101), undefined);
  assert.equal(fastEvaluationEntry(next.replace('"sourceAddress":"127.0.0.1"', '"sourceAddress":127'), 101), undefined);
  assert.equal(checkEntryBytes(next.replace('"sourceAddress":"127.0.0.1"', '"sourceAddress":127'), LEAF, 101).kind, 'bad');
  assert.equal(fastEvaluationEntry(next.replace('"time"', ' "time"'), 101), undefined);
});
