import { useQueries } from '@tanstack/react-query';
import type { ChannelInput, ChannelOutput } from '../../../shared/ipc/contract';
import type { AppError } from '../../../shared/errors';
import { useBridge } from '../../bridge/bridge-context';
import { channelKey } from '../../bridge/queries';
import { toAppError } from '../../bridge/console-bridge';
import type { LedgerFilters } from '../../app/ui-store';

/** Rows fetched per call: a screenful many times over, far below the contract's 1,000 cap. */
export const LEDGER_PAGE_SIZE = 200;

type Page = ChannelOutput<'console:main:query-ledger'>;
export type LedgerRow = Page['entries'][number];

function queryInput(filters: LedgerFilters, page: number): ChannelInput<'console:main:query-ledger'> {
  const input: ChannelInput<'console:main:query-ledger'> = { offset: page * LEDGER_PAGE_SIZE, limit: LEDGER_PAGE_SIZE };
  if (filters.search.trim()) input.search = filters.search.trim();
  if (filters.gate.trim()) input.gate = filters.gate.trim();
  if (filters.team.trim()) input.team = filters.team.trim();
  if (filters.actor.trim()) input.actor = filters.actor.trim();
  if (filters.type) input.type = filters.type;
  return input;
}

/**
 * Fetches only the pages the virtualized list is showing (page 0 always, for the total), so a
 * 100,000-entry ledger costs a few hundred rows of memory and DOM, not 100,000.
 */
export function useLedgerPages(filters: LedgerFilters, visiblePages: number[]) {
  const bridge = useBridge();
  const pages = [...new Set([0, ...visiblePages])].sort((a, b) => a - b);
  const results = useQueries({
    queries: pages.map((page) => {
      const input = queryInput(filters, page);
      return {
        queryKey: channelKey('console:main:query-ledger', input),
        queryFn: async (): Promise<Page> => {
          try {
            return await bridge.call('console:main:query-ledger', input);
          } catch (error) {
            throw toAppError(error);
          }
        },
        staleTime: 10_000,
      };
    }),
  });
  const byPage = new Map<number, Page>();
  results.forEach((r, i) => r.data && byPage.set(pages[i]!, r.data));
  const first = byPage.get(0);
  const rowAt = (index: number): LedgerRow | undefined => byPage.get(Math.floor(index / LEDGER_PAGE_SIZE))?.entries[index % LEDGER_PAGE_SIZE];
  const error = (results.find((r) => r.error)?.error ?? null) as AppError | null;
  return { first, rowAt, error, loading: results[0]?.isPending ?? true };
}
