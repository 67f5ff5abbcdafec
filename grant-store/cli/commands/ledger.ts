import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import { ed25519VerifierKeyFromPem } from '../../../shared/node/ledger/node-crypto';
import { ExportBundleWriter } from '../../ledger/export-bundle';
import { FileSink } from '../../../shared/node/text-sink';
import type { CliContext } from '../context';
import type { StoreClient } from '../../../shared/node/http/store-client';
import { IDENTITY_ROUTES } from '../../../shared/http/identity-routes';
import { withExamples } from '../help';
import { collect, usageError, validateFlags } from '../validate';
import { CSV_HEADER, csvRows, forEachEntryPage, toJsonl } from './ledger-export';
import { outcomeJson, renderOutcome, verifyOffline, verifyOnline } from './ledger-verify';
import { checkWitnessQuorum, handBackCosignature, renderWitnessQuorum, trustedWitnessKeys } from './ledger-witnesses';

/** Entries per export page (the store's maximum). */
const EXPORT_PAGE = 5000;
const DEFAULT_BUNDLE_DIR = 'breakglass-ledger-export';


/**
 * Everything the store has for offline verification, pinned to one checkpoint, written into
 * `dir` page by page as it arrives (ExportBundleWriter: in place only once complete). Returns
 * the entry count, the log's origin, and the seqs of the decision entries (for their bundles).
 */
export async function exportBundle(client: StoreClient, dir: string, pageSize = EXPORT_PAGE): Promise<{ entries: number; origin: string; decisions: number[] }> {
  const first = await client.call('ledgerExport', { query: { from: 0, limit: pageSize } });
  const writer = await ExportBundleWriter.open(dir);
  const decisions: number[] = [];
  let entries = 0;
  try {
    let page = first;
    for (;;) {
      for (const [i, text] of page.entries.entries()) if (isDecisionText(text)) decisions.push(entries + i);
      await writer.add(page.entries, page.leafHashes);
      entries += page.entries.length;
      if (page.entries.length === 0 || entries >= first.treeSize) break;
      page = await client.call('ledgerExport', { query: { treeSize: first.treeSize, from: entries, limit: pageSize } });
    }
    await writer.finish({ origin: first.origin, publicKeyPem: first.publicKeyPem, checkpoint: first.checkpoint, checkpoints: first.checkpoints ?? [], trustedRoot: first.trustedRoot, publicKeys: first.publicKeys });
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { entries, origin: first.origin, decisions };
}

/** A decision entry's canonical text ends with its type (the last key in sorted order). */
function isDecisionText(text: string): boolean {
  return text.endsWith(',"type":"decision"}') && (JSON.parse(text) as { type?: string }).type === 'decision';
}

const VerifyFlagsSchema = z.strictObject({
  offline: z.string().min(1).optional(),
  logKey: z.string().min(1).optional(),
  trustedCheckpoint: z.string().min(1).optional(),
  save: z.boolean(),
  incremental: z.boolean().optional(),
  witnesses: z.coerce.number().int().min(1).max(100).optional(),
  witnessKey: z.array(z.string().min(1)).default([]),
  witnessPolicy: z.string().min(1).optional(),
  full: z.boolean().optional(),
});

const ExportFlagsSchema = z.strictObject({ format: z.enum(['bundle', 'jsonl', 'csv']), out: z.string().min(1).optional() });

async function readFlagFile(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new AppError('invalid_input', `${flag}: cannot read ${path}: ${(error as Error).message}`, { fieldErrors: [{ path: flag, message: `cannot read ${path}` }] });
  }
}

/** The role that entitles this token to every entry in full (auditor, admin), if it has one. */
async function fullViewRole(client: StoreClient): Promise<string | undefined> {
  const me = await client.callRoute('whoami', IDENTITY_ROUTES.whoami);
  const role = me.roles.find((r) => r === 'auditor' || r === 'admin');
  return role ? `a token with the ${role} role` : undefined;
}

/** The --full / auditor check: every entry must have been served in full. */
function withheldEntries(redacted: number, requiredBy: string): { redacted: number; reason: string } | undefined {
  if (redacted === 0) return undefined;
  return {
    redacted,
    reason: `the store served ${redacted} entr${redacted === 1 ? 'y' : 'ies'} redacted (leaf hash only) to ${requiredBy}, which must see every entry in full: the ledger verifies, but part of it was withheld`,
  };
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
      .option('--incremental', 'online: verify only the entries added since the checkpoint this client verified last (its saved tree state proves the rest)')
      .option('--witnesses <n>', 'fail unless at least n of the trusted witnesses (--witness-key, --witness-policy) cosigned the verified checkpoint')
      .option('--witness-key <vkey>', 'a witness this client trusts: its C2SP vkey (repeatable)', collect)
      .option('--witness-policy <file>', 'trust the witnesses listed in this policy file\'s witnesses:')
      .option('--full', 'fail if any entry is redacted (served as its leaf hash only); implied online for auditor and admin tokens, who may read every entry'),
    'breakglass ledger verify',
    'breakglass ledger verify --witnesses 2 --witness-policy ./policy.yaml',
    'breakglass ledger verify --incremental',
    'breakglass ledger verify --offline ./breakglass-ledger-export --log-key log-key.pub',
  ).action(async (flags: { offline?: string; logKey?: string; trustedCheckpoint?: string; save: boolean; incremental?: boolean; witnesses?: string; witnessKey?: string[]; witnessPolicy?: string; full?: boolean }, cmd: Command) => {
    const opts = validateFlags(VerifyFlagsSchema, flags, 'verify', { offline: '--offline', logKey: '--log-key', trustedCheckpoint: '--trusted-checkpoint', save: '--no-save', incremental: '--incremental', witnesses: '--witnesses', witnessKey: '--witness-key', witnessPolicy: '--witness-policy', full: '--full' });
    if ((opts.witnessKey.length > 0 || opts.witnessPolicy) && opts.witnesses === undefined) {
      throw usageError('verify', [{ path: '--witnesses', message: 'say how many of the trusted witnesses must have cosigned (--witnesses N)' }]);
    }
    const trustedWitnesses = opts.witnesses !== undefined ? await trustedWitnessKeys(opts.witnessKey, opts.witnessPolicy) : [];
    if (opts.witnesses !== undefined && trustedWitnesses.length < opts.witnesses) {
      throw usageError('verify', [{ path: '--witnesses', message: `${opts.witnesses} required, but ${trustedWitnesses.length} witness key(s) trusted: give them with --witness-key or --witness-policy` }]);
    }
    if (opts.incremental && (opts.offline || opts.trustedCheckpoint)) {
      throw new AppError('invalid_input', '--incremental works online from this client\'s saved state; it cannot be combined with --offline or --trusted-checkpoint', {
        fieldErrors: [{ path: '--incremental', message: 'online only, from the saved state' }],
      });
    }
    const pinnedKeyText = opts.logKey ? await readFlagFile(opts.logKey, '--log-key') : undefined;
    const trustedCheckpoint = opts.trustedCheckpoint ? await readFlagFile(opts.trustedCheckpoint, '--trusted-checkpoint') : undefined;
    // Whether this token must see every entry in full (below), asked while the ledger is verified.
    const fullViewAsked = opts.full || opts.offline ? undefined : fullViewRole(ctx.client(cmd));
    fullViewAsked?.catch((_awaitedBelow: unknown) => undefined);
    const outcome = opts.offline
      ? await verifyOffline(resolve(opts.offline), { pinnedKeyText, trustedCheckpoint })
      : await verifyOnline({
          client: ctx.client(cmd),
          env: ctx.env,
          storeUrl: ctx.globals(cmd).storeUrl,
          pinnedKeyText,
          trustedCheckpoint,
          incremental: opts.incremental === true,
          save: opts.save,
          note: (text: string) => ctx.note(text),
        });
    const handedBack = !opts.offline && outcome.verdict.ok ? await handBackCosignature(ctx.client(cmd), outcome) : null;
    if (handedBack) ctx.note(handedBack);
    const quorum = opts.witnesses !== undefined && outcome.verdict.ok ? await checkWitnessQuorum(outcome, opts.witnesses, trustedWitnesses, opts.offline ? undefined : ctx.client(cmd)) : undefined;
    // A store that serves an auditor or admin redacted entries is hiding part of the ledger from
    // the people who must see all of it: the Merkle checks pass, so only this check can say so.
    const fullRequiredBy = opts.full ? '--full' : await fullViewAsked;
    const withheld = fullRequiredBy && outcome.verdict.ok ? withheldEntries(outcome.verdict.redacted, fullRequiredBy) : undefined;
    const json = outcomeJson(outcome) as Record<string, unknown>;
    const ok = json.ok === true && (!quorum || quorum.ok) && !withheld;
    ctx.emit(
      cmd,
      { ...json, ok, ...(quorum ? { witnesses: quorum } : {}), ...(withheld ? { withheld } : {}) },
      () => renderOutcome(outcome) + (quorum ? renderWitnessQuorum(quorum) : '') + (withheld ? `FAILED: ${withheld.reason}\n` : ''),
    );
    if (!outcome.verdict.ok || outcome.halted || (quorum && !quorum.ok) || withheld) ctx.exitCode = 1;
  });

  withExamples(
    ledger
      .command('export')
      .description('export the ledger: a self-contained verifiable bundle directory (default), or JSON lines / CSV for auditors')
      .option('--format <format>', 'bundle | jsonl | csv', 'bundle')
      .option('--out <path>', `bundle: directory (default ./${DEFAULT_BUNDLE_DIR}); jsonl/csv: file (default stdout)`)
      .option('--sigstore-bundles', 'bundle: also write decisions/<seq>.sigstore.json, each decision with its tlog entry (for stock Sigstore verifiers)')
      .option('--force', 'write into a --out directory that is not empty (replacing an earlier export), or over an existing --out file'),
    'breakglass ledger export --out ./audit-2026q1',
    'breakglass ledger export --format csv --out ledger.csv',
    'breakglass ledger export --format jsonl > ledger.jsonl',
  ).action(async (flags: { format: string; out?: string; sigstoreBundles?: boolean; force?: boolean }, cmd: Command) => {
    const opts = validateFlags(ExportFlagsSchema, { format: flags.format, out: flags.out }, 'export', { format: '--format', out: '--out' });
    if (opts.format === 'bundle') {
      const dir = resolve(opts.out ?? DEFAULT_BUNDLE_DIR);
      // Checked before anything is fetched: an earlier audit bundle is evidence, never overwritten by accident.
      await refuseToOverwrite(dir, 'directory', flags.force === true);
      const data = await exportBundle(ctx.client(cmd), dir);
      // A forced export replaces the earlier one: no stale decision bundle from it may stay next to the new entries.
      if (flags.force) await rm(join(dir, 'decisions'), { recursive: true, force: true });
      const bundles = flags.sigstoreBundles ? await writeDecisionBundles(ctx, cmd, dir, data.decisions) : 0;
      ctx.emit(cmd, { dir, entries: data.entries, origin: data.origin, sigstoreBundles: bundles }, () =>
        `Wrote ${data.entries} ledger entries and checkpoint of ${data.origin} to ${dir}${bundles ? ` (+ ${bundles} Sigstore bundles in decisions/)` : ''}\nVerify offline: breakglass ledger verify --offline ${dir}\n`,
      );
      return;
    }
    if (flags.sigstoreBundles) throw new AppError('invalid_input', '--sigstore-bundles needs --format bundle', { fieldErrors: [{ path: '--sigstore-bundles', message: 'only with --format bundle' }] });
    if (opts.out) await refuseToOverwrite(resolve(opts.out), 'file', flags.force === true);
    // Page by page into the file (in place once complete) or to stdout, never all at once.
    const file = opts.out ? await FileSink.create(resolve(opts.out)) : undefined;
    const write = file
      ? (text: string) => file.write(text)
      : async (text: string) => {
          ctx.io.stdout(text);
          await ctx.io.stdoutReady?.();
        };
    let counts;
    try {
      if (opts.format === 'csv') await write(CSV_HEADER);
      counts = await forEachEntryPage(ctx.client(cmd), (entries) => write(opts.format === 'csv' ? csvRows(entries) : toJsonl(entries)));
      await file?.commit();
    } catch (error) {
      await file?.abort();
      throw error;
    }
    if (opts.out) ctx.note(`Wrote ${counts.entries} ledger entries to ${opts.out}${counts.redacted > 0 ? ` (${counts.redacted} redacted for your role: seq and leaf hash only)` : ''}.`);
  });

  withExamples(
    ledger
      .command('trusted-root')
      .description('print the Sigstore trusted root for this ledger (log key, checkpoint key id, base URL = note key name), for stock @sigstore/verify')
      .option('--public-keys', "print the approver public keys (hint → key, valid from enrollment to revocation) instead")
      .option('--include-vkey', 'add the log\'s C2SP verifier key as "breakglassLogVkey" (stock TrustedRoot parsers ignore it)'),
    'breakglass ledger trusted-root > trusted_root.json',
    'breakglass ledger trusted-root --public-keys > approver-keys.json',
  ).action(async (flags: { publicKeys?: boolean; includeVkey?: boolean }, cmd: Command) => {
    const client = ctx.client(cmd);
    const r = await client.call('trustedRoot');
    if (flags.publicKeys && flags.includeVkey) throw new AppError('invalid_input', '--include-vkey goes with the trusted root, not --public-keys', { fieldErrors: [{ path: '--include-vkey', message: 'not with --public-keys' }] });
    let out: unknown = flags.publicKeys ? r.publicKeys : r.trustedRoot;
    if (flags.includeVkey) out = { ...r.trustedRoot, breakglassLogVkey: await logVkey(client) };
    ctx.io.stdout(`${JSON.stringify(out, null, 2)}\n`);
  });

  withExamples(
    ledger
      .command('vkey')
      .description("print the log's C2SP verifier key (<origin>+<key id>+<base64 key>): what witnesses, Go's sumdb/note and other signed-note verifiers are configured with")
      .option('--offline <dir>', 'read it from an export directory (its checkpoint and log-key.pub) instead of the store'),
    'breakglass ledger vkey',
    'breakglass witness add-log "$(breakglass ledger vkey)"',
  ).action(async (flags: { offline?: string }, cmd: Command) => {
    let vkey: string;
    let origin: string;
    if (flags.offline) {
      const dir = resolve(flags.offline);
      const checkpoint = await readFlagFile(join(dir, 'checkpoint'), '--offline');
      origin = checkpoint.split('\n')[0] ?? '';
      vkey = ed25519VerifierKeyFromPem(origin, await readFlagFile(join(dir, 'log-key.pub'), '--offline'));
    } else {
      const client = ctx.client(cmd);
      const key = await client.call('ledgerPublicKey');
      origin = key.origin;
      vkey = ed25519VerifierKeyFromPem(key.origin, key.publicKeyPem);
    }
    ctx.emit(cmd, { origin, vkey }, () => `${vkey}\n`);
  });
}

/**
 * `ledger export --out` never replaces an earlier export silently: a directory that exists and is
 * not empty (or a file that exists) is refused with exit 2 unless --force, and nothing is fetched.
 */
async function refuseToOverwrite(path: string, kind: 'directory' | 'file', force: boolean): Promise<void> {
  if (force) return;
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (kind === 'directory') {
    if (!info.isDirectory()) throw usageError('export', [{ path: '--out', message: `${path} exists and is not a directory` }]);
    const present = await readdir(path);
    if (present.length === 0) return;
    throw usageError('export', [{ path: '--out', message: `${path} is not empty (${present.length} entr${present.length === 1 ? 'y' : 'ies'}, e.g. ${present.slice(0, 3).join(', ')}): choose a new directory, or pass --force to replace an earlier export there` }]);
  }
  throw usageError('export', [{ path: '--out', message: `${path} already exists: choose a new file, or pass --force to overwrite it` }]);
}

/** Concurrent bundle fetches while exporting (keeps a large export quick without flooding the store). */
const BUNDLE_FETCH_CONCURRENCY = 8;

async function writeDecisionBundles(ctx: CliContext, cmd: Command, dir: string, seqs: readonly number[]): Promise<number> {
  const client = ctx.client(cmd);
  await mkdir(join(dir, 'decisions'), { recursive: true });
  let next = 0;
  const worker = async () => {
    while (next < seqs.length) {
      const seq = seqs[next++]!;
      const r = await client.call('decisionBundle', { params: { seq } });
      await writeFile(join(dir, 'decisions', `${seq}.sigstore.json`), `${JSON.stringify(r.bundle, null, 2)}\n`);
    }
  };
  await Promise.all(Array.from({ length: BUNDLE_FETCH_CONCURRENCY }, worker));
  return seqs.length;
}

async function logVkey(client: StoreClient): Promise<string> {
  const key = await client.call('ledgerPublicKey');
  return ed25519VerifierKeyFromPem(key.origin, key.publicKeyPem);
}
