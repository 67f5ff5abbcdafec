// A worker thread of the ledger verifier's page pool (export-page-pool.ts): parses one export
// page from its raw bytes, checks it against the route's schema and checks every entry
// (checkExportPage), and hands back the packed result.
import { parentPort } from 'node:worker_threads';
import { checkExportPageBytes, type PageCheckRequest, type PageCheckResult } from './export-page-pool';

if (!parentPort) throw new Error('export-page-worker runs as a worker thread');
const port = parentPort;
port.on('message', (task: PageCheckRequest) => {
  let result: PageCheckResult;
  try {
    const page = checkExportPageBytes(task.body);
    result = { id: task.id, ok: true, page };
    port.postMessage(result, [page.leaves.buffer as ArrayBuffer, page.recorded.buffer as ArrayBuffer, page.recordedPresent.buffer as ArrayBuffer]);
  } catch (error) {
    result = { id: task.id, ok: false, message: error instanceof Error ? error.message : String(error) };
    port.postMessage(result);
  }
});
