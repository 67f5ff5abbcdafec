import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { Store } from '../storage/store';

export type BusListener = (entries: readonly LedgerEntry[]) => void;

/** In-process fan-out of committed ledger entries to open event streams. */
export class EventBus {
  private readonly listeners = new Set<BusListener>();
  private readonly unsubscribe: () => void;

  constructor(store: Store) {
    this.unsubscribe = store.onLedgerAppended((entries) => {
      for (const listener of this.listeners) listener(entries);
    });
  }

  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }
}
