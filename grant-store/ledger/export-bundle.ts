import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSink } from '../../shared/node/text-sink';

/**
 * The self-contained ledger export (`breakglass ledger export --format bundle`): a directory an
 * auditor can verify offline with `breakglass ledger verify --offline DIR`, and whose
 * trusted_root.json + approver-keys.json let stock Sigstore tooling verify decision bundles.
 */
export const EXPORT_FILES = {
  entries: 'entries.jsonl',
  checkpoint: 'checkpoint',
  checkpoints: 'checkpoints.jsonl',
  leafHashes: 'leaf-hashes.txt',
  logKey: 'log-key.pub',
  approverKeys: 'approver-keys.json',
  trustedRoot: 'trusted_root.json',
} as const;

export interface LedgerExportData {
  origin: string;
  publicKeyPem: string;
  /** Canonical entry texts, seq 0 upward, exactly the checkpoint's tree. */
  entries: string[];
  checkpoint: string;
  checkpoints: string[];
  /** Base64 leaf hashes as the log recorded them. */
  leafHashes: string[];
  trustedRoot: unknown;
  publicKeys: unknown;
}

/** What the export holds besides its entries and leaf hashes (small: read at once). */
export type LedgerExportMeta = Omit<LedgerExportData, 'entries' | 'leafHashes'>;

/**
 * An export directory written as the entries arrive, page by page (a year's ledger is a million
 * entries, ~600 MB of text: never held at once, nor joined into one string). Every file goes to
 * a temporary name first and is renamed into place only by finish(), the checkpoint last,
 * after the entries it covers; abort() removes them. A failed export leaves the directory
 * as it was (an earlier export there, replaced with --force, stays whole until the new one is).
 */
export class ExportBundleWriter {
  /** Every file of the export, in the order they go into place (entries first, checkpoint last). */
  private readonly sinks: FileSink[];

  private constructor(
    private readonly dir: string,
    private readonly entries: FileSink,
    private readonly leafHashes: FileSink,
  ) {
    this.sinks = [entries, leafHashes];
  }

  static async open(dir: string): Promise<ExportBundleWriter> {
    await mkdir(dir, { recursive: true });
    const entries = await FileSink.create(join(dir, EXPORT_FILES.entries));
    try {
      return new ExportBundleWriter(dir, entries, await FileSink.create(join(dir, EXPORT_FILES.leafHashes)));
    } catch (error) {
      await entries.abort();
      throw error;
    }
  }

  /** The next entries (canonical texts, in seq order) and the leaf hashes the log recorded for them (base64). */
  async add(entries: readonly string[], leafHashes: readonly string[]): Promise<void> {
    await this.entries.write(entries.map((t) => `${t}\n`).join(''));
    await this.leafHashes.write(leafHashes.map((h) => `${h}\n`).join(''));
  }

  /** Write the small files and put every file in place. On failure the caller calls abort(). */
  async finish(meta: LedgerExportMeta): Promise<void> {
    const small: [string, string][] = [
      [EXPORT_FILES.checkpoints, meta.checkpoints.map((n) => `${JSON.stringify(n)}\n`).join('')],
      [EXPORT_FILES.logKey, meta.publicKeyPem],
      [EXPORT_FILES.approverKeys, `${JSON.stringify(meta.publicKeys, null, 2)}\n`],
      [EXPORT_FILES.trustedRoot, `${JSON.stringify(meta.trustedRoot, null, 2)}\n`],
      // The checkpoint is what the entries are verified against: in place after them.
      [EXPORT_FILES.checkpoint, meta.checkpoint],
    ];
    for (const [name, text] of small) {
      const sink = await FileSink.create(join(this.dir, name));
      this.sinks.push(sink);
      await sink.write(text);
    }
    for (const sink of this.sinks) await sink.commit();
  }

  /** Remove every file not yet in place (those a finish() put in place stay). */
  async abort(): Promise<void> {
    await Promise.all(this.sinks.map((sink) => sink.abort()));
  }
}

/** An export whose entries are all in memory (tests, small ledgers). */
export async function writeExportBundle(dir: string, data: LedgerExportData): Promise<void> {
  const writer = await ExportBundleWriter.open(dir);
  try {
    await writer.add(data.entries, data.leafHashes);
    await writer.finish(data);
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
