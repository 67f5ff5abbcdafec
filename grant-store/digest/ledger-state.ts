import type { DigestLedger } from '../../shared/domain/digest';
import { toHex } from '../../shared/bytes';
import type { TransparencyLog } from '../ledger/transparency-log';
import type { StoreReader } from '../storage/store';

/**
 * The ledger's state for the digest: its size, the latest signed checkpoint, how many entries
 * it does not cover yet, and whether the log halted. Witness cosignatures are reported once the
 * store keeps them (null until then: "no witnesses configured").
 */
export function ledgerStateSource(store: StoreReader, log: Pick<TransparencyLog, 'latestCheckpoint' | 'halted'>): () => Promise<DigestLedger> {
  return async () => {
    const size = await store.ledgerSize();
    const cp = log.latestCheckpoint();
    return {
      size,
      checkpoint: cp ? { size: cp.treeSize, rootHash: toHex(cp.rootHash), signedAt: cp.signedAt } : null,
      unsigned: Math.max(0, size - (cp?.treeSize ?? 0)),
      halted: log.halted ?? null,
      witnesses: null,
    };
  };
}
