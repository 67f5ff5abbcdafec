import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import { type NoteVerifier } from '../../shared/ledger/signed-note';
import { parseVerifierKey, type VerifierKey } from '../../shared/ledger/verifier-key';
import { witnessAddCheckpoint, type WitnessRecord } from '../../shared/ledger/witness-core';
import { TLOG_SIZE_CONTENT_TYPE, formatTlogSize, parseAddCheckpointRequest } from '../../shared/ledger/witness-protocol';
import { readTextIfExists, writeFileDurably } from '../../shared/node/ledger/durable-file';
import { nodeEd25519Verify, nodeSha256, nodeTreeHasher } from '../../shared/node/ledger/node-crypto';
import { loadWitnessKey, type WitnessIdentity } from './witness-key-file';
import { fallbackStoreLogger } from '../logger';

/**
 * The always-on witness behind `breakglass witness serve`: its own Ed25519 witness key, the
 * logs it follows (their vkeys, in witness.json) and, per origin, the latest checkpoint it
 * cosigned (records.json, written durably before any answer). Requests for one origin are
 * handled one at a time, so the check of the old size and the update are atomic as the spec
 * requires. Refused checkpoints that carry a valid log signature and contradict the cosigned one
 * (same size with another root, or not extending it) are kept in evidence.jsonl: proof the log
 * forked. A 409 that only tells a stale client the witness's size is not evidence.
 */
export const WITNESS_CONFIG_FILE = 'witness.json';
const RECORDS_FILE = 'records.json';
const EVIDENCE_FILE = 'evidence.jsonl';

const WitnessConfigSchema = z.strictObject({
  /** vkeys (type 0x01) of the logs this witness cosigns; the key name is the log's origin. */
  logs: z.array(z.string()).default([]),
});

const RecordsSchema = z.record(
  z.string(),
  z.strictObject({ origin: z.string(), size: z.number().int().nonnegative(), rootHash: z.string(), checkpoint: z.string(), cosignedAt: z.number().int().nonnegative() }),
);

export interface WitnessAnswer {
  status: number;
  contentType: string;
  body: string;
}

function ed25519LogVerifier(key: VerifierKey): NoteVerifier {
  return { name: key.name, keyHint: key.keyHint, verify: (message, signature) => nodeEd25519Verify(key.publicKey, message, signature) };
}

export class StandaloneWitness {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly identity: WitnessIdentity,
    private readonly logs: Map<string, NoteVerifier[]>,
    private records: Map<string, WitnessRecord>,
    private readonly clock: () => Date,
  ) {}

  static async open(dir: string, options: { clock?: () => Date } = {}): Promise<StandaloneWitness> {
    const identity = await loadWitnessKey(dir);
    const config = await readConfig(dir);
    const logs = new Map<string, NoteVerifier[]>();
    for (const vkey of config.logs) {
      const key = parseVerifierKey(vkey, nodeSha256, 'ed25519');
      logs.set(key.name, [...(logs.get(key.name) ?? []), ed25519LogVerifier(key)]);
    }
    const recordsText = await readTextIfExists(join(dir, RECORDS_FILE));
    const records = new Map<string, WitnessRecord>(recordsText ? Object.entries(RecordsSchema.parse(JSON.parse(recordsText))) : []);
    return new StandaloneWitness(dir, identity, logs, records, options.clock ?? (() => new Date()));
  }

  /** Origins this witness follows. */
  get origins(): string[] {
    return [...this.logs.keys()];
  }

  latest(origin: string): WitnessRecord | undefined {
    return this.records.get(origin);
  }

  /** Handle one add-checkpoint body; serialized with every other request. */
  addCheckpoint(body: string): Promise<WitnessAnswer> {
    const run = this.queue.then(() => this.handle(body));
    // The caller of this run gets its failure; the queue must not stop on it.
    this.queue = run.catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'a witness request failed (answered to its caller)'));
    return run;
  }

  private async handle(body: string): Promise<WitnessAnswer> {
    let request;
    try {
      request = parseAddCheckpointRequest(body);
    } catch (error) {
      return text(400, (error as Error).message);
    }
    const outcome = witnessAddCheckpoint(request, {
      hasher: nodeTreeHasher,
      logKeys: (origin) => this.logs.get(origin),
      latest: (origin) => this.records.get(origin),
      cosigner: this.identity.cosigner,
      nowSeconds: () => Math.floor(this.clock().getTime() / 1000),
    });
    if (outcome.status === 200) {
      const next = new Map(this.records);
      next.set(outcome.record.origin, outcome.record);
      // Persist before answering: a cosignature must never outlive a crash that forgot it.
      await writeFileDurably(join(this.dir, RECORDS_FILE), `${JSON.stringify(Object.fromEntries(next), null, 2)}\n`);
      this.records = next;
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: outcome.lines.join('') };
    }
    if ((outcome.status === 409 || outcome.status === 422) && outcome.fork) {
      // Signed by the log and contradicting what was cosigned: proof of a fork, worth keeping.
      // (A 409 that only tells a client the witness's size is the protocol's normal first answer.)
      await appendFile(join(this.dir, EVIDENCE_FILE), `${JSON.stringify({ at: this.clock().toISOString(), status: outcome.status, reason: outcome.reason, oldSize: request.oldSize, note: request.note })}\n`, { mode: 0o600 });
    }
    if (outcome.status === 409) return { status: 409, contentType: TLOG_SIZE_CONTENT_TYPE, body: formatTlogSize(outcome.size) };
    return text(outcome.status, outcome.reason);
  }
}

function text(status: number, reason: string): WitnessAnswer {
  return { status, contentType: 'text/plain; charset=utf-8', body: `${reason}\n` };
}

async function readConfig(dir: string): Promise<z.infer<typeof WitnessConfigSchema>> {
  const path = join(dir, WITNESS_CONFIG_FILE);
  const raw = await readTextIfExists(path);
  if (raw === undefined) return { logs: [] };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new AppError('invalid_input', `${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = WitnessConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('invalid_input', `${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, { fieldErrors: [{ path: issue?.path.join('.') ?? '', message: issue?.message ?? '' }] });
  }
  for (const [i, vkey] of parsed.data.logs.entries()) {
    try {
      parseVerifierKey(vkey, nodeSha256, 'ed25519');
    } catch (error) {
      throw new AppError('invalid_input', `${path}: logs.${i}: ${(error as Error).message}`, { fieldErrors: [{ path: `logs.${i}`, message: (error as Error).message }] });
    }
  }
  return parsed.data;
}

/** Add a log (its vkey) to the witness's config; returns the origin. Idempotent. */
export async function addWitnessedLog(dir: string, vkey: string): Promise<string> {
  const key = parseVerifierKey(vkey, nodeSha256, 'ed25519');
  const config = await readConfig(dir);
  const logs = config.logs.includes(vkey.trim()) ? config.logs : [...config.logs, vkey.trim()];
  await writeFileDurably(join(dir, WITNESS_CONFIG_FILE), `${JSON.stringify({ logs }, null, 2)}\n`, 0o644);
  return key.name;
}
