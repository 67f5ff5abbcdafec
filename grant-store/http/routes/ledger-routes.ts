import { z } from 'zod';
import { requireRole } from '../../service/access';
import { query } from '../parse';
import type { RoutePlugin } from '../route-context';

/** Largest page of entries one call returns. */
const MAX_LEDGER_PAGE = 5000;

export const LedgerEntriesQuerySchema = z.strictObject({
  from: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_LEDGER_PAGE).default(1000),
});

/**
 * The ledger over HTTP. First form: entries by range. The ledger helper (issue 4) extends this
 * file with checkpoints and proofs. Readable by approvers (the console mirrors the ledger),
 * auditors and admins.
 */
export const registerLedgerRoutes: RoutePlugin = (app, ctx) => {
  app.get('/v1/ledger/entries', async (request) => {
    requireRole(ctx.caller(request), 'approver', 'auditor', 'admin');
    const q = query(LedgerEntriesQuerySchema, request.query);
    const treeSize = await ctx.deps.store.ledgerSize();
    // Two reads may straddle a commit: cut the page at the size reported alongside it.
    const entries = await ctx.deps.store.getLedgerEntries(q.from, q.limit);
    return { entries: entries.filter((e) => e.seq < treeSize), treeSize };
  });
};
