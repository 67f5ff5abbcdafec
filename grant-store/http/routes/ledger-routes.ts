import { toBase64 } from '../../../shared/bytes';
import type { Role } from '../../../shared/domain/common';
import { AppError } from '../../../shared/errors';
import { EntryVisibility } from '../../service/entry-visibility';
import type { RoutePlugin } from '../route-context';

/**
 * The ledger over HTTP: entries by range plus the transparency log: signed C2SP
 * checkpoints, RFC 9162 inclusion and consistency proofs (hashes base64), the log public key,
 * the Sigstore trusted root, decision bundles with their tlog entry, and a paged export holding
 * everything an offline verifier needs. Entries the caller may not see (shared/policy/visibility.ts)
 * are served redacted, as their leaf hash: every root and proof still checks out.
 */
export const registerLedgerRoutes: RoutePlugin = async (app, ctx) => {
  const { log, route, witnesses } = ctx;

  const visibilityFor = (caller: { principal: string; roles: readonly Role[] }) => new EntryVisibility(ctx.deps.store, () => ctx.deps.policies.policy, caller);

  route('ledgerEntries', async ({ caller, query: q }) => {
    const treeSize = await ctx.deps.store.ledgerSize();
    // Two reads may straddle a commit: cut the page at the size reported alongside it.
    const entries = await ctx.deps.store.getLedgerEntries(q.from, q.limit);
    return { entries: await visibilityFor(caller).serve(entries.filter((e) => e.seq < treeSize)), treeSize };
  });

  route('ledgerCheckpoint', async () => {
    // The latest signed one; never signs on demand (checkpoints come at most every ~500 ms).
    const cp = log.latestCheckpoint();
    return {
      origin: log.origin,
      treeSize: cp?.treeSize ?? 0,
      rootHash: cp ? toBase64(cp.rootHash) : null,
      checkpoint: cp ? await witnesses.cosignedNote(cp) : null,
      signedAt: cp?.signedAt ?? null,
      // Set when the log refused to sign a checkpoint inconsistent with its last one.
      halted: ctx.ledgerGuard.halted ?? log.halted ?? null,
    };
  });

  route('submitCosignature', async ({ body }) => witnesses.submit(body.checkpoint, body.cosignature));

  route('inclusionProof', async ({ query: q }) => {
    const treeSize = q.treeSize ?? log.latestCheckpoint()?.treeSize ?? 0;
    const proof = await log.inclusionProof(q.seq, treeSize);
    return { seq: proof.seq, treeSize: proof.treeSize, rootHash: toBase64(proof.rootHash), leafHash: toBase64(proof.leafHash), hashes: proof.hashes.map(toBase64) };
  });

  route('consistencyProof', async ({ query: q }) => {
    const to = q.to ?? log.latestCheckpoint()?.treeSize ?? 0;
    const proof = await log.consistencyProof(q.from, to);
    return { from: proof.from, to: proof.to, fromRoot: toBase64(proof.fromRoot), toRoot: toBase64(proof.toRoot), hashes: proof.hashes.map(toBase64) };
  });

  route('ledgerPublicKey', async () => {
    return { origin: log.origin, publicKeyPem: log.publicKeyPem, keyHint: toBase64(log.key.logId.slice(0, 4)), logId: toBase64(log.key.logId) };
  });

  route('trustedRoot', async () => {
    return { trustedRoot: await log.trustedRoot(), publicKeys: await log.approverKeys() };
  });

  route('decisionBundle', async ({ caller, params }) => {
    const { seq } = params;
    // A decision outside the caller's tiers does not exist for them (its statement names the request).
    const [entry] = await ctx.deps.store.getLedgerEntries(seq, 1);
    if (entry && entry.seq === seq && !(await visibilityFor(caller).visible([entry]))[0]) throw new AppError('not_found', `no decision you may see at seq ${seq}`);
    return { seq, bundle: await log.decisionBundle(seq) };
  });

  route('ledgerExport', async ({ caller, query: q }) => {
    const cp = q.treeSize !== undefined ? log.checkpointOfSize(q.treeSize) : log.latestCheckpoint();
    if (!cp) throw new AppError('not_found', `no signed checkpoint of size ${q.treeSize ?? 'any'}`);
    const end = Math.min(cp.treeSize, q.from + q.limit);
    const rows = q.from < end ? await ctx.deps.store.getLedgerEntryTexts(q.from, end - q.from) : [];
    const first = q.from === 0;
    return {
      origin: log.origin,
      publicKeyPem: log.publicKeyPem,
      treeSize: cp.treeSize,
      checkpoint: await witnesses.cosignedNote(cp),
      from: q.from,
      entries: await visibilityFor(caller).serveTexts(rows),
      leafHashes: q.from < end && q.leaves === 'include' ? (await log.leafHashes(q.from, end - q.from)).map(toBase64) : [],
      // The rest once, with the first page: history, trust material.
      ...(first
        ? {
            ...(q.history === 'include' ? { checkpoints: log.checkpoints(cp.treeSize).map((c) => c.note) } : {}),
            trustedRoot: await log.trustedRoot(),
            publicKeys: await log.approverKeys(),
          }
        : {}),
    };
  });
};
