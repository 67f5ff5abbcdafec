import type { Command } from 'commander';
import { keyHardwareLabel } from '../../../shared/domain/identity';
import type { CliContext } from '../context';
import { withExamples } from '../help';

/** `whoami`: which principal the token is, its roles, team, approver groups and enrolled keys. */
export function registerWhoami(program: Command, ctx: CliContext): void {
  withExamples(
    program.command('whoami').description('show who your token belongs to: roles, team, approver groups and enrolled signing keys'),
    'breakglass whoami',
    'BREAKGLASS_TOKEN=bgt_... breakglass whoami --json',
  ).action(async (_flags: unknown, cmd: Command) => {
    const { storeUrl } = ctx.globals(cmd);
    const me = await ctx.client(cmd).call('whoami');
    ctx.emit(cmd, me, () =>
      [
        `${me.principal} on ${storeUrl}`,
        `  roles:     ${me.roles.join(', ')}`,
        `  team:      ${me.team ?? '-'}`,
        `  approves:  ${me.approverGroups.length > 0 ? me.approverGroups.join(', ') : '-'}`,
        `  keys:      ${me.keys.length > 0 ? me.keys.map((k) => `${k.keyId.slice(0, 16)}…${k.hardwareBacked ? ` [${keyHardwareLabel(k)}]` : ''}${k.revokedAt ? ' (revoked)' : ''}`).join(', ') : '-'}`,
        '',
      ].join('\n'),
    );
  });
}
