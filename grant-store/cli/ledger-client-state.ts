import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { fromBase64, toBase64 } from '../../shared/bytes';
import type { AuditSnapshot } from '../../shared/ledger/semantic-audit';
import type { LedgerResumeState } from '../../shared/ledger/verify-ledger';
import type { WitnessRecord } from '../../shared/ledger/witness-core';
import { readTextIfExists, writeFileDurably } from '../../shared/node/ledger/durable-file';

/**
 * What this client remembers about each log it verified, keyed by the log's origin (not the
 * store's URL): two stores presenting the same origin with different histories meet the same
 * saved checkpoint, so a client that saw both catches the fork. Per origin, under
 * $XDG_STATE_HOME/breakglass/logs/<origin>/:
 * - log.vkey: the log's C2SP verifier key, pinned on first use (a different key is refused);
 * - checkpoint: the last checkpoint verified (signed note as served, cosignatures included);
 * - tree-state.json: the Merkle frontier, the enrolled keys and the semantic audit's state at
 *   that checkpoint (what `verify --incremental` resumes from): one JSON line, then the audit's
 *   requests one a line (AuditSnapshot.requests, texts the auditor parses only when an entry
 *   names one; the first line counts them, so a file cut short is not resumed from);
 * - verified.jsonl: the sizes and roots of the last checkpoints verified (where two histories
 *   part, when one is rewritten);
 * - witness.json: the last checkpoint this client cosigned as a witness.
 * Everything is written durably and only after a verification succeeded.
 */
const LADDER_LENGTH = 64;
const ORIGIN_HASH_HEX = 12;

/** $XDG_STATE_HOME/breakglass (default ~/.local/state/breakglass). */
export function clientStateRoot(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'breakglass');
}

/** Where the CLI keeps its own witness key (it cosigns what `ledger verify` verified). */
export function cliWitnessDir(env: NodeJS.ProcessEnv): string {
  return join(clientStateRoot(env), 'cli-witness');
}

/** The directory for one log: a readable form of the origin plus a hash of the exact origin (no collisions). */
export function logStateDir(env: NodeJS.ProcessEnv, origin: string): string {
  const readable = origin.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(origin).digest('hex').slice(0, ORIGIN_HASH_HEX);
  return join(clientStateRoot(env), 'logs', `${readable}-${hash}`);
}

/** Before keying by origin the CLI kept one directory per store host:port. */
function legacyHostDir(env: NodeJS.ProcessEnv, storeUrl: string): string {
  return join(clientStateRoot(env), new URL(storeUrl).host.replace(/[^A-Za-z0-9._-]/g, '_'));
}

const TreeStateSchema = z.object({
  size: z.number().int().nonnegative(),
  frontier: z.array(z.string()),
  keys: z.array(z.object({ keyId: z.string(), principal: z.string(), publicKeyPem: z.string(), revoked: z.boolean() })),
  audit: z.record(z.string(), z.unknown()).optional(),
  /** How many request lines follow the first (absent before requests had lines of their own). */
  requests: z.number().int().nonnegative().optional(),
});

/** tree-state.json's text: the state as one JSON line, then the audit's request texts one a line. */
function treeStateText(resume: LedgerResumeState, audit: AuditSnapshot | undefined): string {
  const head = { size: resume.size, frontier: resume.frontier.map(toBase64), keys: resume.keys };
  if (!audit) return `${JSON.stringify(head)}\n`;
  const { requests, ...rest } = audit;
  const texts = requests.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)));
  // JSON.stringify never writes a raw newline, so a text is always exactly one line.
  return `${JSON.stringify({ ...head, audit: rest, requests: texts.length })}\n${texts.map((t) => `${t}\n`).join('')}`;
}

/** The state tree-state.json holds (treeStateText's form, or the one-document form before it); throws if damaged. */
function parseTreeState(text: string): LedgerResumeState & { audit?: AuditSnapshot } {
  const newline = text.indexOf('\n');
  const raw = TreeStateSchema.parse(JSON.parse(newline < 0 ? text : text.slice(0, newline)));
  const lines = newline < 0 ? [] : text.slice(newline + 1).split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length !== (raw.requests ?? 0)) throw new Error(`tree-state.json holds ${lines.length} request line(s), not ${raw.requests ?? 0}`);
  const audit = raw.audit ? ({ ...raw.audit, ...(raw.requests === undefined ? {} : { requests: lines }) } as unknown as AuditSnapshot) : undefined;
  return { size: raw.size, frontier: raw.frontier.map(fromBase64), keys: raw.keys, ...(audit ? { audit } : {}) };
}

const WitnessRecordSchema = z.object({ origin: z.string(), size: z.number().int().nonnegative(), rootHash: z.string(), checkpoint: z.string(), cosignedAt: z.number().int().nonnegative() });

export interface SavedLogState {
  dir: string;
  pinnedVkey: string | undefined;
  checkpoint: string | undefined;
  /** The saved tree state, only if it belongs to the saved checkpoint. */
  resume: (LedgerResumeState & { audit?: AuditSnapshot }) | undefined;
  /** Why the saved tree state could not be read, when there is one that cannot. */
  damaged?: string;
  /** Earlier verified checkpoints, oldest first (signed notes). */
  ladder: string[];
  witness: WitnessRecord | undefined;
}

function sizeOf(note: string): number | undefined {
  const line = note.split('\n')[1];
  return line && /^\d+$/.test(line) ? Number(line) : undefined;
}

function originOf(note: string): string | undefined {
  return note.split('\n')[0];
}

export async function readLogState(env: NodeJS.ProcessEnv, origin: string, storeUrl?: string): Promise<SavedLogState> {
  const dir = logStateDir(env, origin);
  let checkpoint = await readTextIfExists(join(dir, 'checkpoint'));
  let treeText = await readTextIfExists(join(dir, 'tree-state.json'));
  if (checkpoint === undefined && storeUrl) {
    // Carry over what this client verified when it keyed state by URL, if it is the same log.
    const legacy = legacyHostDir(env, storeUrl);
    const old = await readTextIfExists(join(legacy, 'checkpoint'));
    if (old && originOf(old) === origin) {
      checkpoint = old;
      treeText = await readTextIfExists(join(legacy, 'tree-state.json'));
    }
  }
  let resume: SavedLogState['resume'];
  let damaged: string | undefined;
  if (treeText && checkpoint) {
    try {
      const saved = parseTreeState(treeText);
      if (saved.size === sizeOf(checkpoint)) resume = saved;
    } catch (error) {
      // A damaged tree state only costs the shortcut: the next run verifies everything.
      resume = undefined;
      damaged = error instanceof z.ZodError ? 'tree-state.json does not hold what it should' : (error as Error).message;
    }
  }
  const ladderText = await readTextIfExists(join(dir, 'verified.jsonl'));
  const ladder = (ladderText ?? '').split('\n').flatMap((line) => {
    try {
      return line ? [z.string().parse(JSON.parse(line))] : [];
    } catch {
      return [];
    }
  });
  const witnessText = await readTextIfExists(join(dir, 'witness.json'));
  let witness: WitnessRecord | undefined;
  try {
    witness = witnessText ? WitnessRecordSchema.parse(JSON.parse(witnessText)) : undefined;
  } catch {
    witness = undefined;
  }
  return { dir, pinnedVkey: (await readTextIfExists(join(dir, 'log.vkey')))?.trim(), checkpoint, resume, ...(damaged ? { damaged } : {}), ladder, witness };
}

/** Record a successful verification: pin the key, move the checkpoint, save the tree state. */
/**
 * Save what a successful run verified (and, when it cosigned, this client's witness record). The
 * files besides the checkpoint are independent of each other and written at once (each durable
 * write waits for two fsyncs, ~15 ms here); the checkpoint, the anchor the next run trusts, last.
 */
export async function saveVerified(state: SavedLogState, update: { vkey: string; checkpoint: string; resume: LedgerResumeState; audit?: AuditSnapshot; witness?: WitnessRecord }): Promise<void> {
  const ladder = [...state.ladder.filter((n) => n !== update.checkpoint), update.checkpoint].slice(-LADDER_LENGTH);
  await Promise.all([
    state.pinnedVkey ? undefined : writeFileDurably(join(state.dir, 'log.vkey'), `${update.vkey}\n`, 0o644),
    writeFileDurably(join(state.dir, 'tree-state.json'), treeStateText(update.resume, update.audit)),
    writeFileDurably(join(state.dir, 'verified.jsonl'), ladder.map((n) => `${JSON.stringify(n)}\n`).join('')),
    // A witness record ahead of the checkpoint (a crash before the checkpoint is written) only
    // asks the next cosignature to extend it, which a consistent log does.
    update.witness ? saveWitnessRecord(state, update.witness) : undefined,
  ]);
  await writeFileDurably(join(state.dir, 'checkpoint'), update.checkpoint);
}

export async function saveWitnessRecord(state: SavedLogState, record: WitnessRecord): Promise<void> {
  await writeFileDurably(join(state.dir, 'witness.json'), `${JSON.stringify(record)}\n`);
}
