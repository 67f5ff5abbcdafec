import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SETTINGS,
  MAIN_CHANNELS,
  MAIN_METHODS,
  RENDERER_EVENTS,
  SettingsSchema,
  mainContract,
  rendererEvents,
  unwrapIpcResult,
  type BreakglassApi,
} from '../../../../shared/ipc/contract';
import { RENDERER_EVENT_NAMES } from '../../../../shared/ipc/channels';
import { AppError } from '../../../../shared/errors';

test('channel names carry their recipient and every channel has exactly one preload method', () => {
  for (const channel of MAIN_CHANNELS) assert.match(channel, /^console:main:[a-z-]+$/);
  for (const event of RENDERER_EVENTS) assert.match(event, /^console:renderer:[a-z-]+$/);
  assert.deepEqual([...Object.values(MAIN_METHODS)].sort(), [...MAIN_CHANNELS].sort());
  assert.equal(new Set(Object.values(MAIN_METHODS)).size, MAIN_CHANNELS.length);
  assert.deepEqual([...RENDERER_EVENT_NAMES].sort(), Object.keys(rendererEvents).sort());
});

test('inputs are strict: unknown fields are refused everywhere', () => {
  for (const [channel, spec] of Object.entries(mainContract)) {
    const result = spec.input.safeParse({ unexpectedField: 1 });
    assert.equal(result.success, false, `${channel} refuses unknown fields`);
  }
});

test('the token crosses the contract only into setup, never out of it', () => {
  const outputs = Object.entries(mainContract).map(([channel, spec]) => [channel, JSON.stringify(spec.output.toJSONSchema())] as const);
  for (const [channel, schema] of outputs) assert.doesNotMatch(schema, /"(token|pin|privateKey\w*)"/i, `${channel} output has no token/pin/private key field`);
});

test('defaults are valid and unwrapIpcResult throws the AppError of a failure', () => {
  assert.deepEqual(SettingsSchema.parse(DEFAULT_SETTINGS), DEFAULT_SETTINGS);
  assert.equal(unwrapIpcResult({ ok: true, value: 42 }), 42);
  assert.throws(() => unwrapIpcResult({ ok: false, error: { code: 'forbidden', message: 'you filed this request: no self-approval' } }), (e: unknown) => e instanceof AppError && e.code === 'forbidden');
});

test('BreakglassApi: no-input channels may be called without arguments, others require their input (compile-time)', () => {
  const typed = async (api: BreakglassApi) => {
    await api.getSession();
    await api.listInbox();
    await api.approve({ id: 'req_0123456789abcdef', digest: `sha256:${'0'.repeat(64)}`, ttl: '1h' });
    // @ts-expect-error approve needs its input
    await api.approve();
    // @ts-expect-error unknown method
    await api.runShell();
    const off = api.on('console:renderer:open-request', (payload) => payload.id.startsWith('req_'));
    off();
  };
  assert.equal(typeof typed, 'function');
});
