import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { MAIN_METHODS, RENDERER_EVENTS, mainContract } from '../../../../shared/ipc/contract';

register('./electron-loader-hooks.mjs', import.meta.url);

test('the preload exposes exactly one method per contract channel plus on(), under window.breakglass, and nothing else', async () => {
  const fake = await import('./fake-electron-module');
  await import('../../../../electron/preload/preload');
  assert.equal(fake.exposed.length, 1, 'exposeInMainWorld is called exactly once');
  const { key, api } = fake.exposed[0]!;
  assert.equal(key, 'breakglass');
  const surface = api as Record<string, (...args: unknown[]) => unknown>;
  assert.deepEqual(Object.keys(surface).sort(), [...Object.keys(MAIN_METHODS), 'on'].sort());
  assert.ok(Object.isFrozen(surface), 'the bridge object is frozen');
  assert.deepEqual(new Set(Object.values(MAIN_METHODS)), new Set(Object.keys(mainContract)), 'every contract channel has a method');

  for (const [method, channel] of Object.entries(MAIN_METHODS)) {
    fake.invocations.length = 0;
    const input = { probe: method };
    const result = await surface[method]!(input);
    assert.deepEqual(fake.invocations, [{ channel, args: [input] }], `${method} invokes ${channel} with the input as given`);
    assert.deepEqual(result, { ok: true, value: { channel } });
  }
  fake.invocations.length = 0;
  await surface.getSession!();
  assert.deepEqual(fake.invocations[0]!.args, [{}], 'a method called without input sends {}');
});

test('on() subscribes only to contract events, passes only the payload, and unsubscribes', async () => {
  const fake = await import('./fake-electron-module');
  await import('../../../../electron/preload/preload');
  const api = fake.exposed[0]!.api as { on: (event: string, cb: (payload: unknown) => void) => () => void };
  assert.throws(() => api.on('console:main:approve', () => undefined), /unknown console event/);
  assert.throws(() => api.on('anything', () => undefined), /unknown console event/);
  for (const event of RENDERER_EVENTS) {
    const received: unknown[] = [];
    const off = api.on(event, (payload) => received.push(payload));
    const listeners = fake.rendererListeners.get(event)!;
    assert.equal(listeners.length, 1);
    listeners[0]!({ sender: 'the IpcRendererEvent must not leak' }, { count: 3 });
    assert.deepEqual(received, [{ count: 3 }]);
    off();
    assert.equal(fake.rendererListeners.get(event)!.length, 0);
  }
});
