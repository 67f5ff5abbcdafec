import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { PrincipalNameSchema } from '../../../shared/domain/common';
import { KeyEnrollInputSchema, TokenCreateInputSchema, attestationPolicyText, keyHardwareLabel, type EnrolledKey, type TokenCreatedSchema } from '../../../shared/domain/identity';
import type { z } from 'zod';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { formatTable } from '../output';
import { collect, usageError, validateFlags, withFlagNames } from '../validate';

type TokenCreated = z.infer<typeof TokenCreatedSchema>;

/**
 * `admin token|approver|policy`: identity and policy administration over the HTTP API (needs an
 * admin token). `admin init` and `admin migrate` work on the data directory instead (admin-local.ts).
 */
export function registerAdmin(program: Command, ctx: CliContext): Command {
  const admin = withExamples(
    program.command('admin').description('administer a grant store: data dir, tokens, approver keys, policy'),
    'breakglass admin init --data-dir /var/lib/breakglass',
    'breakglass admin token create --principal alice --role requester',
    'breakglass admin approver enroll --principal bob --public-key bob.pub.pem',
  );

  const token = withExamples(admin.command('token').description('bearer tokens: one per principal, shown once, stored as a hash'), 'breakglass admin token list');

  withExamples(
    token
      .command('create')
      .description('create a token for a principal and print it ONCE')
      .requiredOption('--principal <name>', 'who the token belongs to (never a shared account)')
      .requiredOption('--role <role>', 'requester | approver | gate | admin | auditor (repeatable)', collect)
      .option('--expires-in-days <n>', 'lifetime in days (default: until revoked)'),
    'breakglass admin token create --principal alice --role requester',
    'breakglass admin token create --principal bob --role approver --role auditor --expires-in-days 90',
    'breakglass admin token create --principal ci-deploy --role gate',
  ).action(async (flags: { principal: string; role: string[]; expiresInDays?: string }, cmd: Command) => {
    const flagNames = { principal: '--principal', roles: '--role', expiresInDays: '--expires-in-days' };
    const days = flags.expiresInDays === undefined ? undefined : Number(flags.expiresInDays);
    if (days !== undefined && !Number.isInteger(days)) throw usageError('token', [{ path: '--expires-in-days', message: `"${flags.expiresInDays}" is not a whole number of days` }]);
    const body = validateFlags(TokenCreateInputSchema, { principal: flags.principal, roles: flags.role, expiresInDays: days }, 'token', flagNames);
    let created: TokenCreated;
    try {
      created = await ctx.client(cmd).call('createToken', { body });
    } catch (error) {
      throw withFlagNames(error, flagNames);
    }
    ctx.emit(cmd, created, () =>
      [
        `Token for ${created.info.principal} (${created.info.roles.join(', ')}), id ${created.info.id}${created.info.expiresAt ? `, expires ${created.info.expiresAt}` : ''}:`,
        '',
        `  ${created.token}`,
        '',
        'It is shown only this once (the store keeps a hash). Hand it over privately; the holder sets:',
        `  export BREAKGLASS_TOKEN=${created.token}`,
        '',
      ].join('\n'),
    );
  });

  withExamples(token.command('list').description('list tokens (never their secrets)'), 'breakglass admin token list --json').action(async (_flags: unknown, cmd: Command) => {
    const result = await ctx.client(cmd).call('listTokens');
    ctx.emit(cmd, result, () =>
      formatTable(
        ['ID', 'PRINCIPAL', 'ROLES', 'CREATED', 'EXPIRES', 'REVOKED'],
        result.tokens.map((t) => [t.id, t.principal, t.roles.join(','), t.createdAt, t.expiresAt ?? '-', t.revokedAt ?? '-']),
        'no tokens',
      ),
    );
  });

  withExamples(token.command('revoke').description('revoke a token at once').argument('<id>', 'token id (from `admin token list`)'), 'breakglass admin token revoke tok_0123456789abcdef').action(
    async (id: string, _flags: unknown, cmd: Command) => {
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw usageError('token id', [{ path: 'ID', message: `"${id}" is not a token id (see \`breakglass admin token list\`)` }]);
      const result = await ctx.client(cmd).call('revokeToken', { params: { id } });
      ctx.emit(cmd, result, () => `Revoked token ${result.token.id} of ${result.token.principal}.\n`);
    },
  );

  const approver = withExamples(admin.command('approver').description("approvers' public signing keys"), 'breakglass admin approver list --principal bob');

  withExamples(
    approver
      .command('enroll')
      .description("enroll an approver's public key (SPKI PEM); decisions must be signed by an enrolled, unrevoked key")
      .requiredOption('--principal <name>', 'the approver')
      .requiredOption('--public-key <file>', 'PEM public key file (from `breakglass keygen` or the console)')
      .option('--hardware', 'the key lives on a PKCS#11 token (recorded as claimed: enough for hardwareKeyRequired, not for attestationRequired)')
      .option('--attestation <files...>', "the token's PIV attestation: the key's attestation certificate, then the device's (slot f9) (PEM files; verified against the policy's attestation roots)")
      .option('--tpm-attestation <file>', "the TPM certification of the key (JSON, from `breakglass keygen --tpm`): with --ek, the answered challenge, verified against the policy's tpm-ek roots (the TPM's endorsement key); else against its tpm roots (an attestation CA)")
      .option('--label <text>', 'a note, e.g. "YubiKey 5C, serial 1234"'),
    'breakglass admin approver enroll --principal bob --public-key bob.pub.pem',
    'breakglass admin approver enroll --principal carol --public-key carol-9c.pub.pem --attestation carol-9c-attest.pem carol-f9.pem --label "YubiKey 5C"',
    'breakglass admin approver enroll --principal dave --public-key dave.pub.pem --tpm-attestation dave.tpm-attestation.json',
  ).action(async (flags: { principal: string; publicKey: string; hardware?: boolean; attestation?: string[]; tpmAttestation?: string; label?: string }, cmd: Command) => {
    const principal = validateFlags(PrincipalNameSchema, flags.principal, 'enrollment', { '': '--principal' });
    let pem: string;
    try {
      pem = await readFile(flags.publicKey, 'utf8');
    } catch (error) {
      throw usageError('enrollment', [{ path: '--public-key', message: `cannot read ${flags.publicKey}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
    }
    const certificates: string[] = [];
    for (const file of flags.attestation ?? []) {
      try {
        certificates.push(await readFile(file, 'utf8'));
      } catch (error) {
        throw usageError('enrollment', [{ path: '--attestation', message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
      }
    }
    if (certificates.length > 0 && flags.tpmAttestation) throw usageError('enrollment', [{ path: '--tpm-attestation', message: 'give either --attestation (PIV) or --tpm-attestation, not both' }]);
    let tpmAttestation: unknown;
    if (flags.tpmAttestation) {
      try {
        tpmAttestation = JSON.parse(await readFile(flags.tpmAttestation, 'utf8'));
      } catch (error) {
        throw usageError('enrollment', [{ path: '--tpm-attestation', message: `cannot read ${flags.tpmAttestation} as JSON: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
      }
    }
    const flagNames = { publicKeyPem: '--public-key', hardwareBacked: '--hardware', label: '--label', attestation: flags.tpmAttestation ? '--tpm-attestation' : '--attestation' };
    const attestation = certificates.length > 0 ? { kind: 'piv' as const, certificates } : tpmAttestation;
    const body = validateFlags(KeyEnrollInputSchema, { publicKeyPem: pem, hardwareBacked: flags.hardware === true || attestation !== undefined, label: flags.label, ...(attestation ? { attestation } : {}) }, 'enrollment', flagNames);
    let key: EnrolledKey;
    try {
      key = await ctx.client(cmd).call('enrollKey', { params: { principal }, body });
    } catch (error) {
      throw withFlagNames(error, flagNames);
    }
    ctx.emit(cmd, key, () => `Enrolled key ${key.keyId} for ${key.principal} (${hardwareText(key)}).\n`);
  });

  withExamples(
    approver.command('list').description("an approver's enrolled keys").requiredOption('--principal <name>', 'the approver'),
    'breakglass admin approver list --principal bob',
  ).action(async (flags: { principal: string }, cmd: Command) => {
    const principal = validateFlags(PrincipalNameSchema, flags.principal, 'approver', { '': '--principal' });
    const result = await ctx.client(cmd).call('listKeys', { params: { principal } });
    ctx.emit(cmd, result, () =>
      formatTable(
        ['KEY ID', 'HARDWARE', 'LABEL', 'ENROLLED', 'REVOKED'],
        result.keys.map((k) => [k.keyId, hardwareText(k), k.label ?? '-', k.enrolledAt, k.revokedAt ?? '-']),
        `no keys enrolled for ${principal}`,
      ),
    );
  });

  withExamples(
    approver
      .command('revoke-key')
      .description('revoke an approver key: decisions signed with it are refused from now on')
      .requiredOption('--principal <name>', 'the approver')
      .requiredOption('--key-id <id>', 'key id (hex SHA-256 of the public key, see `admin approver list`)'),
    'breakglass admin approver revoke-key --principal bob --key-id 3f2a...',
  ).action(async (flags: { principal: string; keyId: string }, cmd: Command) => {
    const principal = validateFlags(PrincipalNameSchema, flags.principal, 'approver', { '': '--principal' });
    if (!/^[0-9a-f]{64}$/.test(flags.keyId)) throw usageError('key id', [{ path: '--key-id', message: 'must be the 64 hex characters shown by `breakglass admin approver list`' }]);
    const key = await ctx.client(cmd).call('revokeKey', { params: { principal, keyId: flags.keyId } });
    ctx.emit(cmd, key, () => `Revoked key ${key.keyId} of ${key.principal} at ${key.revokedAt ?? '?'}.\n`);
  });

  const policy = withExamples(admin.command('policy').description('the policy file'), 'breakglass admin policy reload');
  withExamples(
    policy.command('reload').description("re-read the store's policy file; a broken file is refused with file, line and field, and the store keeps its last good policy"),
    'breakglass admin policy reload',
  ).action(async (_flags: unknown, cmd: Command) => {
    const result = await ctx.client(cmd).call('reloadPolicy', { body: {} });
    ctx.emit(cmd, result, () => `Policy reloaded: ${result.hash} at ${result.loadedAt}.\n`);
  });

  return admin;
}

/** attested (piv, serial 12345678): PIN once, touch always | claimed, not attested (hardware by the admin's word) | software. */
function hardwareText(key: EnrolledKey): string {
  const label = keyHardwareLabel(key);
  const ek = key.attestation?.ek;
  if (key.attestation && ek) return `${label}: ${attestationPolicyText(key.attestation)}; endorsement key certificate ${ek.serial} from ${ek.issuer}${ek.model ? ` (TPM ${[ek.manufacturer, ek.model, ek.version].filter(Boolean).join(' ')})` : ''}`;
  if (key.attestation) return `${label}: ${attestationPolicyText(key.attestation)}`;
  return key.hardwareBacked ? `${label} (hardware by the admin's word)` : label;
}
