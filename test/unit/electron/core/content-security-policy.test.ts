import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consoleContentSecurityPolicy } from '../../../../electron/core/content-security-policy';
import { APP_CSP } from '../../../../electron/main/app-protocol';
import { BROWSER_HOST_CSP } from '../../../../electron/browser-host/security';

// The exact policies each host sends; a change here is a security review, not a refactor.
const STRICT_PREFIX = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'";
const STRICT_SUFFIX = "frame-ancestors 'none'; object-src 'none'";

test('app:// pages get the strict policy with no form posts', () => {
  assert.equal(APP_CSP, `${STRICT_PREFIX}; form-action 'none'; ${STRICT_SUFFIX}`);
});

test('the browser host gets the same policy, with same-origin form posts', () => {
  assert.equal(BROWSER_HOST_CSP, `${STRICT_PREFIX}; form-action 'self'; ${STRICT_SUFFIX}`);
  assert.equal(consoleContentSecurityPolicy({ formAction: "'self'" }), BROWSER_HOST_CSP);
});
