import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import type { DevicePrompt } from '../../../shared/node/oidc/device-flow';
import type { SignInMethod } from '../../../shared/node/oidc/sign-in-manager';
import type { CliContext } from '../context';
import { DEFAULT_TIMEOUT_MS } from '../context';
import { withExamples } from '../help';
import { usageError } from '../validate';

interface LoginFlags {
  device?: boolean;
  browser?: boolean;
  open?: boolean;
}

/** No display to open a browser on: an SSH session, or Linux without X11/Wayland. */
export function isHeadless(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): boolean {
  if (env.SSH_CONNECTION || env.SSH_TTY) return true;
  return platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY;
}

/** The system's URL opener: $BROWSER when set, else open / start / xdg-open. Failures are only reported: the URL is printed anyway. */
function openSystemBrowser(url: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const [command, args] = env.BROWSER
    ? [env.BROWSER, [url]]
    : process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : ['xdg-open', [url]];
  return new Promise((resolve) => {
    try {
      const child = spawn(command, args, { stdio: 'ignore', detached: true, env });
      child.once('error', (error) => resolve(`${command}: ${error.message}`));
      child.once('spawn', () => {
        child.unref();
        resolve(undefined);
      });
    } catch (error) {
      resolve(`${command}: ${(error as Error).message}`);
    }
  });
}

/** `login`: sign in through the organisation's IdP (device grant or browser + PKCE) and keep the store session. */
export function registerLogin(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('login')
      .description("sign in through your organisation's identity provider; the store session is kept in the OS keychain (or a 0600 file) and renewed")
      .option('--device', 'device authorization grant: enter a code on another device (default where no browser can open)')
      .option('--browser', 'system browser with PKCE and a loopback redirect (default on a desktop)')
      .option('--no-open', 'print the sign-in URL instead of opening a browser'),
    'breakglass login',
    'breakglass login --device            # over SSH, in a container',
    'breakglass --use-context prod login',
  ).action(async (flags: LoginFlags, cmd: Command) => {
    if (flags.device && flags.browser) throw usageError('login', [{ path: '--device', message: 'pick one of --device and --browser' }]);
    const g = ctx.globals(cmd);
    const method: SignInMethod = flags.device ? 'device' : flags.browser ? 'browser' : 'auto';
    const { vaultForSaving, signInManager, vaultWords } = await import('../sign-in');
    const vault = await vaultForSaving(ctx.env);
    const manager = signInManager(g.storeUrl, vault, g.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signedIn = await manager.login(
      method,
      {
        onDevicePrompt(prompt: DevicePrompt) {
          const minutes = Math.max(1, Math.round((prompt.expiresAt.getTime() - Date.now()) / 60_000));
          ctx.note(`To sign in to ${g.storeUrl}, open ${prompt.verificationUri} and enter the code ${prompt.userCode} (valid ${minutes} min).`);
          if (prompt.verificationUriComplete) ctx.note(`Or open: ${prompt.verificationUriComplete}`);
          ctx.note('Waiting for you to approve…');
        },
        async openBrowser(url: string) {
          ctx.note(`Sign in to ${g.storeUrl} in your browser: ${url}`);
          if (flags.open === false) return;
          const problem = await openSystemBrowser(url, ctx.env);
          if (problem) ctx.note(`Could not open a browser (${problem}): open the URL above yourself.`);
        },
      },
      { headless: isHeadless(ctx.env) },
    );
    const info = signedIn.info;
    ctx.emit(cmd, { store: g.storeUrl, method: signedIn.method, session: info, storedIn: { kind: vault.kind, where: vault.where }, refreshable: Boolean(signedIn.idp.refreshToken) }, () =>
      [
        `Signed in to ${g.storeUrl} as ${info.principal} (${signedIn.method === 'device' ? 'device code' : 'browser'}).`,
        `  team:      ${info.team ?? '-'}`,
        `  roles:     ${info.roles.join(', ')}`,
        `  approves:  ${info.approverGroups.length > 0 ? info.approverGroups.join(', ') : '-'}`,
        `  session:   until ${info.expiresAt}${signedIn.idp.refreshToken ? ', renewed from the identity provider while you keep using it' : '; no refresh token: run breakglass login again then'}`,
        `  kept:      ${vaultWords(vault)}`,
        '',
      ].join('\n'),
    );
  });
}

/** `logout`: end the store session, revoke the IdP refresh token, forget both. */
export function registerLogout(program: Command, ctx: CliContext): void {
  withExamples(program.command('logout').description('sign out: end the store session, revoke the refresh token at the identity provider, forget the saved sign-in'), 'breakglass logout').action(
    async (_flags: unknown, cmd: Command) => {
      const g = ctx.globals(cmd);
      const { vaultHolding, signInManager } = await import('../sign-in');
      const vault = await vaultHolding(ctx.env, g.storeUrl);
      const result = vault ? await signInManager(g.storeUrl, vault, g.timeoutMs ?? DEFAULT_TIMEOUT_MS).logout() : { principal: null, storeEnded: false, idpRevoked: false, removed: false };
      ctx.emit(cmd, { store: g.storeUrl, ...result, ...(vault ? { storedIn: { kind: vault.kind, where: vault.where } } : {}) }, () => {
        if (!result.principal) return `Not signed in to ${g.storeUrl}; nothing to do.\n`;
        return [
          `Signed out of ${g.storeUrl} (${result.principal}).`,
          `  store session: ${result.storeEnded ? 'ended' : `NOT ended (${result.storeProblem ?? 'no answer'}); it lapses at its expiry`}`,
          `  identity provider: ${result.idpRevoked ? 'refresh token revoked' : `refresh token not revoked (${'idpProblem' in result && result.idpProblem ? result.idpProblem : 'no answer'})`}`,
          `  saved sign-in: ${result.removed ? `removed from ${vault!.where}` : 'none found'}`,
          '',
        ].join('\n');
      });
      if (result.principal && !result.storeEnded) ctx.exitCode = 1;
    },
  );
}
