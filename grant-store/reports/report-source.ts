import type { Policy } from '../../shared/domain/policy';
import type { StoreReader } from '../storage/store';
import type { ReportInput } from './report-input';

/** Ledger entries read per page when collecting evaluations under bypass. */
const LEDGER_PAGE = 2000;

/**
 * Read a ReportInput from the store. Evaluations under bypass come from a scan of the ledger
 * (the Store has no index by entry type): linear in the ledger's size, fine for one store's
 * history, and skipped (`withEvaluations: false`) where a caller does not need them.
 */
export async function loadReportInput(store: StoreReader, policy: Policy, now: Date, opts: { withEvaluations?: boolean } = {}): Promise<ReportInput> {
  const [requests, reviews, blocks] = await Promise.all([store.listRequests({}), store.listReviews(), store.gateBlockCounts()]);
  const evaluations: { gate: string; time: string }[] = [];
  if (opts.withEvaluations !== false) {
    const size = await store.ledgerSize();
    for (let from = 0; from < size; from += LEDGER_PAGE) {
      for (const entry of await store.getLedgerEntries(from, LEDGER_PAGE)) {
        if (entry.type === 'evaluation_under_bypass' && entry.gate) evaluations.push({ gate: entry.gate, time: entry.time });
      }
    }
  }
  const blocksByGate: Record<string, number> = {};
  for (const b of blocks) blocksByGate[b.gate] = b.count;
  return { now, policy, requests, reviews, evaluations, blocksByGate };
}
