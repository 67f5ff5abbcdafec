import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { PrincipalNameSchema } from '../../../shared/domain/common';
import { AppError } from '../../../shared/errors';
import { TPM_CERTIFY_MAX_AGE_MS, type EnrolledKey, type WhoAmI } from '../../../shared/domain/identity';
import type { Policy } from '../../../shared/domain/policy';
import type { ParsedChannelInput, Session, SessionKey } from '../../../shared/ipc/contract';
import type { ConsoleClock } from '../clock';
import type { ConsoleLogger } from '../logger';
import type { SigningKeys } from '../signers/signing-keys';
import type { TpmChallengeAsk } from '../signers/console-tpm';
import { tokenAttestationText } from '../signers/token-attestation';
import { StoreClient } from '../../../shared/node/http/store-client';
import { loadFileKeySigner } from '../../../shared/node/signing/key-files';
import type { ConnectionTracker } from './connection-tracker';
import type { KeychainAccess } from './keychain-access';
import type { Profile, ProfileKey, ProfileStore } from './profile-store';

/** A store call that takes longer than this is treated as "store unreachable" (the UI goes offline). */
export const STORE_CALL_TIMEOUT_MS = 10_000;

/** Policy (gate kinds, tiers, TTL choices) is refetched at most this often. */
export const POLICY_MAX_AGE_MS = 60_000;

/** A key file the console may offer as a software-file signer, for the principal it belongs to. */
export interface SoftwareKeyFile {
  principal: string;
  path: string;
}

/**
 * BREAKGLASS_SOFTWARE_KEY_FILES as `npm start` sets it for the Electron console: JSON
 * `[{ "principal": "bob", "path": "/abs/bob.pem" }, ...]`. Unset = none. Anything else is an
 * error naming the variable (the console must not start with a half-read list).
 */
export function parseSoftwareKeyFiles(value: string | undefined): SoftwareKeyFile[] {
  if (!value) return [];
  const parsed = SoftwareKeyFilesSchema.safeParse((() => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  })());
  if (!parsed.success) throw new AppError('invalid_input', 'BREAKGLASS_SOFTWARE_KEY_FILES must be JSON: [{"principal": "bob", "path": "/absolute/bob.pem"}, ...]');
  return parsed.data;
}
const SoftwareKeyFilesSchema = z.array(z.strictObject({ principal: PrincipalNameSchema, path: z.string().refine(isAbsolute, 'must be an absolute path') }));

/** The signed-in context every store-facing service works in. */
export interface SignedIn {
  profile: Profile;
  client: StoreClient;
}

export interface SessionHooks {
  /** A session became usable (setup, or a restart found the token): start the event stream etc. */
  signedIn(session: SignedIn, token: string): void;
  /** The session ended (sign-out, or setup replacing it): stop whatever signedIn started. */
  signedOut(): Promise<void>;
  /** The bearer changed for the same session (IdP renewal): reconnect what holds the old one. */
  tokenReplaced?(token: string): Promise<void>;
}

export interface SessionServiceDeps {
  host: Session['host'];
  /** The store this console was launched for (BREAKGLASS_STORE, the demo): pre-filled on the setup screen. */
  launchStoreUrl?: string;
  keychain: KeychainAccess;
  /**
   * Key files offered as a software-file signer while no OS keychain is usable (the demo's
   * approver keys); main-process configuration only, never renderer input. Empty in production.
   */
  softwareKeyFiles?: readonly SoftwareKeyFile[];
  profiles: ProfileStore;
  connection: ConnectionTracker;
  keys: SigningKeys;
  clock: ConsoleClock;
  logger: ConsoleLogger;
  fetchImpl?: typeof fetch;
  hooks: SessionHooks;
}

/**
 * Who the console is signed in as, against which store, with which key: setup, sign-out, the
 * session the renderer shows, and the store's view of the principal (whoami) and policy, cached.
 */
export class SessionService {
  private signedIn: SignedIn | undefined;
  private whoami: WhoAmI | undefined;
  private policy: { value: Policy; fetchedAt: number } | undefined;

  constructor(private readonly deps: SessionServiceDeps) {}

  /** Load the profile and, when its token is in the keychain, sign in. */
  async resume(): Promise<void> {
    await this.deps.keychain.probe();
    const profile = await this.deps.profiles.load();
    if (!profile) return;
    const vault = this.deps.keychain.opened;
    if (!vault) return;
    let token: string | null;
    try {
      token = await vault.getToken(profile.storeUrl, profile.principal);
    } catch (error) {
      this.deps.logger.warn({ err: error, storeUrl: profile.storeUrl, principal: profile.principal }, 'could not read the API token from the keychain');
      return;
    }
    if (!token) return;
    this.begin(profile, token);
  }

  /** The signed-in context, or AppError('unauthenticated') saying how to set up. */
  current(): SignedIn {
    if (!this.signedIn) throw new AppError('unauthenticated', 'the console is not set up: enter the store URL and your token first');
    return this.signedIn;
  }

  get active(): SignedIn | undefined {
    return this.signedIn;
  }

  get me(): WhoAmI | undefined {
    return this.whoami;
  }

  async getSession(): Promise<Session> {
    if (!this.deps.keychain.status.available) await this.deps.keychain.probe();
    const active = this.signedIn;
    // Whoami is cheap and changes when an admin enrolls the key: refresh it for every session read
    // (not while offline: the event stream's reconnect tells us when the store is back).
    if (active && (this.deps.connection.current.online || !this.whoami)) await this.refreshWhoamiOrKeep('session read');
    const policy = active ? await this.policyOrUndefined() : undefined;
    const profile = active?.profile;
    return {
      configured: active !== undefined,
      storeUrl: profile?.storeUrl ?? null,
      suggestedStoreUrl: profile?.storeUrl ?? this.deps.launchStoreUrl ?? (await this.deps.profiles.rememberedStoreUrl()),
      principal: profile?.principal ?? null,
      roles: this.whoami?.roles ?? [],
      team: this.whoami?.team ?? null,
      approverGroups: this.whoami?.approverGroups ?? [],
      key: profile ? this.sessionKey(profile) : null,
      keychain: this.deps.keychain.status,
      softwareKeyFiles: this.deps.keychain.status.available ? [] : await this.offeredKeyFiles(),
      connection: this.deps.connection.current,
      linkHosts: policy?.incidentLinkHosts ?? [],
      host: this.deps.host,
    };
  }

  sessionKey(profile: Profile): SessionKey {
    const enrolled = this.enrolledKey(profile);
    const { tpm, ...key } = profile.key;
    const p = profile.principal;
    return {
      ...key,
      tpm: tpm
        ? {
            tcti: tpm.tcti,
            handle: tpm.handle,
            akHandle: tpm.akHandle,
            anchor: tpm.anchor,
            certification: tpm.certification,
            // The certification's hour; an EK challenge (asked after it, TPM_CHALLENGE_TTL_MS) outlasts it.
            certificationValidUntil: new Date(Date.parse(tpm.certification.issuedAt) + TPM_CERTIFY_MAX_AGE_MS).toISOString(),
          }
        : null,
      enrolled: enrolled !== undefined,
      attestation: enrolled?.attestation ? { kind: enrolled.attestation.kind, serial: enrolled.attestation.serial } : null,
      attestationText: tokenAttestationText(profile.key),
      // The file names the screen tells the approver to save the public key and certification as.
      enrollCommand: `breakglass admin approver enroll --principal ${p} --public-key ${p}.pub.pem${tpm ? ` --tpm-attestation ${p}.tpm-attestation.json` : profile.key.hardwareBacked ? ' --hardware' : ''}`,
    };
  }

  /** The store's record of this profile's key, when it is enrolled and not revoked. */
  enrolledKey(profile: Profile): EnrolledKey | undefined {
    return this.whoami?.keys.find((k) => k.keyId === profile.key.keyId && k.revokedAt === null);
  }

  async setup(input: ParsedChannelInput<'console:main:setup'>): Promise<Session> {
    // The software-file signer is the one setup without the OS keychain: chosen explicitly, only
    // among the files this console was started with, and its token then lives in memory only.
    const choice = input.key;
    const fileKey = choice.kind === 'file' ? await this.checkOfferedKeyFile(choice.path) : undefined;
    const vault = fileKey ? this.deps.keychain.opened : await this.deps.keychain.require();
    const storeUrl = input.storeUrl.replace(/\/+$/, '');
    const client = new StoreClient({ baseUrl: storeUrl, token: input.token, timeoutMs: STORE_CALL_TIMEOUT_MS, fetchImpl: this.deps.fetchImpl });
    const whoami = await this.deps.connection.track(client.call('whoami'));
    const principal = whoami.principal;
    if (fileKey && fileKey.principal !== principal) {
      throw new AppError('invalid_input', `the key file ${fileKey.path} is ${fileKey.principal}'s, but this token is ${principal}'s: choose ${principal}'s key file`, {
        fieldErrors: [{ path: 'key.path', message: `not ${principal}'s key file` }],
      });
    }
    const key = choice.kind === 'file' ? await this.deps.keys.setupFileKey(choice.path) : await this.makeKey(choice, storeUrl, principal, client);
    if (vault) await vault.setToken(storeUrl, principal, input.token);
    const profile: Profile = { storeUrl, principal, key, lastEventId: null };
    await this.deps.profiles.write(profile);
    await this.deps.profiles.rememberStoreUrl(storeUrl);
    await this.deps.hooks.signedOut();
    this.whoami = whoami;
    this.policy = undefined;
    this.begin(profile, input.token);
    this.deps.connection.setEnrolled(this.enrolledKey(profile) !== undefined);
    return this.getSession();
  }

  /** Settings: switch the signed-in principal to another key (made or selected now); the token and session stay. */
  async changeKey(input: ParsedChannelInput<'console:main:change-key'>): Promise<Session> {
    const active = this.current();
    const { storeUrl, principal } = active.profile;
    const choice = input.key;
    const key = choice.kind === 'file' ? await this.deps.keys.setupFileKey(await this.ownKeyFile(choice.path, principal)) : await this.makeKey(choice, storeUrl, principal, active.client);
    const profile: Profile = { ...active.profile, key };
    await this.deps.profiles.write(profile);
    // Same client and event stream: only the key changed.
    this.signedIn = { profile, client: active.client };
    await this.refreshWhoamiOrKeep('key changed');
    this.deps.connection.setEnrolled(this.enrolledKey(profile) !== undefined);
    return this.getSession();
  }

  /** Certify the session's TPM key again (a fresh hour for the admin to enroll it); the key itself stays. */
  async certifyTpmKey(): Promise<Session> {
    const active = this.current();
    const key = await this.deps.keys.certifyTpmKeyAgain(active.profile.principal, active.profile.key, tpmChallengeAsk(active.client, active.profile.principal));
    const profile: Profile = { ...active.profile, key };
    await this.deps.profiles.write(profile);
    this.signedIn = { profile, client: active.client };
    return this.getSession();
  }

  /** A key made or selected now for (store, principal): in the keychain, on a PKCS#11 token or in the TPM. */
  private makeKey(choice: Exclude<ParsedChannelInput<'console:main:setup'>['key'], { kind: 'file' }>, storeUrl: string, principal: string, client: StoreClient): Promise<ProfileKey> {
    if (choice.kind === 'software') return this.deps.keys.setupSoftwareKey(storeUrl, principal);
    if (choice.kind === 'tpm') return this.deps.keys.setupTpmKey(principal, choice, tpmChallengeAsk(client, principal));
    return this.deps.keys.setupHardwareKey({ modulePath: choice.modulePath, tokenLabel: choice.tokenLabel, keyLabel: choice.keyLabel }, choice.mode);
  }

  async signOut(input: ParsedChannelInput<'console:main:sign-out'>): Promise<Session> {
    const profile = this.signedIn?.profile;
    await this.deps.hooks.signedOut();
    const vault = this.deps.keychain.opened;
    if (profile && vault) {
      await vault.deleteToken(profile.storeUrl, profile.principal);
      if (input.forgetKey && profile.key.kind === 'software') await this.deps.keys.forgetSoftwareKey(profile.storeUrl, profile.principal);
    }
    await this.deps.profiles.remove();
    this.signedIn = undefined;
    this.whoami = undefined;
    this.policy = undefined;
    this.deps.keys.reset();
    return this.getSession();
  }

  /** The configured key files with their key ids (a file that cannot be read is left out, and logged). */
  private async offeredKeyFiles(): Promise<Session['softwareKeyFiles']> {
    const offered: Session['softwareKeyFiles'] = [];
    for (const file of this.deps.softwareKeyFiles ?? []) {
      try {
        offered.push({ principal: file.principal, path: file.path, keyId: (await loadFileKeySigner(file.path)).keyId });
      } catch (error) {
        this.deps.logger.warn({ err: error, path: file.path }, 'a configured software key file cannot be read; not offered');
      }
    }
    return offered;
  }

  private async ownKeyFile(path: string, principal: string): Promise<string> {
    const file = await this.checkOfferedKeyFile(path);
    if (file.principal !== principal) throw new AppError('invalid_input', `the key file ${file.path} is ${file.principal}'s, not ${principal}'s`, { fieldErrors: [{ path: 'key.path', message: `not ${principal}'s key file` }] });
    return file.path;
  }

  private async checkOfferedKeyFile(path: string): Promise<SoftwareKeyFile> {
    if (this.deps.keychain.status.available || (await this.deps.keychain.probe()).available) {
      throw new AppError('invalid_input', 'the OS keychain is available: use a software key kept there (or a hardware key), not a key file', { fieldErrors: [{ path: 'key.kind', message: 'key files are offered only without an OS keychain' }] });
    }
    const file = (this.deps.softwareKeyFiles ?? []).find((f) => f.path === path);
    if (!file) throw new AppError('invalid_input', `${path} is not one of the key files this console was started with`, { fieldErrors: [{ path: 'key.path', message: 'not an offered key file' }] });
    return file;
  }

  /** Note the event stream's resume point (saved to console.json shortly). */
  noteEventId(id: string): void {
    const active = this.signedIn;
    if (!active) return;
    active.profile.lastEventId = id;
    this.deps.profiles.saveSoon(() => (this.signedIn ? { ...this.signedIn.profile } : undefined));
  }

  async refreshWhoami(): Promise<WhoAmI> {
    const active = this.current();
    this.whoami = await this.deps.connection.track(active.client.call('whoami'));
    if (this.signedIn === active) this.deps.connection.setEnrolled(this.enrolledKey(active.profile) !== undefined);
    return this.whoami;
  }

  /**
   * Refresh whoami; if the store cannot answer, keep the last one (the caller's answer then rests
   * on it, which is what offline reading means). Logged at debug: the connection state says why.
   */
  async refreshWhoamiOrKeep(why: string): Promise<void> {
    try {
      await this.refreshWhoami();
    } catch (error) {
      this.deps.logger.debug({ err: error, why }, 'whoami not refreshed; keeping the last one');
    }
  }

  /** The store's policy, refetched at most every POLICY_MAX_AGE_MS; the last one while the store is unreachable. */
  async currentPolicy(): Promise<Policy> {
    const now = this.deps.clock.now().getTime();
    if (this.policy && now - this.policy.fetchedAt < POLICY_MAX_AGE_MS) return this.policy.value;
    try {
      const { policy } = await this.deps.connection.track(this.current().client.call('policy'));
      this.policy = { value: policy, fetchedAt: now };
      // Whoami can change with the policy (enrolled keys, groups): refresh it alongside.
      await this.refreshWhoamiOrKeep('policy refresh');
    } catch (error) {
      if (!this.policy) throw error;
      this.deps.logger.debug({ err: error }, 'policy not refreshed; using the last one');
    }
    return this.policy.value;
  }

  /** currentPolicy(), or undefined when there is none yet (callers then fall back to the request's own fields). */
  async policyOrUndefined(): Promise<Policy | undefined> {
    if (!this.signedIn) return undefined;
    try {
      return await this.currentPolicy();
    } catch (error) {
      this.deps.logger.debug({ err: error }, 'no policy available yet');
      return undefined;
    }
  }

  /**
   * Switch to a new bearer for the same principal and store (a store session renewed from the
   * IdP): kept in the keychain, used by the store client, and the event stream reconnects with it.
   */
  async replaceToken(token: string): Promise<void> {
    const active = this.signedIn;
    if (!active) return;
    const vault = this.deps.keychain.opened;
    if (vault) await vault.setToken(active.profile.storeUrl, active.profile.principal, token);
    this.signedIn = { profile: active.profile, client: new StoreClient({ baseUrl: active.profile.storeUrl, token, timeoutMs: STORE_CALL_TIMEOUT_MS, fetchImpl: this.deps.fetchImpl }) };
    await this.deps.hooks.tokenReplaced?.(token);
  }

  private begin(profile: Profile, token: string): void {
    const client = new StoreClient({ baseUrl: profile.storeUrl, token, timeoutMs: STORE_CALL_TIMEOUT_MS, fetchImpl: this.deps.fetchImpl });
    this.signedIn = { profile, client };
    this.deps.hooks.signedIn(this.signedIn, token);
  }
}

/** The store's credential-activation challenge for the console's own principal (an approver may ask for itself). */
function tpmChallengeAsk(client: StoreClient, principal: string): TpmChallengeAsk {
  return (input) => client.call('createTpmChallenge', { params: { principal }, body: input });
}
