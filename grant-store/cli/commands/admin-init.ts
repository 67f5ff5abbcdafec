import type { Command } from 'commander';
import { PrincipalNameSchema } from '../../../shared/domain/common';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { usageError, validateFlags } from '../validate';

/**
 * `admin init`: a new data dir with the commented example policy, the log signing key, the
 * database and the first admin token, which is printed exactly once.
 */
export function registerAdminInit(admin: Command, ctx: CliContext): void {
  withExamples(
    admin
      .command('init')
      .description('create a data dir: example policy, log signing key, database and the first admin token (printed ONCE)')
      .option('--admin <name>', 'principal name of the first admin', 'admin')
      .option('--force', 'on an initialized dir: rewrite the policy and issue a new admin token (never replaces the log key or database)')
      .option('--database-url <url>', 'keep the data in Postgres instead of <data-dir>/breakglass.db (env BREAKGLASS_DATABASE_URL)')
      .option('--origin <name>', "the log's name in every checkpoint, a schema-less URL naming you (e.g. breakglass.example.com/prod); set once. Default: built from --public-url")
      .option('--public-url <url>', "the address clients reach the store at (env BREAKGLASS_PUBLIC_URL; else a non-loopback --store / BREAKGLASS_STORE): names a new log, https://breakglass.example.com/prod -> breakglass.example.com/prod. Without one: <host name>/<key id>"),
    'breakglass admin init --data-dir /var/lib/breakglass --public-url https://breakglass.example.com',
    'breakglass admin init --data-dir /var/lib/breakglass --origin breakglass.example.com/prod',
    'BREAKGLASS_DATA_DIR=./data breakglass admin init --admin root --json',
    'breakglass admin init --data-dir ./data --database-url postgres://breakglass@db.internal:5432/breakglass',
  ).action(async (flags: { admin: string; force?: boolean; databaseUrl?: string; origin?: string; publicUrl?: string }, cmd: Command) => {
    const adminPrincipal = validateFlags(PrincipalNameSchema, flags.admin, 'init', { '': '--admin' });
    const { dataDir, storeUrl, storeSource } = ctx.globals(cmd);
    const databaseUrl = flags.databaseUrl ?? (ctx.env.BREAKGLASS_DATABASE_URL || undefined);
    if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw usageError('admin init', [{ path: '--database-url', message: 'must be a postgres:// URL' }]);
    if (flags.origin !== undefined && flags.publicUrl !== undefined) throw usageError('admin init', [{ path: '--public-url', message: 'give --origin or --public-url, not both (--origin names the log as is)' }]);
    // The store's public address names a new log: asked for, else the store URL this CLI is configured with.
    const envPublicUrl = ctx.env.BREAKGLASS_PUBLIC_URL || undefined;
    const publicUrl =
      flags.publicUrl !== undefined
        ? { url: flags.publicUrl, from: '--public-url', explicit: true }
        : envPublicUrl !== undefined
          ? { url: envPublicUrl, from: 'BREAKGLASS_PUBLIC_URL', explicit: true }
          : storeSource !== 'default'
            ? { url: storeUrl, from: storeSource === 'context' ? 'the context\'s store' : storeSource, explicit: false }
            : undefined;
    const { initDataDir } = await import('../../admin/init');
    const { storeEnv } = await import('../../store-config');
    // On a database other instances serve, the entries it appends are bound as theirs are (BREAKGLASS_ENTRY_BINDINGS, docs/scaling.md).
    const { entryBindings } = storeEnv(ctx.env);
    const result = await initDataDir(dataDir, { adminPrincipal, force: flags.force === true, databaseUrl, origin: flags.origin, publicUrl, entryBindings });
    ctx.emit(cmd, { dataDir, adminPrincipal, ...result }, () =>
      [
        `Initialized ${dataDir}`,
        `  policy:       ${result.policyPath}   (the commented example: edit it for your gates, tiers and teams)`,
        `  log key:      ${result.logKeyPath}   (mode 0600: signs ledger checkpoints; back it up)`,
        `  log origin:   ${result.origin}`,
        '',
        `Admin token for ${adminPrincipal} (shown only this once; the store keeps a hash):`,
        '',
        `  ${result.adminToken}`,
        '',
        'Next steps:',
        `  breakglass serve --data-dir ${dataDir}${databaseUrl ? ` --database-url ${databaseUrl}` : ''}`,
        `  export BREAKGLASS_STORE=${storeUrl} BREAKGLASS_TOKEN=${result.adminToken}`,
        '  breakglass admin token create --principal alice --role requester',
        '  breakglass keygen --out ./bob.pem && breakglass admin approver enroll --principal bob --public-key ./bob.pub.pem',
        '',
      ].join('\n'),
    );
  });
}
