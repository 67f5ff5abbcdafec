import { bytesEqual } from '../../shared/bytes';
import type { EntryBinder } from '../../shared/ledger/entry-binding';

/**
 * Bindings this process made, remembered until the log has checked them once: at most this
 * many (the oldest are forgotten first and then checked the slow way, with the public key).
 */
export const SELF_BOUND_CAPACITY = 16_384;

/**
 * The log key's entry binder, remembering each (seq, leaf hash, binding) it signs in this
 * process. The transparency log checks every row's binding before signing it into a checkpoint;
 * a row this process appended carries exactly the binding it made, so for those rows the check
 * is a byte comparison with what was signed (the same answer an Ed25519 verify would give, at a
 * fraction of the cost, which was most of the store's CPU per appended entry). A row that
 * differs in any byte of its leaf hash or binding, a row another instance wrote (PostgreSQL),
 * and every row read at start are verified with the public key as before. Each remembered
 * binding answers once: it is forgotten when checked.
 */
export function selfBoundEntries(binder: EntryBinder, capacity = SELF_BOUND_CAPACITY): EntryBinder {
  const made = new Map<number, { leaf: Uint8Array; binding: Uint8Array }>();
  return {
    origin: binder.origin,
    bind(seq, leafHash) {
      const binding = binder.bind(seq, leafHash);
      // A rolled-back transaction's seq is bound again by the next writer: the newest wins.
      made.delete(seq);
      made.set(seq, { leaf: Uint8Array.from(leafHash), binding: Uint8Array.from(binding) });
      if (made.size > capacity) made.delete(made.keys().next().value!);
      return binding;
    },
    verify(seq, leafHash, binding) {
      const mine = made.get(seq);
      if (mine && binding && bytesEqual(mine.leaf, leafHash) && bytesEqual(mine.binding, binding)) {
        made.delete(seq);
        return true;
      }
      return binder.verify(seq, leafHash, binding);
    },
  };
}
