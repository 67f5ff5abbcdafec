import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseClient, type SseEvent } from '../../../../electron/core/sse-client';

test('backoff grows exponentially with jitter, is never zero and is capped', () => {
  const low = new SseClient({ url: 'http://127.0.0.1:1/', headers: () => ({}), onEvent: () => undefined, initialBackoffMs: 100, maxBackoffMs: 1600, random: () => 0 });
  const high = new SseClient({ url: 'http://127.0.0.1:1/', headers: () => ({}), onEvent: () => undefined, initialBackoffMs: 100, maxBackoffMs: 1600, random: () => 0.999999 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map((n) => low.backoffDelay(n)), [50, 100, 200, 400, 800, 800, 800]);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map((n) => high.backoffDelay(n)), [100, 200, 400, 800, 1600, 1600, 1600]);
});

test('parses SSE framing (multi-line data, comments, CRLF, split chunks) and resumes with Last-Event-ID without repeating or missing events', async () => {
  const seenLastEventIds: Array<string | undefined> = [];
  let connection = 0;
  const server = createServer((req, res: ServerResponse) => {
    connection++;
    seenLastEventIds.push(req.headers['last-event-id'] as string | undefined);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (connection === 1) {
      res.write(': hello\n\n');
      res.write('id: 1\nevent: ledger\ndata: {"seq":1}\n\n');
      // An event split across chunks, with CRLF line ends and two data lines.
      res.write('id: 2\r\nevent: ledger\r\ndata: {"seq":');
      setTimeout(() => {
        res.write('2,\r\ndata: "x":1}\r\n\r\n');
        res.write('id: 3\nevent: ledger\ndata: {"seq":3}\n\n');
        res.end(); // the server drops the stream
      }, 20);
    } else if (connection === 2) {
      // Fails once: the client must back off and retry.
      res.destroy();
    } else {
      // The server replays around the resume point: 2 and 3 again, then new ones.
      for (const seq of [2, 3, 4, 5]) res.write(`id: ${seq}\nevent: ledger\ndata: {"seq":${seq}}\n\n`);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const received: SseEvent[] = [];
  const states: boolean[] = [];
  const client = new SseClient({
    url: `http://127.0.0.1:${port}/v1/events`,
    headers: () => ({ authorization: 'Bearer t' }),
    onEvent: (e) => received.push(e),
    onConnectionChange: (connected) => states.push(connected),
    initialBackoffMs: 20,
    maxBackoffMs: 40,
  });
  client.start();
  const deadline = Date.now() + 5000;
  while (received.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await client.stop();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  assert.deepEqual(received.map((e) => e.id), ['1', '2', '3', '4', '5'], 'every event exactly once, in order');
  assert.equal(received[1]!.data, '{"seq":2,\n"x":1}');
  assert.equal(received[0]!.event, 'ledger');
  assert.equal(seenLastEventIds[0], undefined);
  assert.equal(seenLastEventIds.at(-1), '3', 'resumed from the last id handled');
  assert.ok(states.includes(false) && states.at(-1) === true, 'reported the drop and the reconnection');
  assert.equal(client.lastEventId, '5');
});
