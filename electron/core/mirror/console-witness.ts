import { generateKeyPairSync } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import { cosignatureLine } from '../../../shared/ledger/cosignature';
import { parseSignedNote } from '../../../shared/ledger/signed-note';
import { formatVerifierKey } from '../../../shared/ledger/verifier-key';
import { readTextIfExists, writeFileDurably } from '../../../shared/node/ledger/durable-file';
import { ed25519Cosigner } from '../../../shared/node/ledger/node-crypto';
import type { Cosigner } from '../../../shared/ledger/cosignature';

/**
 * The console as a witness (C2SP tlog-cosignature/v1): after a sync verified a checkpoint (the
 * mirror extends its own verified prefix to the signed root, so the checkpoint is consistent
 * with every one it verified before), the console cosigns it with its own Ed25519 witness key
 * and hands the cosignature back to the store (consoles sit behind NAT: the store cannot push to
 * them). The key lives in the OS keychain like the console's other secrets; the last checkpoint
 * cosigned is kept in the mirror's folder and a checkpoint that does not extend it (smaller, or
 * the same size with another root) is never cosigned: a console that cosigned one branch of a
 * fork never cosigns the other.
 */

/** Where the console keeps its witness key: a secret of the keychain, per store and principal. */
export interface WitnessKeySecrets {
  get(): Promise<string | null>;
  set(secret: string): Promise<void>;
}

export interface VerifiedCheckpoint {
  treeSize: number;
  /** Hex root hash. */
  rootHash: string;
  /** The signed note as served. */
  note: string | null;
}

export interface ConsoleWitnessOutcome {
  name: string;
  vkey: string;
  /** The size cosigned this time, or null when there was nothing new to cosign. */
  cosignedSize: number | null;
}

const StoredKeySchema = z.strictObject({ name: z.string().min(1), privateKeyPem: z.string().includes('PRIVATE KEY') });
const RecordSchema = z.strictObject({ origin: z.string(), size: z.number().int().nonnegative(), rootHash: z.string(), checkpoint: z.string(), cosignedAt: z.number().int().nonnegative() });
type WitnessRecord = z.infer<typeof RecordSchema>;

/** `<host>/<principal>/console`: a note key name (no spaces, no "+"). */
export function consoleWitnessName(principal: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._@-]+/g, '-') || 'unknown';
  return `${clean(hostname())}/${clean(principal)}/console`;
}

export class ConsoleWitness {
  constructor(private readonly dir: string) {}

  private get recordPath(): string {
    return join(this.dir, 'witness.json');
  }

  /** Identity lookups, one at a time (see identity). */
  private lookups: Promise<unknown> = Promise.resolve();

  /**
   * The console's witness key from the keychain, created (and stored there) on first use. One
   * lookup at a time: on first use a background sync (on a ledger event) and an explicit one would
   * each create a key, and the later write would replace a key already shown and used to cosign.
   */
  identity(secrets: WitnessKeySecrets, principal: string): Promise<{ cosigner: Cosigner; vkey: string }> {
    const run = this.lookups.then(() => this.loadOrCreate(secrets, principal));
    // This lookup's failure goes to its own caller; the next lookup only waits for its turn.
    this.lookups = run.catch((_reportedToItsCaller: unknown) => undefined);
    return run;
  }

  private async loadOrCreate(secrets: WitnessKeySecrets, principal: string): Promise<{ cosigner: Cosigner; vkey: string }> {
    const stored = await secrets.get();
    let key: z.infer<typeof StoredKeySchema>;
    if (stored) {
      const parsed = StoredKeySchema.safeParse(JSON.parse(stored));
      if (!parsed.success) throw new AppError('invalid_input', 'the console witness key in the keychain is not in the expected shape');
      key = parsed.data;
    } else {
      key = { name: consoleWitnessName(principal), privateKeyPem: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
      await secrets.set(JSON.stringify(key));
    }
    const cosigner = ed25519Cosigner(key.name, key.privateKeyPem);
    return { cosigner, vkey: formatVerifierKey(cosigner.key) };
  }

  private async record(): Promise<WitnessRecord | undefined> {
    const text = await readTextIfExists(this.recordPath);
    if (!text) return undefined;
    return RecordSchema.parse(JSON.parse(text));
  }

  /**
   * Cosign `checkpoint` (verified by the mirror just now) unless it is the one cosigned last;
   * refuse one that does not extend it. The record is written before the cosignature leaves.
   */
  async cosign(checkpoint: VerifiedCheckpoint, identity: { cosigner: Cosigner; vkey: string }, now: Date): Promise<{ line: string; note: string } | null> {
    if (!checkpoint.note) return null;
    const { text } = parseSignedNote(checkpoint.note);
    const origin = text.slice(0, text.indexOf('\n'));
    const last = await this.record();
    if (last && last.origin === origin) {
      if (checkpoint.treeSize < last.size) throw new AppError('verification_failed', `this console cosigned ${last.size} entries of ${origin}; the store now shows ${checkpoint.treeSize}: refusing to cosign a smaller log`);
      if (checkpoint.treeSize === last.size) {
        if (last.rootHash !== checkpoint.rootHash) throw new AppError('verification_failed', `this console cosigned size ${last.size} of ${origin} with another root: split view, refusing to cosign`);
        if (last.checkpoint === text) return null;
      }
    }
    const cosignedAt = Math.floor(now.getTime() / 1000);
    const line = cosignatureLine(text, identity.cosigner, cosignedAt);
    // Durable before the line leaves: a crash must not forget what this witness signed.
    await writeFileDurably(this.recordPath, `${JSON.stringify({ origin, size: checkpoint.treeSize, rootHash: checkpoint.rootHash, checkpoint: text, cosignedAt })}\n`, 0o600);
    return { line: line.trimEnd(), note: checkpoint.note };
  }
}
