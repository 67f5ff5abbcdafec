import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { PrincipalNameSchema } from '../../../shared/domain/common';
import { TPM_CERTIFY_MAX_AGE_MS, TPM_CHALLENGE_TTL_MS, type TpmChallenge, type TpmChallengeInput } from '../../../shared/domain/identity';
import { AppError } from '../../../shared/errors';
import { writeKeyPairFiles } from '../../../shared/node/signing/key-files';
import { missingSoftwareTpmCommands } from '../../../shared/node/tpm/software-tpm';
import { createAttestedTpmKey, createEkAttestedTpmKey } from '../../../shared/node/tpm/tpm-enrollment';
import { EK_CERT_NV_INDEX, EK_RSA_PERSISTENT_HANDLE } from '../../../shared/tpm/tpm-credential';
import { DEFAULT_TPM_TCTI, defaultTpmTcti } from '../../../shared/node/tpm/tpm-probe';
import { handleText, writeTpmKeyFiles, type TpmKeyFiles } from '../../../shared/node/tpm/tpm-keys';
import type { CliContext } from '../context';
import { withExamples } from '../help';
import { usageError } from '../validate';

/** ~/.config/breakglass/ (or $XDG_CONFIG_HOME/breakglass/): outside any repository. */
function defaultKeyDir(env: NodeJS.ProcessEnv): string {
  return `${join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'breakglass')}/`;
}

/** The usual persistent handle of the owner hierarchy's storage root key (TCG provisioning guidance). */
const DEFAULT_TPM_PARENT = '0x81000001';

interface KeygenFlags {
  out?: string;
  tpm?: boolean;
  tcti?: string;
  parent?: string;
  handle?: string;
  ak?: string;
  akCert?: string[];
  ek?: boolean;
  ekHandle?: string;
  ekChain?: string[];
  ekNv?: string;
  principal?: string;
}

const HANDLE = /^0x81[0-9a-f]{6}$/i;

export function registerKeygen(program: Command, ctx: CliContext): void {
  withExamples(
    program
      .command('keygen')
      .description('create an ECDSA P-256 signing key pair for scripted approvals (software: private key 0600; --tpm: the key is made in the TPM and certified for enrollment); never overwrites')
      .option('--out <path>', 'private key file (the public key goes next to it as <name>.pub.pem), or a directory ending in /', undefined)
      .option('--tpm', 'make the key in a TPM 2.0 and certify it with an attestation key (writes <out>.tpm.json, <out>.pub.pem, <out>.tpm-attestation.json)')
      .option('--tcti <conf>', `--tpm: how tpm2-tools reach the TPM (default: $TPM2TOOLS_TCTI or ${DEFAULT_TPM_TCTI})`)
      .option('--parent <handle>', `--tpm: persistent handle of the storage parent (default ${DEFAULT_TPM_PARENT})`)
      .option('--handle <handle>', '--tpm: free persistent handle for the new key, 0x81xxxxxx')
      .option('--ak <handle>', '--tpm: persistent handle of the attestation key')
      .option('--ak-cert <files...>', "--tpm: the attestation key's certificate (PEM) and any intermediates, as your attestation CA issued them")
      .option('--ek', "--tpm: anchor the attestation in the TPM's endorsement key (EK certificate from NV 0x01c00002, credential activation with the store at --store) instead of --ak-cert")
      .option('--ek-handle <handle>', `--ek: persistent handle of the RSA endorsement key (default ${handleText(EK_RSA_PERSISTENT_HANDLE)}; create it with \`tpm2_createek -c ${handleText(EK_RSA_PERSISTENT_HANDLE)} -G rsa\`)`)
      .option('--ek-nv <index>', `--ek: NV index of the EK certificate (default ${handleText(EK_CERT_NV_INDEX.rsa2048)} for the RSA EK; ${handleText(EK_CERT_NV_INDEX.eccP256)} for an ECC P-256 EK, with its --ek-handle)`)
      .option('--ek-chain <files...>', '--ek: intermediate certificates (PEM) between the EK certificate and the manufacturer root, if the TPM vendor uses any')
      .option('--principal <name>', '--tpm: the approver the key will be enrolled for (bound into the certification)'),
    'breakglass keygen --out ./bob.pem      # writes bob.pem and bob.pub.pem',
    'breakglass admin approver enroll --principal bob --public-key ./bob.pub.pem',
    'breakglass keygen --tpm --ek --out ./bob --principal bob --handle 0x81000102 --ak 0x81000101 --ek-chain vendor-intermediate.pem',
    'breakglass keygen --tpm --out ./bob --principal bob --handle 0x81000102 --ak 0x81000101 --ak-cert ak.pem',
    'breakglass admin approver enroll --principal bob --public-key ./bob.pub.pem --tpm-attestation ./bob.tpm-attestation.json',
  ).action(async (flags: KeygenFlags, cmd: Command) => {
    if (flags.tpm) {
      const files = await tpmKeygen(flags, ctx.env, (input) => ctx.client(cmd).call('createTpmChallenge', { params: { principal: flags.principal! }, body: input }));
      const minutes = (flags.ek ? TPM_CHALLENGE_TTL_MS : TPM_CERTIFY_MAX_AGE_MS) / 60_000;
      ctx.emit(cmd, files, () =>
        [
          `TPM key file: ${files.keyFilePath} (which TPM and handle; the private key never leaves the TPM)`,
          `Public key:   ${files.publicKeyPath}`,
          flags.ek
            ? `Attestation:  ${files.attestationPath} (TPM2_Certify for ${flags.principal} and the store's challenge answered by this TPM's endorsement key; enroll within ${minutes} minutes, once)`
            : `Attestation:  ${files.attestationPath} (TPM2_Certify for ${flags.principal}; enroll within ${minutes} minutes)`,
          `Key id:       ${files.keyId}`,
          'Next: an admin enrolls it as an attested key, and you sign with --key the TPM key file:',
          `  breakglass admin approver enroll --principal ${flags.principal} --public-key ${files.publicKeyPath} --tpm-attestation ${files.attestationPath}`,
          '',
        ].join('\n'),
      );
      return;
    }
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

async function tpmKeygen(flags: KeygenFlags, env: NodeJS.ProcessEnv, challenge: (input: TpmChallengeInput) => Promise<TpmChallenge>): Promise<TpmKeyFiles> {
  const errors: { path: string; message: string }[] = [];
  const parent = flags.parent ?? DEFAULT_TPM_PARENT;
  const ekHandle = flags.ekHandle ?? handleText(EK_RSA_PERSISTENT_HANDLE);
  if (!flags.out) errors.push({ path: '--out', message: 'with --tpm, the base path of the files to write (e.g. ./bob)' });
  if (!flags.principal || !PrincipalNameSchema.safeParse(flags.principal).success) errors.push({ path: '--principal', message: 'the approver the key is for (bound into the certification)' });
  for (const [flag, value] of [['--parent', parent], ['--handle', flags.handle], ['--ak', flags.ak], ...(flags.ek ? [['--ek-handle', ekHandle] as const] : [])] as const) {
    if (!value || !HANDLE.test(value)) errors.push({ path: flag, message: 'a persistent handle, 0x81xxxxxx' });
  }
  const ekNv = flags.ekNv ?? handleText(EK_CERT_NV_INDEX.rsa2048);
  if (flags.ek) {
    if (!/^0x01c[0-9a-f]{5}$/i.test(ekNv)) errors.push({ path: '--ek-nv', message: 'an EK certificate NV index, 0x01c0xxxx (e.g. 0x01c00002)' });
    if (flags.akCert?.length) errors.push({ path: '--ak-cert', message: 'with --ek the endorsement key vouches for the attestation key: give --ak-cert or --ek, not both' });
  } else {
    if (!flags.akCert?.length) errors.push({ path: '--ak-cert', message: "the attestation key's certificate (PEM file), or --ek to anchor in the TPM's endorsement key" });
    if (flags.ekHandle) errors.push({ path: '--ek-handle', message: 'only with --ek' });
    if (flags.ekChain?.length) errors.push({ path: '--ek-chain', message: 'only with --ek' });
    if (flags.ekNv) errors.push({ path: '--ek-nv', message: 'only with --ek' });
  }
  if (errors.length) throw usageError('TPM key generation', errors);
  const readPems = async (flag: string, files: string[]): Promise<string[]> => {
    const out: string[] = [];
    for (const file of files) {
      try {
        out.push(await readFile(file, 'utf8'));
      } catch (error) {
        throw usageError('TPM key generation', [{ path: flag, message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
      }
    }
    return out;
  };
  const akCertificates = await readPems('--ak-cert', flags.akCert ?? []);
  const ekIntermediates = await readPems('--ek-chain', flags.ekChain ?? []);
  const missing = missingSoftwareTpmCommands().filter((c) => c !== 'swtpm');
  if (missing.length) throw new AppError('unavailable', `--tpm needs tpm2-tools (missing ${missing.join(', ')}): sudo apt-get install -y tpm2-tools`);
  const tcti = flags.tcti ?? defaultTpmTcti(env);
  try {
    const common = { tcti, parentHandle: Number(parent), handle: Number(flags.handle), akHandle: Number(flags.ak), principal: flags.principal!, now: new Date() };
    const { key, attestation } = flags.ek ? await createEkAttestedTpmKey({ ...common, ekHandle: Number(ekHandle), ekCertNvIndex: Number(ekNv), ekIntermediates, challenge }) : await createAttestedTpmKey({ ...common, akCertificates });
    return await writeTpmKeyFiles(flags.out!, key, attestation);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('unavailable', `the TPM (${tcti}) refused: ${(error as Error).message}`);
  }
}
