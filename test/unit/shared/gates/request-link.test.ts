import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_REQUEST_LINK_LENGTH, parseRequestLink, requestLink } from '../../../../shared/gates/request-link';
import { parseScopeText } from '../../../../shared/gates/scope-text';

describe('the request link (docs/integrations.md "The request link")', () => {
  test('round trip: gate, scope, rule and CI context, with a store path prefix kept', () => {
    const link = requestLink('https://bg.example.com/breakglass/', {
      gate: 'container-signing',
      scope: { repo: 'acme/payments-api', image: 'ghcr.io/acme/api@sha256:abc' },
      rule: 'cosign verify & sbom',
      context: { run: 'https://github.com/acme/payments-api/actions/runs/1?x=1&y=2', commit: 'abc' },
    });
    assert.equal(
      link,
      'https://bg.example.com/breakglass/request?gate=container-signing&scope=repo%3Dacme%2Fpayments-api%2Cimage%3Dghcr.io%2Facme%2Fapi%40sha256%3Aabc&rule=cosign%20verify%20%26%20sbom&ctx.run=https%3A%2F%2Fgithub.com%2Facme%2Fpayments-api%2Factions%2Fruns%2F1%3Fx%3D1%26y%3D2&ctx.commit=abc',
    );
    const parsed = parseRequestLink(new URL(link).search);
    assert.deepEqual(parsed, {
      gate: 'container-signing',
      scope: { repo: 'acme/payments-api', image: 'ghcr.io/acme/api@sha256:abc' },
      rule: 'cosign verify & sbom',
      context: { run: 'https://github.com/acme/payments-api/actions/runs/1?x=1&y=2', commit: 'abc' },
    });
  });

  test('no credential ever rides in a link; context is dropped before the link grows past the limit', () => {
    const link = requestLink('http://127.0.0.1:7410', {
      gate: 'ci-tests',
      scope: { repo: 'a' },
      context: { CI_JOB_TOKEN: 'glcbt-secret', session_id: 's', api_password: 'p', big: 'é'.repeat(200), run: 'r'.repeat(500), more: 'y'.repeat(512), last: 'kept' },
    });
    for (const secret of ['glcbt-secret', 'TOKEN', 'session', 'password']) assert.ok(!link.includes(secret), secret);
    assert.ok(link.length <= MAX_REQUEST_LINK_LENGTH, String(link.length));
    const { context } = parseRequestLink(link.slice(link.indexOf('?')));
    assert.deepEqual(Object.keys(context), ['big', 'run', 'last']);
    assert.deepEqual(parseRequestLink('?gate=g&scope=a%3Db&ctx.deploy_token=x').context, {}, 'the parser drops them too');
  });

  test('an invalid link is refused field by field', () => {
    assert.throws(() => parseRequestLink('?gate=Not%20A%20Gate&scope=repo%3D'), (error: { issues: { path: string[] }[] }) => {
      assert.deepEqual([...new Set(error.issues.map((i) => i.path.join('.')))].sort(), ['gate', 'scope.repo']);
      return true;
    });
  });

  test('scope text: commas or new lines, errors naming the attribute, empty only when allowed', () => {
    assert.deepEqual(parseScopeText('repo=a, branch=main\nimage=x'), { scope: { repo: 'a', branch: 'main', image: 'x' } });
    assert.deepEqual(parseScopeText('', 'subject', { allowEmpty: true }), { scope: {} });
    assert.ok('errors' in parseScopeText(''));
    assert.deepEqual(parseScopeText('repo=a,repo=b,image', 'subject'), {
      errors: [
        { path: 'subject repo', message: 'given twice' },
        { path: 'subject', message: '"image" is not key=value (e.g. repo=payments-api,branch=main)' },
      ],
    });
  });
});
