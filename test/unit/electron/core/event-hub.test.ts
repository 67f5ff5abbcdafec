import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventHub } from '../../../../electron/core/event-hub';

describe('EventHub', () => {
  test('a listener that throws does not starve the others, and its failure is logged at debug saying why', () => {
    const debug: { obj: unknown; msg: string }[] = [];
    const hub = new EventHub({ debug: (obj: unknown, msg: string) => debug.push({ obj, msg }) } as never);
    const got: string[] = [];
    hub.subscribe(() => {
      throw new Error('window closed');
    });
    hub.subscribe((event) => got.push(event));
    hub.emit('console:event:inbox-changed' as never, {} as never);
    assert.deepEqual(got, ['console:event:inbox-changed']);
    assert.equal(debug.length, 1);
    assert.match(debug[0]!.msg, /listener failed \(the other listeners still get the event\)/);
    assert.equal(((debug[0]!.obj as { err: Error }).err).message, 'window closed');
  });
});
