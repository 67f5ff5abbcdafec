import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_RETRY_POLICY } from '../../../grant-store/alerts/outbox';
import { main } from '../../../grant-store/cli/main';
import { composeGrantStore } from '../../../grant-store/compose-grant-store';
import { grantStoreConfig } from '../../../grant-store/http/server';
import { createStoreLogger } from '../../../grant-store/logger';
import { secretLookup, storeEnv, type GrantStoreConfig } from '../../../grant-store/store-config';
import { AppError } from '../../../shared/errors';

const OPTIONS = { dataDir: '/nonexistent/bg-store-config', logger: createStoreLogger({ level: 'silent' }) };

/** Every value reachable from `value` (own enumerable properties, objects once). */
function reachable(value: unknown, seen = new Set<unknown>()): unknown[] {
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  return [value, ...Object.values(value).flatMap((v) => [v, ...reachable(v, seen)])];
}

describe("the grant store's config: one validated object, secrets through one lookup", () => {
  test('grantStoreConfig hands no environment down: a secret lookup, nothing that is or holds env', () => {
    const env = { BG_HOOK_SECRET: 's3cret', BREAKGLASS_TOKEN: 'bgt_x', PATH: '/bin' };
    const config = grantStoreConfig(OPTIONS, env);
    assert.equal('env' in config, false);
    // The logger is pino's own object graph: what matters is that no part of ours is the environment.
    const ours = reachable({ ...config, logger: undefined });
    assert.ok(!ours.includes(env), 'the env object is reachable from the config');
    assert.equal(config.secrets('BG_HOOK_SECRET'), 's3cret');
    assert.deepEqual(config.alertRetry, DEFAULT_RETRY_POLICY);
  });

  test('the lookup answers secret names only, and an empty variable is unset', () => {
    const lookup = secretLookup({ BG_SMTP_PASSWORD: 'pw', EMPTY: '', lower_case: 'x', 'A-B': 'y' });
    assert.equal(lookup('BG_SMTP_PASSWORD'), 'pw');
    assert.equal(lookup('EMPTY'), undefined);
    assert.equal(lookup('UNSET'), undefined);
    assert.equal(lookup('lower_case'), undefined);
    assert.equal(lookup('A-B'), undefined);
    assert.equal(lookup('__proto__'), undefined);
  });

  test('alert retry tuning: unset or empty keeps the defaults; whole numbers in range are taken', () => {
    assert.deepEqual(storeEnv({}).alertRetry, DEFAULT_RETRY_POLICY);
    assert.deepEqual(storeEnv({ BREAKGLASS_ALERT_MAX_ATTEMPTS: '' }).alertRetry, DEFAULT_RETRY_POLICY);
    assert.deepEqual(storeEnv({ BREAKGLASS_ALERT_RETRY_BASE_MS: '30', BREAKGLASS_ALERT_RETRY_MAX_MS: '200', BREAKGLASS_ALERT_MAX_ATTEMPTS: '3' }).alertRetry, { baseDelayMs: 30, maxDelayMs: 200, maxAttempts: 3 });
    assert.equal(storeEnv({ NODE_ENV: 'production' }).production, true);
    assert.equal(storeEnv({}).production, false);
  });

  for (const [name, text] of [
    ['BREAKGLASS_ALERT_MAX_ATTEMPTS', 'three'],
    ['BREAKGLASS_ALERT_MAX_ATTEMPTS', '0'],
    ['BREAKGLASS_ALERT_MAX_ATTEMPTS', '-2'],
    ['BREAKGLASS_ALERT_MAX_ATTEMPTS', '101'],
    ['BREAKGLASS_ALERT_RETRY_BASE_MS', '5s'],
    ['BREAKGLASS_ALERT_RETRY_BASE_MS', '2.5'],
    ['BREAKGLASS_ALERT_RETRY_MAX_MS', '1e3'],
    ['BREAKGLASS_ENTRY_BINDINGS', 'v3'],
    ['BREAKGLASS_ENTRY_BINDINGS', 'ed25519'],
  ] as const) {
    test(`${name}=${JSON.stringify(text)} refuses the start, naming the variable and the value`, () => {
      assert.throws(
        () => grantStoreConfig(OPTIONS, { [name]: text }),
        (error: unknown) =>
          error instanceof AppError && error.code === 'invalid_input' && error.message.includes(name) && error.message.includes(JSON.stringify(text)) && error.fieldErrors?.[0]?.path === name,
      );
    });
  }

  test('entry bindings: v2 unless BREAKGLASS_ENTRY_BINDINGS says v1 (a rolling upgrade); empty is unset', () => {
    assert.equal(grantStoreConfig(OPTIONS, {}).entryBindings, 'v2');
    assert.equal(grantStoreConfig(OPTIONS, { BREAKGLASS_ENTRY_BINDINGS: '' }).entryBindings, 'v2');
    assert.equal(grantStoreConfig(OPTIONS, { BREAKGLASS_ENTRY_BINDINGS: 'v1' }).entryBindings, 'v1');
    assert.equal(grantStoreConfig(OPTIONS, { BREAKGLASS_ENTRY_BINDINGS: ' v2 ' }).entryBindings, 'v2');
  });

  test('a first delay longer than the cap is refused', () => {
    assert.throws(() => storeEnv({ BREAKGLASS_ALERT_RETRY_BASE_MS: '900000' }), /BREAKGLASS_ALERT_RETRY_BASE_MS: the first retry delay \(900000 ms\) is longer than the cap/);
  });

  test('`breakglass serve` with a bad variable exits 2 naming it, before opening anything', async () => {
    let stderr = '';
    const code = await main(['serve', '--port', '0', '--data-dir', '/nonexistent/bg-store-config'], { stdout: () => undefined, stderr: (t) => (stderr += t) }, { BREAKGLASS_ALERT_MAX_ATTEMPTS: 'lots' });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /BREAKGLASS_ALERT_MAX_ATTEMPTS: expected a whole number from 1 to 100, got "lots"/);
  });

  test('composeGrantStore refuses a config that is not valid, naming the field, before building anything', async () => {
    const good = grantStoreConfig(OPTIONS, {});
    const cases: [string, Partial<Record<keyof GrantStoreConfig, unknown>> & Record<string, unknown>][] = [
      ['sweepIntervalMs', { sweepIntervalMs: 0 }],
      ['databaseUrl', { databaseUrl: 'mysql://db' }],
      ['secrets', { secrets: { BG_HOOK_SECRET: 'x' } }],
      ['alertRetry.maxAttempts', { alertRetry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 1.5 } }],
      ['env', { env: process.env }],
    ];
    for (const [path, change] of cases) {
      await assert.rejects(
        composeGrantStore({ ...good, ...change } as GrantStoreConfig),
        (error: unknown) => error instanceof AppError && error.code === 'invalid_input' && (error.fieldErrors ?? []).some((f) => f.path === path),
        path,
      );
    }
  });
});
