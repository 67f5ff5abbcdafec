import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReplyInputSchema } from '../../../../shared/domain/api';
import { AuditQuerySchema } from '../../../../shared/domain/audit';
import { CommentSchema, DaySchema, isRealInstant, ReasonSchema, ScopeSchema, TimestampSchema } from '../../../../shared/domain/common';
import { DecisionStatementSchema } from '../../../../shared/domain/decision';
import { displayScope, displayText } from '../../../../shared/domain/display-text';
import { KeyEnrollInputSchema } from '../../../../shared/domain/identity';
import { ReportQuerySchema } from '../../../../shared/domain/reports';
import { RequestInputSchema } from '../../../../shared/domain/request';
import { ReviewCompleteInputSchema } from '../../../../shared/domain/review';
import { textIssue, visibleLength } from '../../../../shared/domain/text-hygiene';
import { validTimestamp } from '../../../../shared/domain/ledger-entry';
import { AppError, parseOrThrow } from '../../../../shared/errors';
import { newDecisionStatement } from '../../../../shared/signing/decision-statement';
import { seededRandom } from '../../../support/seeded-random';

const REASON = 'The image signer is down and checkout returns 500s';

function refusal(schema: Parameters<typeof parseOrThrow>[0], input: unknown): AppError {
  try {
    parseOrThrow(schema, input, 'input');
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

describe('text hygiene: one rule for every free-text field', () => {
  const hostile: [string, string][] = [
    ['\u0000', 'U+0000 (NULL)'],
    ['\u0007', 'U+0007 (BELL)'],
    ['\u001b[2K\r', 'U+001B (ESCAPE)'],
    ['\r', 'U+000D (CARRIAGE RETURN)'],
    ['\u0085', 'U+0085 (NEXT LINE)'],
    ['\u009b', 'U+009B (CONTROL SEQUENCE INTRODUCER)'],
    ['\u202e', 'U+202E (RIGHT-TO-LEFT OVERRIDE)'],
    ['\u202a', 'U+202A (LEFT-TO-RIGHT EMBEDDING)'],
    ['\u2066', 'U+2066 (LEFT-TO-RIGHT ISOLATE)'],
    ['\u2067', 'U+2067 (RIGHT-TO-LEFT ISOLATE)'],
    ['\u2069', 'U+2069 (POP DIRECTIONAL ISOLATE)'],
    ['\u200f', 'U+200F (RIGHT-TO-LEFT MARK)'],
    ['\ud800', 'U+D800 (a lone surrogate)'],
    ['\udfff', 'U+DFFF (a lone surrogate)'],
    ['\u2028', 'U+2028 (LINE SEPARATOR)'],
    ['\uffff', 'U+FFFF (NONCHARACTER)'],
  ];

  test('reasons, comments, replies, review notes and labels refuse controls, bidi, lone surrogates and NUL, naming the field and the code point', () => {
    for (const [ch, name] of hostile) {
      const text = `${REASON} ${ch}SEV1 outage, CTO approved`;
      const cases: [Parameters<typeof parseOrThrow>[0], unknown, string][] = [
        [RequestInputSchema, { gate: 'ci-tests', scope: { repo: 'a' }, reason: text, severity: 'sev3', ttl: '1h' }, 'reason'],
        [ReplyInputSchema, { message: text }, 'message'],
        [ReviewCompleteInputSchema, { finding: 'justified', note: text }, 'note'],
        [KeyEnrollInputSchema, { publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(60)}\n-----END PUBLIC KEY-----`, label: `YubiKey ${ch}5C` }, 'label'],
      ];
      for (const [schema, input, field] of cases) {
        const error = refusal(schema, input);
        assert.equal(error.code, 'invalid_input');
        const fieldError = error.fieldErrors?.find((f) => f.path === field);
        assert.ok(fieldError, `${field}: no field error for ${name} in ${JSON.stringify(error.fieldErrors)}`);
        assert.match(fieldError.message, new RegExp(`^${name.replace(/[()+]/g, '\\$&')} is not allowed \\(character \\d+\\)$`));
        assert.ok(error.message.includes(`${field}: ${name} is not allowed`), error.message);
      }
    }
  });

  test('the issue example reads as documented', () => {
    const error = refusal(RequestInputSchema, { gate: 'ci-tests', scope: { repo: 'a' }, reason: `${REASON}\u202e`, severity: 'sev3', ttl: '1h' });
    assert.match(error.message, /reason: U\+202E \(RIGHT-TO-LEFT OVERRIDE\) is not allowed/);
  });

  test('newlines are allowed in long text only', () => {
    assert.equal(ReasonSchema.parse(`${REASON}\nsecond line`), `${REASON}\nsecond line`);
    assert.equal(CommentSchema.parse('line one\nline two'), 'line one\nline two');
    const error = refusal(KeyEnrollInputSchema, { publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(60)}\n-----END PUBLIC KEY-----`, label: 'two\nlines' });
    assert.match(error.fieldErrors![0]!.message, /U\+000A \(LINE FEED\)/);
  });

  test('text is stored in NFC', () => {
    const nfd = 'Cafe\u0301 checkout is down since the last deploy';
    assert.equal(ReasonSchema.parse(nfd), 'Caf\u00e9 checkout is down since the last deploy');
    assert.deepEqual(ScopeSchema.parse({ repo: 'cafe\u0301' }), { repo: 'caf\u00e9' });
  });

  test('zero-width and format characters are refused in scope values, allowed in long text (emoji joiners)', () => {
    for (const [ch, name] of [
      ['\u200b', 'ZERO WIDTH SPACE'],
      ['\u200d', 'ZERO WIDTH JOINER'],
      ['\ufeff', 'ZERO WIDTH NO-BREAK SPACE'],
      ['\u00ad', 'SOFT HYPHEN'],
      ['\u3164', 'HANGUL FILLER'],
      ['\u00a0', 'NO-BREAK SPACE'],
      [' ', 'SPACE'],
    ] as const) {
      const error = refusal(ScopeSchema, { repo: `pay${ch}ments-api` });
      assert.equal(error.fieldErrors![0]!.path, 'repo');
      assert.match(error.fieldErrors![0]!.message, new RegExp(`\\(${name}\\) is not allowed in an identifier or scope value \\(character 4\\)`));
    }
    const family = 'On call: \u{1F468}\u200d\u{1F469}\u200d\u{1F467} checkout is down';
    assert.equal(ReasonSchema.parse(family), family);
  });

  test('an empty scope value is refused once, for being empty; commas and "=" for what they are', () => {
    const empty = refusal(ScopeSchema, { repo: '' });
    assert.deepEqual(empty.fieldErrors!.map((e) => e.message), ['scope values cannot be empty']);
    const comma = refusal(ScopeSchema, { repo: 'a,b' });
    assert.deepEqual(comma.fieldErrors!.map((e) => e.message), ['scope values cannot contain commas or "="']);
  });

  test('minimum lengths count visible characters', () => {
    assert.equal(visibleLength('\u200b'.repeat(25)), 0);
    assert.equal(visibleLength('a\u0301b c'), 3);
    const zw = refusal(RequestInputSchema, { gate: 'ci-tests', scope: { repo: 'a' }, reason: '\u200b'.repeat(25), severity: 'sev3', ttl: '1h' });
    assert.match(zw.message, /reason: the reason must be at least 20 characters/);
    const fillers = refusal(RequestInputSchema, { gate: 'ci-tests', scope: { repo: 'a' }, reason: `ok${'\u3164'.repeat(30)}`, severity: 'sev3', ttl: '1h' });
    assert.match(fillers.message, /reason: the reason must be at least 20 characters/);
    const reply = refusal(ReplyInputSchema, { message: 'a\u200b\u200b\u200b\u200b\u200b' });
    assert.match(reply.message, /message: a reply needs at least 5 characters/);
  });

  test('a signed decision comment must already be clean and NFC (normalizing would change what was signed)', () => {
    const base = {
      _type: 'https://breakglass.dev/decision/v1',
      requestId: 'req_0123456789abcdef',
      requestDigest: `sha256:${'0'.repeat(64)}`,
      decision: 'deny',
      approver: 'bob',
      nonce: '0'.repeat(32),
      signedAt: '2026-06-22T03:14:07.000Z',
    };
    assert.match(refusal(DecisionStatementSchema, { ...base, comment: 'no\u202e way' }).message, /comment: U\+202E/);
    assert.match(refusal(DecisionStatementSchema, { ...base, comment: 'Cafe\u0301 down' }).message, /comment: must be in Unicode NFC/);
    assert.match(refusal(DecisionStatementSchema, { ...base, comment: '\u200b\u200b\u200b\u200b\u200b\u200b' }).message, /at least 5 characters/);
    const statement = newDecisionStatement({ request: { id: base.requestId, digest: base.requestDigest }, decision: 'deny', approver: 'bob', comment: '  Cafe\u0301 is down  ', nonceHex: base.nonce, now: new Date(base.signedAt) });
    assert.equal(statement.comment, 'Caf\u00e9 is down');
  });
});

describe('real dates', () => {
  test('TimestampSchema round-trips through Date', () => {
    assert.equal(TimestampSchema.parse('2026-06-22T03:14:07.000Z'), '2026-06-22T03:14:07.000Z');
    for (const bad of ['2026-13-45T25:61:61.000Z', '2026-02-30T00:00:00.000Z', '2026-06-22T24:00:00.000Z', '2026-06-22T03:14:60.000Z']) {
      const error = refusal(TimestampSchema, bad);
      assert.match(error.message, /is not a real date and time/, bad);
    }
    assert.match(refusal(TimestampSchema, '2026-13-45T25:61:61Z').message, /must be a UTC timestamp/);
  });
  test('report and audit queries refuse impossible dates with a 400, not a crash', () => {
    assert.equal(refusal(ReportQuerySchema, { now: '2026-13-45T25:61:61.000Z' }).code, 'invalid_input');
    assert.equal(refusal(AuditQuerySchema, { from: '2026-02-31T00:00:00.000Z' }).fieldErrors![0]!.path, 'from');
    assert.equal(refusal(AuditQuerySchema, { to: '2026-04-31T00:00:00.000Z' }).fieldErrors![0]!.path, 'to');
  });
  test('isRealInstant (which remembers the last seconds it found real) agrees with a Date round trip', () => {
    const { int, pick } = seededRandom(22);
    const two = (n: number) => String(n).padStart(2, '0');
    const roundTrips = (v: string) => Number.isFinite(Date.parse(v)) && new Date(Date.parse(v)).toISOString() === v;
    let real = 0;
    for (let i = 0; i < 20_000; i++) {
      // Few distinct seconds, so most values meet a remembered one; fields around their limits.
      const value = `${pick(['2026', '2028', '0000', '9999'])}-${two(pick([1, 2, 12, 13, 0]))}-${two(pick([1, 28, 29, 30, 31, 32]))}T${two(pick([0, 23, 24]))}:${two(pick([0, 59, 60]))}:${two(pick([0, 59, 60]))}.${String(int(1000)).padStart(3, '0')}${pick(['Z', 'Z', 'Z', '+'])}`;
      const expected = roundTrips(value);
      if (expected) real++;
      assert.equal(isRealInstant(value), expected, value);
    }
    assert.ok(real > 1_000, `only ${real} real instants generated`);
  });
  test('validTimestamp (which remembers the last second it accepted) is TimestampSchema\'s verdict', () => {
    const { int, pick } = seededRandom(23);
    const two = (n: number) => String(n).padStart(2, '0');
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      // Few distinct seconds (most values meet the remembered one); the milliseconds and the end
      // sometimes not digits, a dot or a Z; sometimes longer or shorter.
      const ms = pick([String(int(1000)).padStart(3, '0'), String(int(1000)).padStart(3, '0'), `${int(10)}a${int(10)}`, `${int(10)}${int(10)}`, `${int(10)}${int(10)}${int(10)}${int(10)}`, '/00', ':99']);
      const value = `${pick(['2026', '2028', '0000'])}-${two(pick([2, 12, 12, 13]))}-${two(pick([28, 28, 29, 30]))}T${two(pick([0, 23, 23, 24]))}:${two(pick([0, 59]))}:${two(pick([0, 59, 59, 60]))}${pick(['.', '.', '.', ','])}${ms}${pick(['Z', 'Z', 'Z', 'z', 'ZZ', ''])}`;
      const expected = TimestampSchema.safeParse(value).success;
      if (expected) valid++;
      assert.equal(validTimestamp(value), expected, value);
    }
    assert.ok(valid > 500, `only ${valid} valid timestamps generated`);
    assert.equal(validTimestamp(12), false);
  });
  test('DaySchema (standing scope validUntil) refuses days that do not exist', () => {
    assert.equal(DaySchema.parse('2028-02-29'), '2028-02-29');
    assert.match(refusal(DaySchema, '2027-02-29').message, /is not a real date/);
  });
});

describe('output escaping', () => {
  test('clean text is unchanged', () => {
    assert.equal(displayText('Hotfix for INC-1190: the image signer is down', 'line'), 'Hotfix for INC-1190: the image signer is down');
    assert.equal(displayText('a\nb', 'multiline'), 'a\nb');
  });
  test('controls, bidi, separators and lone surrogates become visible markers', () => {
    assert.equal(displayText('ok\u001b[2K\rReason: SEV1 outage, CTO approved', 'line'), 'ok<U+001B>[2K<U+000D>Reason: SEV1 outage, CTO approved');
    assert.equal(displayText('abc\u202edef\u2066x\u2069', 'multiline'), 'abc<U+202E>def<U+2066>x<U+2069>');
    assert.equal(displayText('a\nb', 'line'), 'a<U+000A>b');
    assert.equal(displayText('x\ud800y\u0000', 'multiline'), 'x<U+D800>y<U+0000>');
    assert.equal(displayText('\u0007\u0085\u2028', 'multiline'), '<U+0007><U+0085><U+2028>');
  });
  test('identifiers also show invisible characters', () => {
    assert.equal(displayText('pay\u200bments', 'identifier'), 'pay<U+200B>ments');
    assert.equal(displayText('pay\u200bments', 'line'), 'pay\u200bments');
    assert.equal(displayScope({ repo: 'a\u202eb', branch: 'main' }), 'repo=a<U+202E>b,branch=main');
  });
  test('every code point the input rule refuses in a line is escaped on output', () => {
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (textIssue(ch, 'line') !== undefined) assert.notEqual(displayText(ch, 'line'), ch, `U+${cp.toString(16)}`);
      if (textIssue(ch, 'identifier') !== undefined) assert.notEqual(displayText(ch, 'identifier'), ch, `U+${cp.toString(16)} (identifier)`);
    }
  });
});
