import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeKeyPairFiles } from '../../../shared/node/signing/key-files';
import type { CliContext } from '../context';
import { withExamples } from '../help';

/** ~/.config/breakglass/ (or $XDG_CONFIG_HOME/breakglass/): outside any repository. */
function defaultKeyDir(env: NodeJS.ProcessEnv): string {
  return `${join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'breakglass')}/`;
}

export function registerKeygen(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('keygen')
      .description('create a software ECDSA P-256 signing key pair for scripted approvals (private key 0600; never overwrites)')
      .option('--out <path>', 'private key file (the public key goes next to it as <name>.pub.pem), or a directory ending in /', undefined),
    'breakglass keygen --out ./bob.pem      # writes bob.pem and bob.pub.pem',
    'breakglass admin approver enroll --principal bob --public-key ./bob.pub.pem',
  ).action(async (flags: { out?: string }, cmd: Command) => {
    const written = await writeKeyPairFiles(flags.out ?? defaultKeyDir(ctx.env));
    ctx.emit(cmd, written, () =>
      [
        `Private key: ${written.privateKeyPath} (mode 0600: keep it secret)`,
        `Public key:  ${written.publicKeyPath}`,
        `Key id:      ${written.keyId}`,
        'Next: an admin enrolls the public key:',
        `  breakglass admin approver enroll --principal YOU --public-key ${written.publicKeyPath}`,
        '',
      ].join('\n'),
    );
  });
}
