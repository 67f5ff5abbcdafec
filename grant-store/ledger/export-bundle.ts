import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { fromBase64 } from '../../shared/bytes';
import { verifyLedger, type LedgerResumeState, type LedgerVerdict } from '../../shared/ledger/verify-ledger';
import { ed25519NoteVerifier, nodeTreeHasher } from '../../shared/node/ledger/node-crypto';
import { verifyDecisionBundle } from '../../shared/node/signing/verify-decision';
import { parseCheckpoint } from '../../shared/ledger/checkpoint';
import { parseSignedNote } from '../../shared/ledger/signed-note';

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

async function readRequired(dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, name));
  } catch {
    throw new AppError('invalid_input', `${join(dir, name)} is missing: not a ledger export directory (run \`breakglass ledger export --out DIR\`)`, {
      fieldErrors: [{ path: '--offline', message: `no ${name} in ${dir}` }],
    });
  }
}

async function readOptional(dir: string, name: string): Promise<Buffer | undefined> {
  try {
    return await readFile(join(dir, name));
  } catch {
    return undefined;
  }
}

/** Split a JSON-lines file into its lines exactly as written (bytes decoded leniently: a corrupted byte must still be reported, not crash the reader). */
export function splitLines(bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  if (text.length === 0) return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export interface OfflineVerifyOptions {
  /** Pinned log public key (PEM); default: the export's log-key.pub. */
  logKeyPem?: string;
  /** A checkpoint (signed note) verified before: the export must extend it. */
  trustedCheckpoint?: string;
}

/** Verify an export directory with the shared verifier (real hashing and signature checks). */
export async function verifyExportDir(dir: string, options: OfflineVerifyOptions = {}): Promise<{ verdict: LedgerVerdict; origin: string }> {
  const entries = splitLines(await readRequired(dir, EXPORT_FILES.entries));
  const checkpoint = (await readRequired(dir, EXPORT_FILES.checkpoint)).toString('utf8');
  const logKeyPem = options.logKeyPem ?? (await readRequired(dir, EXPORT_FILES.logKey)).toString('utf8');
  const historyFile = await readOptional(dir, EXPORT_FILES.checkpoints);
  const history = historyFile ? splitLines(historyFile).flatMap((line) => {
    try {
      return [JSON.parse(line) as string];
    } catch {
      return [];
    }
  }) : [];
  const leafFile = await readOptional(dir, EXPORT_FILES.leafHashes);
  let recordedLeafHashes: Uint8Array[] | undefined;
  try {
    recordedLeafHashes = leafFile ? splitLines(leafFile).map(fromBase64) : undefined;
  } catch {
    recordedLeafHashes = undefined;
  }
  return verifyWithKey({ entries, checkpoint, history, recordedLeafHashes, logKeyPem, trustedCheckpoint: options.trustedCheckpoint });
}

/** Verify entry texts + checkpoint under the log key (PEM); the key name is the checkpoint's origin. */
export async function verifyWithKey(input: {
  entries: string[];
  checkpoint: string;
  history?: string[];
  recordedLeafHashes?: Uint8Array[];
  logKeyPem: string;
  trustedCheckpoint?: string;
  resume?: LedgerResumeState;
}): Promise<{ verdict: LedgerVerdict; origin: string }> {
  const origin = originOf(input.checkpoint);
  let logKey;
  try {
    logKey = ed25519NoteVerifier(origin, input.logKeyPem);
  } catch (error) {
    throw new AppError('invalid_input', `the log public key is not an Ed25519 PEM public key: ${(error as Error).message}`);
  }
  const verdict = await verifyLedger(
    { entryTexts: input.entries, checkpoint: input.checkpoint, history: input.history, recordedLeafHashes: input.recordedLeafHashes, resume: input.resume },
    { hasher: nodeTreeHasher, logKey, verifyDecision: verifyDecisionBundle, trustedCheckpoint: input.trustedCheckpoint },
  );
  return { verdict, origin };
}

/** The origin line of a signed checkpoint, or '?' if it cannot be read (the verifier reports why). */
function originOf(note: string): string {
  try {
    return parseCheckpoint(parseSignedNote(note).text).origin;
  } catch {
    const first = note.split('\n')[0];
    return first && !/\s/.test(first) ? first : 'unknown-origin';
  }
}
