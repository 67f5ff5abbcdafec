// The WAL checkpointer's worker thread (wal-checkpointer.ts): its own connection to the store's
// database, copying committed WAL frames into the database file when asked. A checkpoint reads
// and writes megabytes and fsyncs twice: here it blocks this thread, not the event loop.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CheckpointAnswer, CheckpointerStart } from './wal-checkpointer';

if (!parentPort) throw new Error('wal-checkpoint-worker runs as a worker thread');
const port = parentPort;
const { path, busyTimeoutMs } = workerData as CheckpointerStart;
const db = new Database(path, { fileMustExist: true });
db.pragma(`busy_timeout = ${busyTimeoutMs}`);
port.on('message', (message: 'checkpoint' | 'close') => {
  if (message === 'close') {
    db.close();
    port.close();
    return;
  }
  try {
    // PASSIVE: copies what no reader still needs and never waits for (or blocks) the writer.
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    port.postMessage({ ok: true, walFrames: row?.log ?? 0, checkpointed: row?.checkpointed ?? 0 } satisfies CheckpointAnswer);
  } catch (error) {
    port.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) } satisfies CheckpointAnswer);
  }
});
port.postMessage('ready');
