import { canonicalIntegerEnd, compareSpans } from '../canonical-json';
import { validLedgerEntry, validTimestamp, type LedgerEntry } from '../domain/ledger-entry';
import { auditView } from './semantic-audit';

/**
 * The ledger verifier's fast path for the entry nearly every entry of a busy ledger is, a gate
 * evaluation under a bypass: ONE scan of the entry's text that decides at once that it is valid
 * JSON, in canonical form and a ledger entry, and builds only what the verifier and the audit
 * read of it (auditView), instead of JSON.parse building the whole entry, a second scan for the
 * canonical form and the schema walking the result (with their garbage, half a verify's CPU).
 *
 * It accepts only what the full check (checkEntryParsed in verify-ledger.ts: JSON.parse,
 * isCanonicalJsonText, safeParseLedgerEntry, seq) certainly accepts, and returns auditView of
 * the entry that check returns; anything else (another entry type, an escape or a control
 * character anywhere, a surrogate, a fraction, an unknown or missing key, a seq other than
 * `index`, every invalid entry) is `undefined` and goes through the full check, so verdicts,
 * messages and problem codes stay the full check's. What it accepts:
 *
 * - exactly the 13 keys of LedgerEntrySchema in sorted order (actor … type), no other;
 * - values that are canonical JSON as plainlyCanonical decides it (canonical-json.ts): strings
 *   without escapes (the text holds no backslash, no character below U+0020, no surrogate),
 *   integers of at most 15 digits (not -0), true, false, null, arrays, and objects whose keys
 *   strictly increase by UTF-16 code units; no whitespace;
 * - top-level fields checked with validLedgerEntry's rules (the schema's patterns), `data` an
 *   object without `__proto__` or `constructor` keys, and `data.subject` (the only part of
 *   `data` the audit reads) taken with JSON.parse of its own text.
 *
 * test/unit/shared/ledger/entry-fast-check.test.ts holds it to the full check's verdict and
 * value over many generated and mutated entries.
 */

/** The keys of a ledger entry in canonical (sorted) order, as they appear in its text. */
const KEYS = ['actor', 'actorRole', 'approver', 'data', 'expiresAt', 'gate', 'incidentRef', 'reason', 'seq', 'sourceAddress', 'target', 'time', 'type'] as const;
const TOKENS = KEYS.map((k, j) => `${j === 0 ? '{' : ','}"${k}":`);
const F = Object.fromEntries(KEYS.map((k, j) => [k, j])) as Record<(typeof KEYS)[number], number>;
const TAIL = ',"type":"evaluation_under_bypass"}';
/** Escapes, control characters and surrogates are left to the full check. */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const UNDECIDED = /[\x00-\x1f\\\ud800-\udfff]/;
/** Deeper nesting than this is left to the full check (no entry the store writes comes close). */
const MAX_DEPTH = 32;

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** Where each top-level value starts and ends in the text being scanned. */
const starts = new Int32Array(KEYS.length);
const ends = new Int32Array(KEYS.length);
/** The span of data.subject's value in the text being scanned (-1: absent). */
let subjectStart = -1;
let subjectEnd = -1;

/**
 * auditView of the entry `text` is, when it is certainly a well-formed evaluation under a bypass
 * in canonical form at position `index`; undefined when the full check must decide.
 */
export function fastEvaluationEntry(text: string, index: number): LedgerEntry | undefined {
  if (!at(text, text.length - TAIL.length, TAIL)) return undefined;
  const digits = decimalDigits(index);
  for (let k = 0; k < templates.length; k++) {
    const entry = fromTemplate(templates[k]!, text, index, digits);
    if (entry) {
      // Most recently used first: consecutive entries under one bypass hit the first.
      if (k > 0) templates.unshift(templates.splice(k, 1)[0]!);
      return entry;
    }
  }
  const entry = scanned(text, index);
  if (entry) {
    const head = text.slice(0, starts[F.seq]);
    const middle = text.slice(ends[F.seq], starts[F.time]! + 1);
    // Two characters just before `","time":"` (the end of the target, a request id): where
    // evaluations under different bypasses differ, to pass over another bypass's template at
    // the cost of two reads instead of a compare of its head.
    const probe = Math.max(0, middle.length - 12);
    templates.unshift({ head, middle, probe, probeA: middle.charCodeAt(probe), probeB: middle.charCodeAt(probe + 1), fixedLength: head.length + middle.length + TIMESTAMP_LENGTH + 1 + TAIL.length, view: entry });
    if (templates.length > TEMPLATES) templates.pop();
  }
  return entry;
}

/**
 * An evaluation entry already proven by the full scan, cut where the next evaluation under the
 * same bypass differs: `head` is its text up to the seq's value (`…,"seq":`), `middle` from after
 * the seq to the time's opening quote (`,"sourceAddress":…,"time":"`). Another text made of the
 * same head, another canonical integer, the same middle, another timestamp and TAIL is as valid
 * JSON, as canonical and as well-formed an entry as the one proven, once that integer (seq) and
 * that timestamp (time) pass their own checks; its view is the proven one with its seq and time.
 */
interface Template {
  head: string;
  middle: string;
  /** Where in `middle` the two characters probeA and probeB are (a quick filter, see above). */
  probe: number;
  probeA: number;
  probeB: number;
  /** The length of a text made of this template but its seq. */
  fixedLength: number;
  view: LedgerEntry;
}
/** Bypasses whose evaluations interleave (CI checks under several at once) each keep one. */
const TEMPLATES = 16;
const templates: Template[] = [];
const TIMESTAMP_LENGTH = 24;

function fromTemplate(t: Template, text: string, index: number, digits: number): LedgerEntry | undefined {
  // Quick filters first (the seq must be `index`, so where the middle starts is known); then every character.
  if (text.length !== t.fixedLength + digits) return undefined;
  const middleAt = t.head.length + digits;
  if (text.charCodeAt(middleAt + t.probe) !== t.probeA || text.charCodeAt(middleAt + t.probe + 1) !== t.probeB) return undefined;
  if (!at(text, 0, t.head)) return undefined;
  const seqStart = t.head.length;
  const seqEnd = integer(text, seqStart);
  if (seqEnd < 0 || text.charCodeAt(seqStart) === 0x2d) return undefined;
  const timeStart = seqEnd + t.middle.length;
  // The text ends with the timestamp, its closing quote and TAIL (checked by the caller).
  if (timeStart + TIMESTAMP_LENGTH + 1 + TAIL.length !== text.length || text.charCodeAt(timeStart + TIMESTAMP_LENGTH) !== QUOTE) return undefined;
  if (!at(text, seqEnd, t.middle)) return undefined;
  const seq = Number(text.slice(seqStart, seqEnd));
  if (seq !== index) return undefined;
  const time = text.slice(timeStart, timeStart + TIMESTAMP_LENGTH);
  if (!validTimestamp(time)) return undefined;
  const v = t.view;
  return { seq, time, type: v.type, actor: v.actor, actorRole: v.actorRole, target: v.target, gate: v.gate, reason: null, incidentRef: null, approver: null, expiresAt: null, sourceAddress: null, data: v.data };
}

/** How many decimal digits `n` (a non-negative integer) has. */
function decimalDigits(n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  return digits;
}

/** The full scan (below): auditView of the entry, or undefined. */
function scanned(text: string, index: number): LedgerEntry | undefined {
  if (UNDECIDED.test(text)) return undefined;
  subjectStart = -1;
  let i = 0;
  for (let j = 0; j < KEYS.length; j++) {
    const token = TOKENS[j]!;
    if (!at(text, i, token)) return undefined;
    i += token.length;
    starts[j] = i;
    const end = j === F.data ? (text.charCodeAt(i) === LBRACE ? object(text, i, 2, true) : -1) : value(text, i, 2);
    if (end < 0) return undefined;
    ends[j] = end;
    i = end;
  }
  if (i !== text.length - 1) return undefined;
  const seqText = text.slice(starts[F.seq], ends[F.seq]);
  // A number (not a string, not negative: the scan allows at most 15 digits, a safe integer).
  const first = seqText.charCodeAt(0);
  if (!(first >= 0x30 && first <= 0x39)) return undefined;
  const seq = Number(seqText);
  if (seq !== index) return undefined;
  const candidate = {
    seq,
    time: field(text, F.time),
    type: 'evaluation_under_bypass',
    actor: field(text, F.actor),
    actorRole: field(text, F.actorRole),
    target: field(text, F.target),
    gate: field(text, F.gate),
    reason: field(text, F.reason),
    incidentRef: field(text, F.incidentRef),
    approver: field(text, F.approver),
    expiresAt: field(text, F.expiresAt),
    sourceAddress: field(text, F.sourceAddress),
    data: subjectStart >= 0 ? { subject: JSON.parse(text.slice(subjectStart, subjectEnd)) as unknown } : {},
  };
  const entry = validLedgerEntry(candidate, true);
  return entry ? auditView(entry) : undefined;
}

/** A top-level string or null value; anything else as a value no string field accepts. */
function field(text: string, j: number): string | null | typeof NOT_TEXT {
  const s = starts[j]!;
  const c = text.charCodeAt(s);
  if (c === QUOTE) return text.slice(s + 1, ends[j]! - 1);
  if (c === 0x6e) return null;
  return NOT_TEXT;
}
/** A value that fails every string or null check of validLedgerEntry. */
const NOT_TEXT = Object.freeze({ notText: true });

/** The end of the canonical JSON value at `i`, or -1 when it is not one (or not decided here). */
function value(text: string, i: number, depth: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) {
    // No backslash in the text: the string ends at the next quote.
    const end = text.indexOf('"', i + 1);
    return end < 0 ? -1 : end + 1;
  }
  if (c === LBRACE) return object(text, i, depth, false);
  if (c === LBRACKET) return array(text, i, depth);
  if (c === 0x6e) return at(text, i, 'null') ? i + 4 : -1;
  if (c === 0x74) return at(text, i, 'true') ? i + 4 : -1;
  if (c === 0x66) return at(text, i, 'false') ? i + 5 : -1;
  return integer(text, i);
}

/** A canonical integer (canonicalIntegerEnd) followed by , } or ]: its end, else -1. */
function integer(text: string, i: number): number {
  const end = canonicalIntegerEnd(text, i);
  if (end < 0) return -1;
  const next = text.charCodeAt(end);
  return next === COMMA || next === RBRACE || next === RBRACKET ? end : -1;
}

function object(text: string, i: number, depth: number, isData: boolean): number {
  if (depth > MAX_DEPTH) return -1;
  i++;
  if (text.charCodeAt(i) === RBRACE) return i + 1;
  let previousStart = -1;
  let previousEnd = -1;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return -1;
    const keyStart = i + 1;
    const keyEnd = text.indexOf('"', keyStart);
    if (keyEnd < 0) return -1;
    if (previousStart >= 0 && compareSpans(text, previousStart, previousEnd, keyStart, keyEnd) >= 0) return -1;
    previousStart = keyStart;
    previousEnd = keyEnd;
    if (text.charCodeAt(keyEnd + 1) !== COLON) return -1;
    const end = value(text, keyEnd + 2, depth + 1);
    if (end < 0) return -1;
    if (isData) {
      const length = keyEnd - keyStart;
      if (length === 7 && at(text, keyStart, 'subject')) {
        subjectStart = keyEnd + 2;
        subjectEnd = end;
      } else if ((length === 9 && at(text, keyStart, '__proto__')) || (length === 11 && at(text, keyStart, 'constructor'))) {
        return -1;
      }
    }
    const next = text.charCodeAt(end);
    if (next === RBRACE) return end + 1;
    if (next !== COMMA) return -1;
    i = end + 1;
  }
}

function array(text: string, i: number, depth: number): number {
  if (depth > MAX_DEPTH) return -1;
  i++;
  if (text.charCodeAt(i) === RBRACKET) return i + 1;
  for (;;) {
    const end = value(text, i, depth + 1);
    if (end < 0) return -1;
    const next = text.charCodeAt(end);
    if (next === RBRACKET) return end + 1;
    if (next !== COMMA) return -1;
    i = end + 1;
  }
}

/**
 * Whether `part` is in `text` at `i`. A slice compared with === (a memory compare, ~30 ns for
 * 300 characters here) rather than startsWith, which Node 20 runs character by character
 * (~700 ns for the same 300).
 */
function at(text: string, i: number, part: string): boolean {
  return text.slice(i, i + part.length) === part;
}
