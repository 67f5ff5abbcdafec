import { canonicalJson, canonicalJsonBytes } from '../../shared/canonical-json';
import { toBase64, utf8 } from '../../shared/bytes';
import type { LedgerEntry, RedactedLedgerEntry, ServedLedgerEntry } from '../../shared/domain/ledger-entry';
import type { Policy } from '../../shared/domain/policy';
import { canSeeLedgerEntry, entryRequestId, seesEverything, type RequestRef, type Viewer } from '../../shared/policy/visibility';
import { nodeTreeHasher } from '../../shared/node/ledger/node-crypto';
import type { StoreReader } from '../storage/store';

/**
 * The visibility rule (shared/policy/visibility.ts) applied to ledger entries for one reader: the
 * requests the entries are about are read in one batch per page and remembered, so a long
 * stream or export does not read a request per entry.
 */
export class EntryVisibility {
  private readonly requests = new Map<string, RequestRef | null>();

  constructor(
    private readonly store: Pick<StoreReader, 'getRequests'>,
    private readonly policy: () => Policy,
    private readonly viewer: Viewer,
  ) {}

  /** Whether this reader sees every entry in full (no lookups needed). */
  get seesEverything(): boolean {
    return seesEverything(this.viewer);
  }

  /** For each entry, whether the reader may see it in full. */
  async visible(entries: readonly LedgerEntry[]): Promise<boolean[]> {
    if (this.seesEverything) return entries.map(() => true);
    const missing = [...new Set(entries.map(entryRequestId).filter((id): id is string => id !== null && !this.requests.has(id)))];
    if (missing.length > 0) {
      const found = new Map((await this.store.getRequests(missing)).map((r) => [r.id, { requester: r.requester, gate: r.gate }]));
      for (const id of missing) this.requests.set(id, found.get(id) ?? null);
    }
    const policy = this.policy();
    return entries.map((entry) => {
      const id = entryRequestId(entry);
      return canSeeLedgerEntry(policy, this.viewer, entry, id === null ? undefined : (this.requests.get(id) ?? undefined));
    });
  }

  /** The entries as this reader is served them: in full, or redacted to their leaf hash. */
  async serve(entries: readonly LedgerEntry[]): Promise<ServedLedgerEntry[]> {
    const shown = await this.visible(entries);
    return entries.map((entry, i) => (shown[i] ? entry : redactedEntry(entry.seq, canonicalJsonBytes(entry))));
  }

  /** Export pages: the stored texts (the exact leaf bytes), or the redacted entry's canonical JSON text. */
  async serveTexts(rows: readonly { seq: number; text: string }[]): Promise<string[]> {
    if (this.seesEverything) return rows.map((r) => r.text);
    const entries = rows.map((r) => JSON.parse(r.text) as LedgerEntry);
    const shown = await this.visible(entries);
    return rows.map((row, i) => (shown[i] ? row.text : canonicalJson(redactedEntry(row.seq, utf8(row.text)))));
  }
}

/** The redacted stand-in of the entry at `seq` whose canonical bytes are `bytes`. */
export function redactedEntry(seq: number, bytes: Uint8Array): RedactedLedgerEntry {
  return { seq, redacted: true, leafHash: toBase64(nodeTreeHasher.leaf(bytes)) };
}
