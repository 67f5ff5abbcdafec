import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RequestInputSchema } from '../../../../shared/domain/request';
import { AppError } from '../../../../shared/errors';
import { exitCodeForError } from '../../../../grant-store/cli/exit-codes';
import { formatError, formatTable, shellQuote } from '../../../../grant-store/cli/output';
import { parseDurationFlag, parseScopeFlag, validateFlags, withFlagNames } from '../../../../grant-store/cli/validate';

function invalid(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    assert.equal(error.code, 'invalid_input');
    return error;
  }
  assert.fail('expected invalid_input');
}

describe('CLI flag parsing', () => {
  test('scope flags: comma lists, repeated flags merged, checked with ScopeSchema', () => {
    assert.deepEqual(parseScopeFlag('repo=payments-api,branch=main', '--scope'), { repo: 'payments-api', branch: 'main' });
    assert.deepEqual(parseScopeFlag(['repo=a', 'digest=sha256:abc'], '--scope'), { repo: 'a', digest: 'sha256:abc' });
    assert.match(invalid(() => parseScopeFlag('digest=a=b', '--scope')).message, /--scope digest: scope values cannot contain/);
    assert.match(invalid(() => parseScopeFlag('repo', '--scope')).message, /--scope: "repo" is not key=value/);
    assert.match(invalid(() => parseScopeFlag('repo=a,repo=b', '--scope')).message, /--scope repo: given twice/);
    assert.deepEqual(invalid(() => parseScopeFlag('Repo=a', '--subject')).fieldErrors?.map((f) => f.path), ['--subject Repo']);
    assert.match(invalid(() => parseScopeFlag([], '--scope')).message, /at least one attribute/);
  });

  test('schema field paths are reported as the flags the user typed', () => {
    const error = invalid(() =>
      validateFlags(RequestInputSchema, { gate: 'Bad Gate', scope: { repo: 'x' }, reason: 'short', severity: 'sev3', ttl: '1h', incidentRef: undefined }, 'request', {
        gate: '--gate',
        reason: '--reason',
        incidentRef: '--incident',
      }),
    );
    assert.deepEqual(error.fieldErrors?.map((f) => f.path).sort(), ['--gate', '--reason']);
    assert.match(error.message, /^invalid request: /);
  });

  test("the store's field paths are rewritten too, other errors pass through", () => {
    const fromStore = new AppError('invalid_input', 'invalid request: ttl: 4h is above the tier max 1h', { fieldErrors: [{ path: 'ttl', message: '4h is above the tier max 1h' }] });
    const rewritten = withFlagNames(fromStore, { ttl: '--ttl' }) as AppError;
    assert.equal(rewritten.message, 'invalid request: --ttl: 4h is above the tier max 1h');
    const other = new AppError('forbidden', 'nope');
    assert.equal(withFlagNames(other, { ttl: '--ttl' }), other);
  });

  test('durations', () => {
    assert.equal(parseDurationFlag('3s', '--timeout'), 3000);
    assert.equal(parseDurationFlag('500ms', '--timeout'), 500);
    assert.equal(parseDurationFlag('2', '--timeout'), 2000);
    assert.equal(parseDurationFlag('1m', '--timeout'), 60_000);
    for (const bad of ['0', '-1s', '3h', 'soon', '']) invalid(() => parseDurationFlag(bad, '--timeout'));
  });
});

describe('CLI output', () => {
  test('exit codes: invalid input is usage (2), refusals are 1', () => {
    assert.equal(exitCodeForError('invalid_input'), 2);
    assert.equal(exitCodeForError('payload_too_large'), 2);
    for (const code of ['unauthenticated', 'forbidden', 'not_found', 'illegal_transition', 'conflict', 'store_unreachable', 'verification_failed', 'internal'] as const) {
      assert.equal(exitCodeForError(code), 1, code);
    }
  });

  test('tables align columns and say so when empty', () => {
    assert.equal(formatTable(['ID', 'STATE'], [['req_1', 'pending'], ['req_22', 'active']]), 'ID      STATE\nreq_1   pending\nreq_22  active\n');
    assert.equal(formatTable(['ID'], [], 'no requests'), 'no requests\n');
  });

  test('errors: message once, extra field lines, current state and a hint', () => {
    const text = formatError(new AppError('illegal_transition', 'cannot approve a request in needs_info', { currentState: 'needs_info' }));
    assert.equal(text, 'error: cannot approve a request in needs_info\n  current state: needs_info\n');
    assert.match(formatError(new AppError('unauthenticated', 'unknown token')), /hint: pass a valid token/);
    const fields = formatError(new AppError('invalid_input', 'invalid policy', { fieldErrors: [{ path: 'tiers.low.approvals', message: 'must be 1 or 2' }] }));
    assert.match(fields, /\n {2}tiers\.low\.approvals: must be 1 or 2\n/);
  });

  test('shell quoting for copy-pasteable commands', () => {
    assert.equal(shellQuote('repo=payments-api,branch=main'), 'repo=payments-api,branch=main');
    assert.equal(shellQuote("it's broken"), `'it'\\''s broken'`);
  });
});
