import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseOrThrow } from '../../../shared/errors';
import { TpmAnchorSchema, TpmCertificationSchema, TpmHandleSchema } from '../../../shared/ipc/contract';
import type { ConsoleClock } from '../clock';
import { readTextIfExists, writeJsonAtomic } from '../files';
import type { ConsoleLogger } from '../logger';

/** The SSE resume point is written to disk at most this often. */
export const PROFILE_SAVE_DEBOUNCE_MS = 1_000;

export const ProfileKeySchema = z.strictObject({
  kind: z.enum(['software', 'pkcs11', 'tpm', 'file']),
  keyId: z.string(),
  publicKeyPem: z.string(),
  hardwareBacked: z.boolean(),
  pkcs11: z.strictObject({ modulePath: z.string(), tokenLabel: z.string(), keyLabel: z.string() }).nullable(),
  /** Software-file signer: the key file (profiles written before it existed have none). */
  file: z.strictObject({ path: z.string() }).nullable().default(null),
  /**
   * TPM key: which TPM (the TCTI main reached it through) and persistent handle, the attestation
   * key, what anchors it (the endorsement key with its EK intermediates, or the AK's certificates)
   * to certify it again, and the last certification. Nothing secret. Profiles written before the
   * EK route have the AK-certificate anchor.
   */
  tpm: z
    .strictObject({
      tcti: z.string(),
      handle: TpmHandleSchema,
      akHandle: TpmHandleSchema,
      anchor: TpmAnchorSchema.default('ak-certificate'),
      akCertificates: z.array(z.string()),
      ekHandle: TpmHandleSchema.nullable().default(null),
      ekIntermediates: z.array(z.string()).default([]),
      certification: TpmCertificationSchema,
    })
    .refine((t) => (t.anchor === 'ek' ? t.ekHandle !== null && t.certification.kind === 'tpm-ek' : t.akCertificates.length > 0 && t.certification.kind === 'tpm'), { message: 'a TPM key anchored in its EK needs the EK handle and a tpm-ek certification; one anchored in an AK certificate needs the certificates and a tpm certification' })
    .nullable()
    .default(null),
});
export type ProfileKey = z.infer<typeof ProfileKeySchema>;

export const ProfileSchema = z.strictObject({
  storeUrl: z.string(),
  principal: z.string(),
  key: ProfileKeySchema,
  /** Last SSE event id handled, so a restart resumes the stream where it stopped. */
  lastEventId: z.string().nullable().default(null),
});
export type Profile = z.infer<typeof ProfileSchema>;

/**
 * `console.json` in the data dir: which store, which principal, which key (public half only) and
 * the event stream's resume point. Nothing secret. Writes are serialized so an older snapshot
 * never lands after a newer one; the resume point is saved at most once per
 * PROFILE_SAVE_DEBOUNCE_MS (a burst of thousands of events is one write).
 */
export class ProfileStore {
  private writes: Promise<void> = Promise.resolve();
  private pending: { snapshot: () => Profile | undefined; cancel: () => void } | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly clock: ConsoleClock,
    private readonly logger: ConsoleLogger,
  ) {}

  get path(): string {
    return join(this.dataDir, 'console.json');
  }

  async load(): Promise<Profile | undefined> {
    const text = await readTextIfExists(this.path);
    if (!text) return undefined;
    return parseOrThrow(ProfileSchema, JSON.parse(text), this.path);
  }

  /** Write now (setup); resolves once this and every earlier write are on disk. */
  write(profile: Profile): Promise<void> {
    this.cancelPending();
    return this.enqueue({ ...profile });
  }

  /** Write `snapshot()` within PROFILE_SAVE_DEBOUNCE_MS (resume point updates). */
  saveSoon(snapshot: () => Profile | undefined): void {
    if (this.pending) return;
    const cancel = this.clock.after(PROFILE_SAVE_DEBOUNCE_MS, () => {
      this.pending = undefined;
      const value = snapshot();
      if (value) void this.enqueue({ ...value });
    });
    this.pending = { snapshot, cancel };
  }

  /** Write a pending debounced snapshot now and wait for every write (shutdown). */
  async flush(): Promise<void> {
    const pending = this.pending;
    this.cancelPending();
    const value = pending?.snapshot();
    if (value) void this.enqueue({ ...value });
    await this.writes;
  }

  /** The store URL of the last setup, kept across sign-out (not secret) so the setup screen can pre-fill it. */
  async rememberedStoreUrl(): Promise<string | null> {
    const text = await readTextIfExists(join(this.dataDir, 'last-store.json'));
    if (!text) return null;
    try {
      const value = (JSON.parse(text) as { storeUrl?: unknown }).storeUrl;
      return typeof value === 'string' ? value : null;
    } catch (error) {
      this.logger.debug({ err: error }, 'last-store.json unreadable; nothing to pre-fill');
      return null;
    }
  }

  async rememberStoreUrl(storeUrl: string): Promise<void> {
    await writeJsonAtomic(join(this.dataDir, 'last-store.json'), { storeUrl });
  }

  /** Forget the profile (sign-out): pending writes are dropped, the file removed. */
  async remove(): Promise<void> {
    this.cancelPending();
    await this.writes;
    await rm(this.path, { force: true });
  }

  private cancelPending(): void {
    this.pending?.cancel();
    this.pending = undefined;
  }

  private enqueue(profile: Profile): Promise<void> {
    this.writes = this.writes
      .then(() => writeJsonAtomic(this.path, profile))
      // Only the resume point is at stake (the stream replays from an older id; events are de-duplicated).
      .catch((error: unknown) => this.logger.warn({ err: error, path: this.path }, 'console profile not saved'));
    return this.writes;
  }
}
