import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SseClient, type SseEvent } from '../../../../electron/core/sse-client';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { fileRequest, waitFor } from '../../grant-store/workflow-helpers';

/** A TCP proxy in front of the store whose connections the test can cut and refuse (a flaky network). */
class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  refusing = false;
  port = 0;

  async start(targetPort: number): Promise<void> {
    this.server = createServer((client) => {
      if (this.refusing) return void client.destroy();
      const upstream = connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  cutAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

let store: StoreFixture;
let proxy: CuttableProxy;
let alice: string;
let auditor: string;

before(async () => {
  store = await startStoreFixture();
  alice = await store.token('alice', ['requester']);
  auditor = await store.token('erin', ['auditor']);
  proxy = new CuttableProxy();
  await proxy.start(Number(new URL(store.url).port));
});

after(async () => {
  await proxy.close();
  await store.close();
});

function seqs(events: SseEvent[]): number[] {
  return events.map((e) => Number(e.id));
}

function assertContiguous(values: number[], from: number, to: number): void {
  assert.deepEqual(values, Array.from({ length: to - from + 1 }, (_, i) => from + i), 'every ledger entry exactly once, in order');
}

test('the event stream survives cuts and refused reconnects: resumes with Last-Event-ID, misses nothing, repeats nothing', async () => {
  const startSize = await store.ledgerSize();
  const received: SseEvent[] = [];
  const transitions: boolean[] = [];
  const client = new SseClient({
    url: `http://127.0.0.1:${proxy.port}/v1/events`,
    headers: () => ({ authorization: `Bearer ${auditor}` }),
    onEvent: (e) => received.push(e),
    onConnectionChange: (connected) => transitions.push(connected),
    initialBackoffMs: 30,
    maxBackoffMs: 120,
  });
  client.start();
  try {
    await waitFor(async () => transitions.includes(true), 3000);
    await fileRequest(store, alice);
    await fileRequest(store, alice);
    await waitFor(async () => received.length >= 2, 3000);

    // Cut the stream and keep the network down while more happens on the store.
    proxy.refusing = true;
    proxy.cutAll();
    await waitFor(async () => transitions.at(-1) === false, 3000);
    for (let i = 0; i < 3; i++) await fileRequest(store, alice);
    await new Promise((r) => setTimeout(r, 300)); // a few refused reconnects (backoff)
    proxy.refusing = false;

    const expectedEnd = (await store.ledgerSize()) - 1;
    await waitFor(async () => Number(client.lastEventId) >= expectedEnd, 5000);
    // And live again after the resume.
    proxy.cutAll();
    await fileRequest(store, alice);
    const finalEnd = (await store.ledgerSize()) - 1;
    await waitFor(async () => Number(client.lastEventId) >= finalEnd, 5000);
    assertContiguous(seqs(received), startSize, finalEnd);
    assert.ok(transitions.filter((t) => t).length >= 3, 'reconnected after each cut');
    assert.ok(received.every((e) => e.event === 'ledger' && JSON.parse(e.data).seq === Number(e.id)));
  } finally {
    await client.stop();
  }
});

test('a new client given the last id of an old one (a console restart) gets exactly the entries it missed', async () => {
  const received: SseEvent[] = [];
  const first = new SseClient({ url: `${store.url}/v1/events`, headers: () => ({ authorization: `Bearer ${auditor}` }), onEvent: (e) => received.push(e) });
  first.start();
  await fileRequest(store, alice);
  const size1 = await store.ledgerSize();
  await waitFor(async () => Number(first.lastEventId) >= size1 - 1, 3000);
  await first.stop();
  const resumeFrom = first.lastEventId!;

  await fileRequest(store, alice);
  await fileRequest(store, alice);
  const size2 = await store.ledgerSize();
  const resumed: SseEvent[] = [];
  const second = new SseClient({ url: `${store.url}/v1/events`, headers: () => ({ authorization: `Bearer ${auditor}` }), onEvent: (e) => resumed.push(e), lastEventId: resumeFrom });
  second.start();
  try {
    await waitFor(async () => Number(second.lastEventId) >= size2 - 1, 3000);
    assertContiguous(seqs(resumed), Number(resumeFrom) + 1, size2 - 1);
  } finally {
    await second.stop();
  }
});
