import assert from 'node:assert/strict';
import type { StoreFixture } from '../../support/grant-store-fixture';

/** A request body with sensible defaults for the example policy. */
export function requestBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    gate: 'ci-tests',
    scope: { repo: 'payments-api', branch: 'main' },
    reason: 'integration suite is down and a hotfix for INC-1190 must ship',
    severity: 'sev3',
    ttl: '1h',
    ...overrides,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function fileRequest(f: StoreFixture, token: string, overrides: Record<string, unknown> = {}): Promise<any> {
  const r = await f.call('POST', '/v1/requests', { token, body: requestBody(overrides) });
  assert.equal(r.status, 201, r.text);
  return r.json.request;
}

/** Poll until `fn` returns a truthy value or `timeoutMs` passes; returns the value and elapsed ms. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 3000, stepMs = 20): Promise<{ value: T; elapsedMs: number }> {
  const start = Date.now();
  for (;;) {
    const value = await fn();
    if (value) return { value, elapsedMs: Date.now() - start };
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
