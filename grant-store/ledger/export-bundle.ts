import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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

export async function writeExportBundle(dir: string, data: LedgerExportData): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all([
    writeFile(join(dir, EXPORT_FILES.entries), data.entries.map((t) => `${t}\n`).join('')),
    writeFile(join(dir, EXPORT_FILES.checkpoint), data.checkpoint),
    writeFile(join(dir, EXPORT_FILES.checkpoints), data.checkpoints.map((n) => `${JSON.stringify(n)}\n`).join('')),
    writeFile(join(dir, EXPORT_FILES.leafHashes), data.leafHashes.map((h) => `${h}\n`).join('')),
    writeFile(join(dir, EXPORT_FILES.logKey), data.publicKeyPem),
    writeFile(join(dir, EXPORT_FILES.approverKeys), `${JSON.stringify(data.publicKeys, null, 2)}\n`),
    writeFile(join(dir, EXPORT_FILES.trustedRoot), `${JSON.stringify(data.trustedRoot, null, 2)}\n`),
  ]);
}
