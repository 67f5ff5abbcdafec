import { open, rm, type FileHandle } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  EmergencyAdminActionSchema,
  EmergencyCredentialIdSchema,
  EmergencyOpenInputSchema,
  SealInputSchema,
  type EmergencyOpenResult,
  type SealResult,
} from '../../../shared/domain/emergency';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { formatScope, formatTable } from '../output';
import { collect, parseScopeFlag, usageError, validateFlags, withFlagNames } from '../validate';

const SEAL_FLAGS = { gate: '--gate', scope: '--scope', holders: '--holders', label: '--label' };
const OPEN_FLAGS = { credential: '--credential', reason: '--reason', incidentRef: '--incident', severity: '--severity' };

/** `alice,bob` (the flag may be repeated). */
function holdersFlag(parts: string[]): string[] {
  return parts.flatMap((p) => p.split(',')).map((h) => h.trim()).filter((h) => h.length > 0);
}

function credentialId(id: string): string {
  return validateFlags(EmergencyCredentialIdSchema, id, 'credential id', { '': 'ID' });
}

/**
 * The sheet's file, created (empty, mode 0600) before anything is sealed: a path that exists or
 * cannot be written is refused while no secret exists yet, never after the store made one.
 */
async function openSheet(path: string | undefined): Promise<FileHandle | undefined> {
  if (!path) return undefined;
  try {
    return await open(path, 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw usageError('sheet', [{ path: '--sheet', message: code === 'EEXIST' ? `${path} exists: the sheet holds a secret, so it is never overwritten (pick a new file)` : `cannot write ${path}: ${code ?? (error as Error).message}` }]);
  }
}

/** Seal (or re-seal) with the sheet file already open; the empty file is removed when the store refuses. */
async function sealWithSheet(path: string | undefined, storeUrl: string, seal: () => Promise<SealResult>): Promise<SealResult> {
  const file = await openSheet(path);
  let sealed: SealResult;
  try {
    sealed = await seal();
  } catch (error) {
    await file?.close();
    if (path) await rm(path, { force: true });
    throw error;
  }
  if (file) {
    try {
      const { renderCredentialSheet } = await import('../../emergency/credential-sheet');
      await file.writeFile(await renderCredentialSheet({ credential: sealed.credential, secret: sealed.secret, ttl: sealed.ttl, storeUrl }));
    } finally {
      await file.close();
    }
  }
  return sealed;
}

function describeSealed(sealed: SealResult, sheet: string | undefined): string {
  const c = sealed.credential;
  return [
    `Sealed emergency credential ${c.id}${c.replaces ? ` (replaces ${c.replaces})` : ''}: gate ${c.gate}, scope ${formatScope(c.scope)}, holders ${c.holders.join(', ')}.`,
    `A use opens the bypass at once for ${sealed.ttl}, pages everyone and opens a review needing sign-offs from outside the user's team.`,
    '',
    `  ${sealed.secret}`,
    '',
    sheet ? `Printable sheet with QR code: ${sheet} (print it, seal it in the safe, then delete the file).` : 'Shown only this once (the store keeps a hash). Print it with --sheet FILE.html next time, or re-seal.',
    '',
  ].join('\n');
}

/** `admin emergency seal|reseal|retire|list`: sealed emergency credentials (admin token). */
export function registerAdminEmergency(admin: Command, ctx: CliContext): void {
  const emergency = withExamples(
    admin.command('emergency').description('sealed emergency credentials: one-use, alarm-raising bypasses for when nobody can approve'),
    'breakglass admin emergency seal --gate container-signing --scope repo=payments-api --holders alice,bob --sheet safe.html',
    'breakglass admin emergency list',
  );

  withExamples(
    emergency
      .command('seal')
      .description('seal a one-use credential for a gate and scope; prints the secret ONCE (and a printable sheet with --sheet)')
      .requiredOption('--gate <id>', 'the gate it opens (never a gate marked bypass: never)')
      .requiredOption('--scope <key=value,...>', 'the disaster scope it covers (repeatable)', collect)
      .requiredOption('--holders <names>', 'who may use it, comma-separated (each with their own token)', collect)
      .option('--label <text>', 'a note, e.g. "DR runbook, envelope 3"')
      .option('--sheet <file.html>', 'also write a printable sheet with the secret and a QR code (never overwrites)'),
    'breakglass admin emergency seal --gate container-signing --scope repo=payments-api --holders alice,bob --sheet safe.html',
  ).action(async (flags: { gate: string; scope: string[]; holders: string[]; label?: string; sheet?: string }, cmd: Command) => {
    const body = validateFlags(SealInputSchema, { gate: flags.gate, scope: parseScopeFlag(flags.scope, '--scope'), holders: holdersFlag(flags.holders), label: flags.label }, 'seal', SEAL_FLAGS);
    const client = ctx.client(cmd);
    const sealed = await sealWithSheet(flags.sheet, ctx.globals(cmd).storeUrl, async () => {
      try {
        return await client.call('sealCredential', { body });
      } catch (error) {
        throw withFlagNames(error, SEAL_FLAGS);
      }
    });
    ctx.emit(cmd, { ...sealed, sheet: flags.sheet ?? null }, () => describeSealed(sealed, flags.sheet));
  });

  withExamples(
    emergency
      .command('reseal')
      .description('a fresh secret for the same gate, scope and holders (after a use, or when a sheet may have been seen); the old one is retired')
      .argument('<id>', 'credential id (emc_…)')
      .requiredOption('--reason <text>', 'why (recorded in the ledger)')
      .option('--sheet <file.html>', 'write the new printable sheet'),
    'breakglass admin emergency reseal emc_0123456789abcdef0123456789 --reason "Used in INC-2048; new envelope for the safe" --sheet safe.html',
  ).action(async (id: string, flags: { reason: string; sheet?: string }, cmd: Command) => {
    const credential = credentialId(id);
    const body = validateFlags(EmergencyAdminActionSchema, { reason: flags.reason }, 're-seal', { reason: '--reason' });
    const client = ctx.client(cmd);
    const sealed = await sealWithSheet(flags.sheet, ctx.globals(cmd).storeUrl, () => client.call('resealCredential', { params: { id: credential }, body }));
    ctx.emit(cmd, { ...sealed, sheet: flags.sheet ?? null }, () => describeSealed(sealed, flags.sheet));
  });

  withExamples(
    emergency.command('retire').description('retire a sealed credential (it can no longer be used)').argument('<id>', 'credential id (emc_…)').requiredOption('--reason <text>', 'why (recorded in the ledger)'),
    'breakglass admin emergency retire emc_0123456789abcdef0123456789 --reason "Holder left the team"',
  ).action(async (id: string, flags: { reason: string }, cmd: Command) => {
    const credential = credentialId(id);
    const body = validateFlags(EmergencyAdminActionSchema, { reason: flags.reason }, 'retire', { reason: '--reason' });
    const result = await ctx.client(cmd).call('retireCredential', { params: { id: credential }, body });
    ctx.emit(cmd, result, () => `Retired ${result.credential.id} (gate ${result.credential.gate}).\n`);
  });

  withExamples(emergency.command('list').description('every credential and its state (never a secret)'), 'breakglass admin emergency list --json').action(async (_flags: unknown, cmd: Command) => {
    const result = await ctx.client(cmd).call('listCredentials');
    ctx.emit(cmd, result, () =>
      formatTable(
        ['ID', 'STATE', 'GATE', 'SCOPE', 'HOLDERS', 'SEALED', 'USED'],
        result.credentials.map((c) => [c.id, c.state, c.gate, formatScope(c.scope), c.holders.join(','), c.sealedAt, c.usedAt ? `${c.usedAt} by ${c.usedBy ?? '?'}` : '-']),
        'no emergency credentials',
      ),
    );
  });
}

/** `emergency open`: a holder uses a sealed credential (their own token + the secret). */
export function registerEmergency(program: Command, ctx: CliContext): void {
  const emergency = withExamples(
    program.command('emergency').description('break glass with a sealed emergency credential when nobody can approve (pages everyone)'),
    'breakglass emergency open --credential bgem-... --reason "Region down, DR runbook step 4" --incident INC-2048',
  );
  withExamples(
    emergency
      .command('open')
      .description('use a sealed credential: the bypass opens at once for the tier\'s shortest TTL, everyone is paged, a two-person review opens, the credential burns')
      .requiredOption('--credential <secret>', 'the secret from the sheet (bgem-…; a typo is caught before anything is sent)')
      .requiredOption('--reason <text>', 'why (at least 20 characters)')
      .requiredOption('--incident <ref>', 'the incident, e.g. INC-2048')
      .option('--severity <sev>', 'sev1 | sev2 | sev3 | sev4', 'sev1'),
    'breakglass emergency open --credential bgem-... --reason "Region eu-west down, the signer with it; DR runbook step 4" --incident INC-2048',
  ).action(async (flags: { credential: string; reason: string; incident: string; severity: string }, cmd: Command) => {
    const input = validateFlags(EmergencyOpenInputSchema, { credential: flags.credential, reason: flags.reason, incidentRef: flags.incident, severity: flags.severity }, 'emergency use', OPEN_FLAGS);
    // The checksum catches a mistyped secret here, before a refused use is recorded and alarms.
    const { parseCredential } = await import('../../emergency/credential-code');
    try {
      parseCredential(input.credential, '--credential');
    } catch (error) {
      throw withFlagNames(error, OPEN_FLAGS);
    }
    let result: EmergencyOpenResult;
    try {
      result = await ctx.client(cmd).call('openEmergency', { body: input });
    } catch (error) {
      throw withFlagNames(error, OPEN_FLAGS);
    }
    const r = result.request;
    ctx.emit(cmd, result, () =>
      [
        `EMERGENCY BYPASS ACTIVE: ${r.id} on gate ${r.gate} for ${formatScope(r.scope)}, until ${r.expiresAt ?? '?'} (${r.approvedTtl ?? r.ttl}).`,
        `Credential ${result.credentialId} is now burned. Paged: ${result.paged.join(', ') || 'nobody'}; critical alert to ${result.webhooks} webhook(s).`,
        `Review ${result.reviewId} is open: it needs sign-offs from outside your team.`,
        '',
      ].join('\n'),
    );
  });
}
