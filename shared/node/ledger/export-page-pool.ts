import { availableParallelism } from 'node:os';
import { AppError, fieldErrorsFromZod } from '../../errors';
import { LedgerExportPageSchema, type LedgerExportPage } from '../../http/ledger-routes';
import { checkExportPage, type CheckedPage as AnyCheckedPage } from '../../ledger/export-page-check';

/** An export page checked (export-page-check.ts), with the page's own fields. */
export type CheckedPage = AnyCheckedPage<Omit<LedgerExportPage, 'entries' | 'leafHashes'>>;
import { utf8Text } from '../utf8-text';
import { workerCalls } from '../worker-calls';
import { nodeTreeHasher } from './node-crypto';
import { EXPORT_PAGE_WORKER_URL } from './export-page-worker-url';

/**
 * The ledger verifier's page checks in worker threads: each export page travels as the raw bytes
 * the store sent (transferred, not copied) and is parsed, checked against the route's schema and
 * checked entry by entry there (checkExportPage: leaf hash, JSON, canonical form, entry schema,
 * seq), so the thread that runs the one sequential part (the tree, the keys, the audit) never
 * parses a page. Results come back as packed byte arrays plus the entries cut to what the
 * verifier reads (auditView). One worker per core; pages are checked in any order and the caller
 * consumes them in order.
 */

export interface PageCheckRequest {
  id: number;
  body: ArrayBuffer;
}

export type PageCheckResult = { id: number; ok: true; page: CheckedPage } | { id: number; ok: false; message: string };

export interface ExportPageChecker {
  /** Parse and check one page (the body of GET /v1/ledger/export); the buffer is handed over. */
  check(body: ArrayBuffer): Promise<CheckedPage>;
  close(): Promise<void>;
}

const ROUTE = 'GET /v1/ledger/export';

/** What a worker does with a page's bytes; also the in-thread checker's whole job. */
export function checkExportPageBytes(body: ArrayBuffer): CheckedPage {
  return checkExportPage(parseExportPageBytes(body), nodeTreeHasher, base64Leaf);
}

/**
 * One page as the store sent it (GET /v1/ledger/export), parsed and checked against the route's
 * schema; its entries are then checked one by one where it is verified.
 */
export function parseExportPageBytes(body: ArrayBuffer): LedgerExportPage {
  const text = utf8Text(Buffer.from(body));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('internal', `the store answered ${ROUTE} with something that is not JSON`);
  }
  const parsed = LedgerExportPageSchema.safeParse(json);
  if (!parsed.success) {
    throw new AppError('internal', `the grant store's answer to ${ROUTE} does not match the API (ledgerExport): ${fieldErrorsFromZod(parsed.error).map((f) => `${f.path || '(root)'}: ${f.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** The store's base64 leaf hashes (the page schema already checked the alphabet), decoded natively. */
function base64Leaf(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The leaf the log says it recorded for the page's i-th entry: undefined when none was served or it is not 32 bytes. */
export function recordedLeafAt(page: Pick<LedgerExportPage, 'leafHashes'>, i: number): Uint8Array | undefined {
  const b64 = page.leafHashes[i];
  if (b64 === undefined) return undefined;
  const leaf = base64Leaf(b64);
  return leaf.length === 32 ? leaf : undefined;
}

export function exportPageWorkers(threads = availableParallelism()): ExportPageChecker {
  // A worker that dies fails the pages it held: the run fails, it never passes them.
  const calls = workerCalls<CheckedPage, PageCheckResult>('a ledger page check', (result) => {
    if (result.ok) return result.page;
    throw new AppError('internal', result.message);
  });
  const workers = Array.from({ length: Math.max(1, threads) }, () => calls.spawn(EXPORT_PAGE_WORKER_URL));
  return {
    check(body) {
      if (calls.closed) return Promise.reject(new Error('the ledger page checker is closed'));
      return calls.call(calls.leastLoaded(workers), (id) => ({ id, body }) satisfies PageCheckRequest, [body]);
    },
    close: () => calls.close(workers, 'the ledger page checker was closed'),
  };
}
