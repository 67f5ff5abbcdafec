import { z } from 'zod';
import { toBase64 } from '../../../shared/bytes';
import { AppError } from '../../../shared/errors';
import { requireRole } from '../../service/access';
import { query } from '../parse';
import type { RoutePlugin } from '../route-context';

/** Largest page of entries one call returns. */
const MAX_LEDGER_PAGE = 5000;

export const LedgerEntriesQuerySchema = z.strictObject({
  from: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_LEDGER_PAGE).default(1000),
});

const SeqSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const InclusionProofQuerySchema = z.strictObject({
  seq: SeqSchema,
  /** Default: the latest checkpoint's size. */
  treeSize: SeqSchema.min(1).optional(),
});

export const ConsistencyProofQuerySchema = z
  .strictObject({ from: SeqSchema, to: SeqSchema.optional() })
  .refine((q) => q.to === undefined || q.from <= q.to, { path: ['from'], message: 'must be at most `to`' });

export const LedgerExportQuerySchema = z.strictObject({
  /** Pin the export to the checkpoint of this size (default: the latest). */
  treeSize: SeqSchema.optional(),
  from: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_LEDGER_PAGE).default(1000),
});

export const DecisionBundleParamsSchema = z.strictObject({ seq: SeqSchema });

/** Roles that may read the ledger: approvers (the console mirrors it), auditors and admins. */
const READERS = ['approver', 'auditor', 'admin'] as const;

/**
 * The ledger over HTTP: entries by range plus the transparency log (issue 4): signed C2SP
 * checkpoints, RFC 9162 inclusion and consistency proofs (hashes base64), the log public key,
 * the Sigstore trusted root, decision bundles with their tlog entry, and a paged export holding
 * everything an offline verifier needs.
 */
export const registerLedgerRoutes: RoutePlugin = async (app, ctx) => {
  const { log } = ctx;

  app.get('/v1/ledger/entries', async (request) => {
    requireRole(ctx.caller(request), ...READERS);
    const q = query(LedgerEntriesQuerySchema, request.query);
    const treeSize = await ctx.deps.store.ledgerSize();
    // Two reads may straddle a commit: cut the page at the size reported alongside it.
    const entries = await ctx.deps.store.getLedgerEntries(q.from, q.limit);
    return { entries: entries.filter((e) => e.seq < treeSize), treeSize };
  });

  app.get('/v1/ledger/checkpoint', async (request) => {
    requireRole(ctx.caller(request), ...READERS);
    // The latest signed one; never signs on demand (checkpoints come at most every ~500 ms).
    const cp = log.latestCheckpoint();
    return {
      origin: log.origin,
      treeSize: cp?.treeSize ?? 0,
      rootHash: cp ? toBase64(cp.rootHash) : null,
      checkpoint: cp?.note ?? null,
      signedAt: cp?.signedAt ?? null,
      // Set when the log refused to sign a checkpoint inconsistent with its last one.
      halted: log.halted ?? null,
    };
  });

  app.get('/v1/ledger/proof/inclusion', async (request) => {
    requireRole(ctx.caller(request), ...READERS);
    const q = query(InclusionProofQuerySchema, request.query);
    const treeSize = q.treeSize ?? log.latestCheckpoint()?.treeSize ?? 0;
    const proof = log.inclusionProof(q.seq, treeSize);
    return { seq: proof.seq, treeSize: proof.treeSize, rootHash: toBase64(proof.rootHash), leafHash: toBase64(log.perfect(0, q.seq)), hashes: proof.hashes.map(toBase64) };
  });

  app.get('/v1/ledger/proof/consistency', async (request) => {
    requireRole(ctx.caller(request), ...READERS);
    const q = query(ConsistencyProofQuerySchema, request.query);
    const to = q.to ?? log.latestCheckpoint()?.treeSize ?? 0;
    const proof = log.consistencyProof(q.from, to);
    return { from: proof.from, to: proof.to, fromRoot: toBase64(proof.fromRoot), toRoot: toBase64(proof.toRoot), hashes: proof.hashes.map(toBase64) };
  });

  app.get('/v1/ledger/public-key', async (request) => {
    requireRole(ctx.caller(request), ...READERS);
    return { origin: log.origin, publicKeyPem: log.publicKeyPem, keyHint: toBase64(log.key.logId.slice(0, 4)), logId: toBase64(log.key.logId) };
  });

  app.get('/v1/ledger/trusted-root', async (request) => {
    requireRole(ctx.caller(request), ...READERS);
    return { trustedRoot: await log.trustedRoot(), publicKeys: await log.approverKeys() };
  });

  app.get('/v1/ledger/decisions/:seq/bundle', async (request) => {
    requireRole(ctx.caller(request), ...READERS);
    const { seq } = query(DecisionBundleParamsSchema, request.params);
    return { seq, bundle: await log.decisionBundle(seq) };
  });

  app.get('/v1/ledger/export', async (request) => {
    requireRole(ctx.caller(request), ...READERS);
    const q = query(LedgerExportQuerySchema, request.query);
    const cp = q.treeSize !== undefined ? log.checkpointOfSize(q.treeSize) : log.latestCheckpoint();
    if (!cp) throw new AppError('not_found', `no signed checkpoint of size ${q.treeSize ?? 'any'}`);
    const end = Math.min(cp.treeSize, q.from + q.limit);
    const rows = q.from < end ? await ctx.deps.store.getLedgerEntryTexts(q.from, end - q.from) : [];
    const first = q.from === 0;
    return {
      origin: log.origin,
      publicKeyPem: log.publicKeyPem,
      treeSize: cp.treeSize,
      checkpoint: cp.note,
      from: q.from,
      entries: rows.map((r) => r.text),
      leafHashes: q.from < end ? log.leafHashes(q.from, end - q.from).map(toBase64) : [],
      // The rest once, with the first page: history, trust material.
      ...(first
        ? {
            checkpoints: log.checkpoints(cp.treeSize).map((c) => c.note),
            trustedRoot: await log.trustedRoot(),
            publicKeys: await log.approverKeys(),
          }
        : {}),
    };
  });
};
