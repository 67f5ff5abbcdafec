import { fromBase64 } from '../bytes';
import type { LedgerEntry } from '../domain/ledger-entry';
import { auditView } from './semantic-audit';
import type { TreeHasher } from './tree-hasher';
import { checkEntryText, type CheckedEntry, type LedgerProblem } from './verify-ledger';

/**
 * One export page (GET /v1/ledger/export) checked entry by entry with checkEntryText, in a form
 * that crosses to another thread cheaply: the leaf hashes and the recorded leaves packed in two
 * byte arrays (transferable), and per entry what LedgerVerifier.addChecked needs, the entry cut
 * to what the verifier and the audit read (auditView). The ledger verifier runs this in worker
 * threads for many pages at once and feeds the results to one LedgerVerifier in seq order.
 */
/** What this needs of a page (GET /v1/ledger/export: LedgerExportPageSchema in shared/http/responses.ts). */
export interface ExportPageEntries {
  from: number;
  entries: readonly string[];
  leafHashes: readonly string[];
}

export interface CheckedPage<Meta = Record<string, unknown>> {
  /** The page without its entries and leaf hashes. */
  meta: Meta;
  count: number;
  /** 32 bytes per entry: SHA-256(0x00 ‖ entry) as computed here (or a redacted entry's own). */
  leaves: Uint8Array;
  /** 32 bytes per entry: the leaf the log says it recorded; `recordedPresent[i]` is 0 where none was served or it was not base64 of 32 bytes. */
  recorded: Uint8Array;
  recordedPresent: Uint8Array;
  items: PageItem[];
  /** Whether a policy entry is among them (its source is parsed by the audit, with YAML). */
  hasPolicy: boolean;
}

export type PageItem = { kind: 'entry'; entry: LedgerEntry } | { kind: 'redacted'; seq: number } | { kind: 'bad'; problem: LedgerProblem };

const HASH = 32;

export function checkExportPage<P extends ExportPageEntries>(page: P, hasher: TreeHasher, decodeBase64: (text: string) => Uint8Array = fromBase64): CheckedPage<Omit<P, 'entries' | 'leafHashes'>> {
  const { entries, leafHashes, ...meta } = page;
  const count = entries.length;
  const leaves = new Uint8Array(count * HASH);
  const recorded = new Uint8Array(count * HASH);
  const recordedPresent = new Uint8Array(count);
  const items: PageItem[] = new Array(count);
  let hasPolicy = false;
  for (let i = 0; i < count; i++) {
    const checked: CheckedEntry = checkEntryText(entries[i]!, page.from + i, hasher);
    leaves.set(checked.leaf, i * HASH);
    if (checked.kind === 'entry') {
      if (checked.entry.type === 'policy_loaded') hasPolicy = true;
      items[i] = { kind: 'entry', entry: auditView(checked.entry) };
    } else {
      items[i] = checked.kind === 'redacted' ? { kind: 'redacted', seq: checked.seq } : { kind: 'bad', problem: checked.problem };
    }
    const b64 = leafHashes[i];
    if (b64 === undefined) continue;
    let leaf: Uint8Array;
    try {
      leaf = decodeBase64(b64);
    } catch {
      continue;
    }
    if (leaf.length !== HASH) continue;
    recorded.set(leaf, i * HASH);
    recordedPresent[i] = 1;
  }
  return { meta, count, leaves, recorded, recordedPresent, items, hasPolicy };
}

/** The i-th entry of a checked page as LedgerVerifier.addChecked takes it. */
export function pageEntry(page: CheckedPage<unknown>, i: number): { checked: CheckedEntry; recordedLeaf: Uint8Array | undefined } {
  const leaf = page.leaves.subarray(i * HASH, (i + 1) * HASH);
  const recordedLeaf = page.recordedPresent[i] ? page.recorded.subarray(i * HASH, (i + 1) * HASH) : undefined;
  const item = page.items[i]!;
  const checked: CheckedEntry = item.kind === 'entry' ? { kind: 'entry', leaf, entry: item.entry } : item.kind === 'redacted' ? { kind: 'redacted', leaf, seq: item.seq } : { kind: 'bad', leaf, problem: item.problem };
  return { checked, recordedLeaf };
}
