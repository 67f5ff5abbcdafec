import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { CoalescingTrigger } from '../../../../../electron/core/inbox/coalescing-trigger';
import { INBOX_REFRESH_MAX_DELAY_MS } from '../../../../../electron/core/compose-console';
import { ManualClock } from '../../../../support/manual-clock';

const silent = pino({ level: 'silent' });

/** A trigger whose task records when it ran and finishes when the test says so. */
function harness(delayMs = INBOX_REFRESH_MAX_DELAY_MS) {
  const clock = new ManualClock();
  const start = clock.now().getTime();
  const runs: number[] = [];
  let finish: (() => void) | undefined;
  const trigger = new CoalescingTrigger({
    clock,
    delayMs,
    logger: silent,
    name: 'test',
    task: () =>
      new Promise<void>((resolve) => {
        runs.push(clock.now().getTime() - start);
        finish = resolve;
      }),
  });
  const finishRun = async () => {
    finish?.();
    finish = undefined;
    // Let the task's promise chain settle (microtasks only; no real time passes).
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { clock, trigger, runs, finishRun };
}

describe('CoalescingTrigger (the inbox refresh under a stream of store events)', () => {
  test('a steady stream of events (20/s) cannot postpone the refresh: it runs a fixed interval after the first, and again after each', async () => {
    const { clock, trigger, runs, finishRun } = harness();
    // Events every 50 ms for 3 s; each refresh takes 50 ms.
    for (let t = 0; t < 3_000; t += 50) {
      trigger.request();
      const before = runs.length;
      clock.advance(50);
      if (runs.length === before) await finishRun();
    }
    // Under a debounce restarted by every event, nothing would have run at all.
    assert.equal(runs[0], INBOX_REFRESH_MAX_DELAY_MS);
    const gaps = runs.slice(1).map((at, i) => at - runs[i]!);
    assert.ok(runs.length >= 3_000 / (INBOX_REFRESH_MAX_DELAY_MS + 100), `${runs.length} refreshes in 3 s`);
    assert.ok(gaps.every((gap) => gap <= INBOX_REFRESH_MAX_DELAY_MS + 100), `gaps ${gaps.join(', ')} ms`);
    await finishRun();
    await trigger.stop();
  });

  test('requests while a run is under way give exactly one more run, never two at once', async () => {
    const { clock, trigger, runs, finishRun } = harness(100);
    trigger.request();
    clock.advance(100);
    assert.deepEqual(runs, [100]);
    for (let i = 0; i < 10; i++) trigger.request();
    clock.advance(1_000);
    assert.deepEqual(runs, [100], 'nothing starts while the first run is under way');
    await finishRun();
    clock.advance(100);
    assert.equal(runs.length, 2);
    await finishRun();
    clock.advance(1_000);
    assert.equal(runs.length, 2, 'no third run without a new request');
    assert.equal(trigger.busy, false);
  });

  test('stop() cancels a waiting run and waits for the one under way', async () => {
    const { clock, trigger, runs, finishRun } = harness(100);
    trigger.request();
    const stopped = trigger.stop();
    clock.advance(1_000);
    await stopped;
    assert.deepEqual(runs, []);
    trigger.request();
    clock.advance(1_000);
    assert.deepEqual(runs, [], 'a stopped trigger stays stopped until restart()');
    trigger.restart();
    trigger.request();
    clock.advance(100);
    assert.equal(runs.length, 1);
    const idle = trigger.idle();
    await finishRun();
    await idle;
  });

  test('a failing run is logged once and does not stop later runs', async () => {
    const clock = new ManualClock();
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    let calls = 0;
    const trigger = new CoalescingTrigger({ clock, delayMs: 10, logger, name: 'flaky', task: async () => {
        if (calls++ === 0) throw new Error('store hiccup');
      },
    });
    trigger.request();
    clock.advance(10);
    await trigger.idle();
    trigger.request();
    clock.advance(10);
    await trigger.idle();
    assert.equal(calls, 2);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /store hiccup/);
    assert.match(lines[0]!, /"task":"flaky"/);
  });
});
