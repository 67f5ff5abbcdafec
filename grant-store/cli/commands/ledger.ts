import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import { fromBase64 as b64, toBase64 } from '../../../shared/bytes';
import type { LedgerResumeState, LedgerVerdict } from '../../../shared/ledger/verify-ledger';
import { verifyExportDir, verifyWithKey, writeExportBundle, type LedgerExportData } from '../../ledger/export-bundle';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { validateFlags } from '../validate';
import { fetchAllEntries, toCsv, toJsonl } from './ledger-export';

/** Entries per export page (the store's maximum). */
const EXPORT_PAGE = 5000;
const DEFAULT_BUNDLE_DIR = 'breakglass-ledger-export';

interface ExportPage {
  origin: string;
  publicKeyPem: string;
  treeSize: number;
  checkpoint: string;
  from: number;
  entries: string[];
  leafHashes: string[];
  checkpoints?: string[];
  trustedRoot?: unknown;
  publicKeys?: unknown;
}

/** Everything the store has for offline verification, pinned to one checkpoint. */
export async function fetchExport(ctx: CliContext, cmd: Command, from = 0): Promise<LedgerExportData> {
  const client = ctx.client(cmd);
  const first = await client.get<ExportPage>('/v1/ledger/export', { from, limit: EXPORT_PAGE });
  const data: LedgerExportData = {
    origin: first.origin,
    publicKeyPem: first.publicKeyPem,
    entries: [...first.entries],
    checkpoint: first.checkpoint,
    checkpoints: first.checkpoints ?? [],
    leafHashes: [...first.leafHashes],
    trustedRoot: first.trustedRoot,
    publicKeys: first.publicKeys,
  };
  while (from + data.entries.length < first.treeSize) {
    const page = await client.get<ExportPage>('/v1/ledger/export', { treeSize: first.treeSize, from: from + data.entries.length, limit: EXPORT_PAGE });
    if (page.entries.length === 0) break;
    data.entries.push(...page.entries);
    data.leafHashes.push(...page.leafHashes);
  }
  return data;
}

/** $XDG_STATE_HOME/breakglass/<store host>/ (default ~/.local/state/...): where this client keeps what it verified. */
export function clientStateDir(env: NodeJS.ProcessEnv, storeUrl: string): string {
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  const host = new URL(storeUrl).host.replace(/[^A-Za-z0-9._-]/g, '_');
  return join(base, 'breakglass', host);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Write-then-rename so a crash never leaves a half-written trusted checkpoint. */
async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

function renderVerdict(verdict: LedgerVerdict, origin: string, extra: { trustedSize?: number; source: string }): string {
  if (verdict.ok) {
    const lines = [
      `OK: ledger verified (${extra.source})`,
      `  log:        ${origin}`,
      verdict.entriesVerified === verdict.treeSize
        ? `  entries:    ${verdict.treeSize} (seq 0..${verdict.treeSize - 1}), every leaf recomputed`
        : `  entries:    ${verdict.treeSize}; the ${verdict.entriesVerified} new ones (seq ${verdict.treeSize - verdict.entriesVerified}..${verdict.treeSize - 1}) recomputed, the rest proven by the saved tree state`,
      `  root:       ${verdict.rootHash} matches the signed checkpoint`,
      `  decisions:  ${verdict.decisionsVerified} signatures verified against the keys enrolled at the time (${verdict.keysSeen} keys seen)`,
    ];
    if (extra.trustedSize !== undefined) lines.push(`  history:    consistent with the checkpoint verified before (size ${extra.trustedSize})`);
    else lines.push('  history:    no earlier checkpoint to compare with (first verification)');
    return `${lines.join('\n')}\n`;
  }
  const where = verdict.problem.seq === null ? '' : ` at entry ${verdict.problem.seq}`;
  const more = verdict.problems.length > 1 ? `\n  (${verdict.problems.length - 1} more problem${verdict.problems.length > 2 ? 's' : ''} after it)` : '';
  return `FAILED: ledger verification failed${where}\n  first bad: ${verdict.problem.message} [${verdict.problem.code}]${more}\n`;
}

function verdictJson(verdict: LedgerVerdict, origin: string, trustedSize?: number): unknown {
  if (verdict.ok) {
    return { ok: true, origin, treeSize: verdict.treeSize, entriesVerified: verdict.entriesVerified, rootHash: verdict.rootHash, decisionsVerified: verdict.decisionsVerified, trustedSize: trustedSize ?? null };
  }
  return { ok: false, origin, firstBadSeq: verdict.problem.seq, code: verdict.problem.code, reason: verdict.problem.message, problems: verdict.problems };
}

const VerifyFlagsSchema = z.strictObject({
  offline: z.string().min(1).optional(),
  logKey: z.string().min(1).optional(),
  trustedCheckpoint: z.string().min(1).optional(),
  save: z.boolean(),
  incremental: z.boolean().optional(),
});

const ExportFlagsSchema = z.strictObject({ format: z.enum(['bundle', 'jsonl', 'csv']), out: z.string().min(1).optional() });

async function readFlagFile(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new AppError('invalid_input', `${flag}: cannot read ${path}: ${(error as Error).message}`, { fieldErrors: [{ path: flag, message: `cannot read ${path}` }] });
  }
}

/** `ledger verify`, `ledger export`, `ledger trusted-root` on the `ledger` command. */
export function registerLedgerCommands(ledger: Command, ctx: CliContext): void {
  withExamples(
    ledger
      .command('verify')
      .description(
        'recompute the whole ledger: every leaf, the Merkle root against the signed checkpoint, every decision signature against the keys enrolled at the time, and consistency with the last checkpoint this client verified',
      )
      .option('--offline <dir>', 'verify an export directory (from `ledger export`) instead of the store')
      .option('--log-key <file>', 'pin the log public key (PEM) instead of trusting the export / first contact')
      .option('--trusted-checkpoint <file>', 'a checkpoint (signed note) verified before; the ledger must extend it')
      .option('--no-save', 'online: do not record the verified checkpoint in the client state dir')
      .option('--incremental', 'online: verify only the entries added since the checkpoint this client verified last (its saved tree state proves the rest)'),
    'breakglass ledger verify',
    'breakglass ledger verify --incremental',
    'breakglass ledger verify --offline ./breakglass-ledger-export --log-key log-key.pub',
  ).action(async (flags: { offline?: string; logKey?: string; trustedCheckpoint?: string; save: boolean; incremental?: boolean }, cmd: Command) => {
    const opts = validateFlags(VerifyFlagsSchema, flags, 'verify', { offline: '--offline', logKey: '--log-key', trustedCheckpoint: '--trusted-checkpoint', save: '--no-save', incremental: '--incremental' });
    if (opts.incremental && (opts.offline || opts.trustedCheckpoint)) {
      throw new AppError('invalid_input', '--incremental works online from this client\'s saved state; it cannot be combined with --offline or --trusted-checkpoint', {
        fieldErrors: [{ path: '--incremental', message: 'online only, from the saved state' }],
      });
    }
    const pinnedKey = opts.logKey ? await readFlagFile(opts.logKey, '--log-key') : undefined;
    const flagTrusted = opts.trustedCheckpoint ? await readFlagFile(opts.trustedCheckpoint, '--trusted-checkpoint') : undefined;

    if (opts.offline) {
      const dir = resolve(opts.offline);
      const { verdict, origin } = await verifyExportDir(dir, { logKeyPem: pinnedKey, trustedCheckpoint: flagTrusted });
      const trustedSize = flagTrusted ? sizeOf(flagTrusted) : undefined;
      ctx.emit(cmd, verdictJson(verdict, origin, trustedSize), () => renderVerdict(verdict, origin, { trustedSize, source: `offline export ${dir}` }));
      if (!verdict.ok) ctx.exitCode = 1;
      return;
    }

    const globals = ctx.globals(cmd);
    const stateDir = clientStateDir(ctx.env, globals.storeUrl);
    const statePath = join(stateDir, 'checkpoint');
    const keyPinPath = join(stateDir, 'log-key.pub');
    const treeStatePath = join(stateDir, TREE_STATE_FILE);
    let resume: LedgerResumeState | undefined;
    if (opts.incremental) {
      resume = await readTreeState(treeStatePath, await readIfExists(statePath));
      if (!resume) ctx.note('No saved tree state for this store yet: verifying everything this time.');
    }
    const data = await fetchExport(ctx, cmd, resume?.size ?? 0);
    const savedKey = await readIfExists(keyPinPath);
    const trustedKey = pinnedKey ?? savedKey;
    if (trustedKey && trustedKey.trim() !== data.publicKeyPem.trim()) {
      const verdict: LedgerVerdict = {
        ok: false,
        problem: { code: 'bad_checkpoint', seq: null, message: `the store's log key changed since this client last verified it (pinned in ${pinnedKey ? opts.logKey : keyPinPath}): a different log, or a forged one` },
        problems: [],
      };
      verdict.problems.push(verdict.problem);
      ctx.emit(cmd, verdictJson(verdict, data.origin), () => renderVerdict(verdict, data.origin, { source: globals.storeUrl }));
      ctx.exitCode = 1;
      return;
    }
    const trusted = flagTrusted ?? (await readIfExists(statePath));
    let recorded: Uint8Array[] | undefined;
    try {
      recorded = data.leafHashes.map(b64);
    } catch {
      recorded = undefined;
    }
    const { verdict, origin } = await verifyWithKey({
      entries: data.entries,
      checkpoint: data.checkpoint,
      history: data.checkpoints,
      recordedLeafHashes: recorded,
      logKeyPem: trustedKey ?? data.publicKeyPem,
      trustedCheckpoint: trusted,
      resume,
    });
    const trustedSize = trusted ? sizeOf(trusted) : undefined;
    if (verdict.ok && opts.save) {
      // Only after success: a failed run must never move this client's anchor.
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      if (!savedKey) await writeAtomic(keyPinPath, data.publicKeyPem);
      await writeAtomic(treeStatePath, serializeTreeState(verdict.state));
      await writeAtomic(statePath, data.checkpoint);
    }
    const source = resume ? `${globals.storeUrl}, incremental from entry ${resume.size}` : globals.storeUrl;
    ctx.emit(cmd, verdictJson(verdict, origin, trustedSize), () => renderVerdict(verdict, origin, { trustedSize, source }));
    if (!verdict.ok) ctx.exitCode = 1;
  });

  withExamples(
    ledger
      .command('export')
      .description('export the ledger: a self-contained verifiable bundle directory (default), or JSON lines / CSV for auditors')
      .option('--format <format>', 'bundle | jsonl | csv', 'bundle')
      .option('--out <path>', `bundle: directory (default ./${DEFAULT_BUNDLE_DIR}); jsonl/csv: file (default stdout)`)
      .option('--sigstore-bundles', 'bundle: also write decisions/<seq>.sigstore.json, each decision with its tlog entry (for stock Sigstore verifiers)'),
    'breakglass ledger export --out ./audit-2026q1',
    'breakglass ledger export --format csv --out ledger.csv',
    'breakglass ledger export --format jsonl > ledger.jsonl',
  ).action(async (flags: { format: string; out?: string; sigstoreBundles?: boolean }, cmd: Command) => {
    const opts = validateFlags(ExportFlagsSchema, { format: flags.format, out: flags.out }, 'export', { format: '--format', out: '--out' });
    if (opts.format === 'bundle') {
      const dir = resolve(opts.out ?? DEFAULT_BUNDLE_DIR);
      const data = await fetchExport(ctx, cmd);
      await writeExportBundle(dir, data);
      const bundles = flags.sigstoreBundles ? await writeDecisionBundles(ctx, cmd, dir, data.entries) : 0;
      ctx.emit(cmd, { dir, entries: data.entries.length, origin: data.origin, sigstoreBundles: bundles }, () =>
        `Wrote ${data.entries.length} ledger entries and checkpoint of ${data.origin} to ${dir}${bundles ? ` (+ ${bundles} Sigstore bundles in decisions/)` : ''}\nVerify offline: breakglass ledger verify --offline ${dir}\n`,
      );
      return;
    }
    if (flags.sigstoreBundles) throw new AppError('invalid_input', '--sigstore-bundles needs --format bundle', { fieldErrors: [{ path: '--sigstore-bundles', message: 'only with --format bundle' }] });
    const entries = await fetchAllEntries(ctx, cmd);
    const text = opts.format === 'csv' ? toCsv(entries) : toJsonl(entries);
    if (opts.out) {
      await writeFile(opts.out, text);
      ctx.note(`Wrote ${entries.length} ledger entries to ${opts.out}.`);
    } else {
      ctx.io.stdout(text);
    }
  });

  withExamples(
    ledger
      .command('trusted-root')
      .description('print the Sigstore trusted root for this ledger (log key, checkpoint key id, base URL = note key name), for stock @sigstore/verify')
      .option('--public-keys', "print the approver public keys (hint → key, valid from enrollment to revocation) instead"),
    'breakglass ledger trusted-root > trusted_root.json',
    'breakglass ledger trusted-root --public-keys > approver-keys.json',
  ).action(async (flags: { publicKeys?: boolean }, cmd: Command) => {
    const client = ctx.client(cmd);
    const r = await client.get<{ trustedRoot: unknown; publicKeys: unknown }>('/v1/ledger/trusted-root');
    ctx.io.stdout(`${JSON.stringify(flags.publicKeys ? r.publicKeys : r.trustedRoot, null, 2)}\n`);
  });
}

/** Concurrent bundle fetches while exporting (keeps a large export quick without flooding the store). */
const BUNDLE_FETCH_CONCURRENCY = 8;

async function writeDecisionBundles(ctx: CliContext, cmd: Command, dir: string, entries: string[]): Promise<number> {
  const client = ctx.client(cmd);
  const seqs = entries.flatMap((text, seq) => ((JSON.parse(text) as { type?: string }).type === 'decision' ? [seq] : []));
  await mkdir(join(dir, 'decisions'), { recursive: true });
  let next = 0;
  const worker = async () => {
    while (next < seqs.length) {
      const seq = seqs[next++]!;
      const r = await client.get<{ bundle: unknown }>(`/v1/ledger/decisions/${seq}/bundle`);
      await writeFile(join(dir, 'decisions', `${seq}.sigstore.json`), `${JSON.stringify(r.bundle, null, 2)}\n`);
    }
  };
  await Promise.all(Array.from({ length: BUNDLE_FETCH_CONCURRENCY }, worker));
  return seqs.length;
}

/** The client's tree state (frontier + keys at its saved checkpoint) for `verify --incremental`. */
const TREE_STATE_FILE = 'tree-state.json';

function serializeTreeState(state: LedgerResumeState): string {
  return `${JSON.stringify({ size: state.size, frontier: state.frontier.map(toBase64), keys: state.keys })}\n`;
}

/** The saved state, if it belongs to the saved checkpoint (same size); anything else is ignored. */
async function readTreeState(path: string, checkpoint: string | undefined): Promise<LedgerResumeState | undefined> {
  const text = await readIfExists(path);
  if (!text || !checkpoint) return undefined;
  try {
    const raw = JSON.parse(text) as { size: number; frontier: string[]; keys: LedgerResumeState['keys'] };
    if (!Number.isSafeInteger(raw.size) || raw.size !== sizeOf(checkpoint) || !Array.isArray(raw.frontier) || !Array.isArray(raw.keys)) return undefined;
    return { size: raw.size, frontier: raw.frontier.map(b64), keys: raw.keys };
  } catch {
    return undefined;
  }
}

function sizeOf(note: string): number | undefined {
  const line = note.split('\n')[1];
  return line && /^\d+$/.test(line) ? Number(line) : undefined;
}
