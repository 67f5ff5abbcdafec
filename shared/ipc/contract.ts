import { z } from 'zod';
import { AppErrorBodySchema, type AppErrorBody, AppError } from '../errors';
import {
  CommentSchema,
  DigestSchema,
  GateKindSchema,
  PrincipalNameSchema,
  RequestIdSchema,
  ReviewIdSchema,
  RoleSchema,
  SeveritySchema,
  SlugSchema,
  TimestampSchema,
} from '../domain/common';
import { AttestationRefSchema, KeyAttestationInputSchema } from '../domain/identity';
import { BypassRequestSchema, RequestStateSchema } from '../domain/request';
import { DecisionRecordSchema } from '../domain/decision';
import { HistorySchema } from '../domain/api';
import { pageCursorSchema } from '../domain/page-cursor';
import { ReviewFindingSchema, ReviewSchema, ReviewStateSchema } from '../domain/review';
import { LedgerEntrySchema, LedgerEntryTypeSchema } from '../domain/ledger-entry';
import { TtlSchema } from '../domain/ttl';
import { WitnessVkeySchema, vkeyName } from '../domain/policy-witnesses';
import { HealthReportSchema } from '../domain/reports';
import { MAIN_METHODS, RENDERER_EVENT_NAMES, type MainMethod } from './channels';

/**
 * The approver console's one IPC contract: channel → { input, output } zod schemas.
 *
 * Used by three transports that all behave the same:
 * - Electron: the preload exposes `window.breakglass.<method>(input)` (one method per channel,
 *   see MAIN_METHODS); electron/main/ipc.ts binds every channel with one `handle()` wrapper that
 *   checks the sender frame and parses the input with this schema.
 * - Browser host (electron/browser-host): `POST /ipc/<channel>` with a JSON body (the input) and
 *   header `x-breakglass-token`; the response body is an IpcResult. Renderer events arrive as
 *   server-sent events on `GET /ipc/events` (event name = renderer channel, data = JSON payload).
 * - Tests call the console core's handlers directly (composeConsole in electron/core).
 *
 * Every call resolves to an IpcResult: `{ ok: true, value }` or `{ ok: false, error: AppErrorBody }`.
 * Errors are data because Electron's ipcMain.handle keeps only `message` of a thrown error.
 * `unwrapIpcResult()` turns a failed result back into an AppError for code that prefers throwing.
 *
 * Channel names carry their recipient: `console:main:*` is handled by the main process,
 * `console:renderer:*` is an event sent to the renderer.
 *
 * Secrets never cross this contract (ARCHITECTURE.md invariant 2): the API token crosses it once,
 * from the setup screen to main (`setup`), and never comes back; keys and PINs never cross it.
 */

const EmptyInputSchema = z.strictObject({});

// ---------------------------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------------------------

/**
 * The one session state the console shows everywhere (sidebar, banner, tray icon and tooltip),
 * most serious first: token_rejected (sign in again), log_halted (the store stopped its ledger),
 * offline (since offlineSince), reconnecting (the event stream dropped, a retry is under way),
 * key_not_enrolled (reading works, signing does not yet), connected.
 */
export const SessionStatusSchema = z.enum(['connected', 'reconnecting', 'offline', 'token_rejected', 'log_halted', 'key_not_enrolled']);
export type SessionStatus = z.infer<typeof SessionStatusSchema>;

export const ConnectionStateSchema = z.strictObject({
  /** The session state (see SessionStatusSchema), since when, and one plain sentence saying it. */
  status: SessionStatusSchema,
  statusSince: TimestampSchema.nullable(),
  statusText: z.string(),
  /** The grant store answered the last call / the event stream is connected. */
  online: z.boolean(),
  /** When the store stopped answering; null while online. The UI shows "offline since …". */
  offlineSince: TimestampSchema.nullable(),
  /** Last successful sync of the ledger mirror (null before the first one). */
  lastSyncAt: TimestampSchema.nullable(),
  /** Why the store is unreachable (human text), null while online. */
  lastError: z.string().nullable(),
});
export type ConnectionState = z.infer<typeof ConnectionStateSchema>;

/**
 * software = a key in the OS keychain; pkcs11 = a key on a token; tpm = a key made in this
 * machine's TPM 2.0 and certified by its attestation key (signs inside the TPM); file = a key file
 * on disk offered by the process that started the console (the demo's approver keys where no OS
 * keychain exists): not protected by the OS keychain, never chosen silently, refused by tiers
 * that require hardware.
 */
export const SigningKeyKindSchema = z.enum(['software', 'pkcs11', 'tpm', 'file']);
export type SigningKeyKind = z.infer<typeof SigningKeyKindSchema>;

/** A TPM persistent handle as tpm2-tools write it (0x81xxxxxx). */
export const TpmHandleSchema = z.string().regex(/^0x81[0-9a-fA-F]{6}$/, { message: 'must be a persistent handle, 0x81xxxxxx' });

/** A TPM certification of a key (what `admin approver enroll --tpm-attestation FILE` reads from FILE): AK-certificate anchored (tpm) or endorsement-key anchored (tpm-ek). */
export const TpmCertificationSchema = KeyAttestationInputSchema.refine((a) => a.kind === 'tpm' || a.kind === 'tpm-ek', { message: 'must be a TPM certification' });

/**
 * What anchors a TPM key's attestation: `ek` = the TPM's endorsement key certificate (from the
 * manufacturer) and the store's credential-activation challenge answered by this TPM (policy root
 * kind tpm-ek; the stronger one); `ak-certificate` = a certificate an attestation CA issued for
 * the attestation key (policy root kind tpm; weaker: the store takes that CA's word).
 */
export const TpmAnchorSchema = z.enum(['ek', 'ak-certificate']);
export type TpmAnchor = z.infer<typeof TpmAnchorSchema>;

/**
 * What the console knows of this machine's TPM 2.0 (`get-tpm-status`): whether a key can be made
 * and certified there and, when not, the one reason. The TPM is the one main reaches through its
 * own configuration (TPM2TOOLS_TCTI, else /dev/tpmrm0), never one the renderer names.
 */
export const TpmStatusSchema = z.strictObject({
  available: z.boolean(),
  /** Why the TPM choice is disabled (tpm2-tools missing, no device, no answer, no attestation key); null when available. */
  reason: z.string().nullable(),
  /** How main reaches the TPM (device:/dev/tpmrm0, swtpm:path=…). */
  tcti: z.string(),
  manufacturer: z.string().nullable(),
  firmwareVersion: z.string().nullable(),
  /** Persistent attestation keys (restricted signing keys): what can certify a new key. */
  attestationKeys: z.array(TpmHandleSchema),
  /** Persistent unrestricted signing keys made in the TPM: what "use an existing key" can pick. */
  signingKeys: z.array(TpmHandleSchema),
  /** Where a new key goes when no handle is given (the first free one from 0x81000100); null when unavailable. */
  nextHandle: TpmHandleSchema.nullable(),
  /**
   * The endorsement-key route: available when the TPM holds an EK certificate (NV 0x01c00002) and
   * the RSA EK is persistent at `handle`; else `reason` says which is missing (null when the TPM
   * itself is unavailable). `issuer` is the EK certificate's issuer (the TPM manufacturer's CA).
   */
  ek: z.strictObject({ available: z.boolean(), reason: z.string().nullable(), handle: TpmHandleSchema, issuer: z.string().nullable() }),
});
export type TpmStatus = z.infer<typeof TpmStatusSchema>;

/** The PEM certificates in a pasted text, in order (each ending with a newline). */
export function splitPemCertificates(text: string): string[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((pem) => `${pem}\n`);
}

export const SessionKeySchema = z.strictObject({
  kind: SigningKeyKindSchema,
  keyId: z.string(),
  publicKeyPem: z.string(),
  hardwareBacked: z.boolean(),
  /** PKCS#11 only: where the key lives (module, token and key label); null for software keys. */
  pkcs11: z.strictObject({ modulePath: z.string(), tokenLabel: z.string(), keyLabel: z.string() }).nullable(),
  /** Software-file signer only: the key file it reads for every signature; null otherwise. */
  file: z.strictObject({ path: z.string() }).nullable(),
  /**
   * TPM only: which TPM and handle hold the key, the attestation key that certified it, and the
   * certification to hand the admin (valid for enrollment until `certificationValidUntil`); null otherwise.
   */
  tpm: z
    .strictObject({
      tcti: z.string(),
      handle: TpmHandleSchema,
      akHandle: TpmHandleSchema,
      /** What the certification rests on: the endorsement key (tpm-ek) or an AK certificate (tpm). */
      anchor: TpmAnchorSchema,
      certification: TpmCertificationSchema,
      certificationValidUntil: TimestampSchema,
    })
    .nullable(),
  /** The store lists this key as enrolled (and not revoked) for the principal. False until an admin enrolls it. */
  enrolled: z.boolean(),
  /** The attestation the store verified for this key (null: not enrolled, or hardware by claim only, or software). */
  attestation: AttestationRefSchema.nullable(),
  /** One plain sentence: whether this key's token produces an attestation, and how to enroll with it. */
  attestationText: z.string(),
  /** The exact command an admin runs to enroll this key (shown on the setup / settings screen). */
  enrollCommand: z.string(),
});
export type SessionKey = z.infer<typeof SessionKeySchema>;

/** A PIV attestation (what `admin approver enroll --attestation KEY.pem F9.pem` reads): the key's attestation certificate, then the device's (slot f9). */
export const PivAttestationInputSchema = KeyAttestationInputSchema.refine((a) => a.kind === 'piv', { message: 'must be a PIV attestation' });

/**
 * What the session's PKCS#11 token says about its key, read by main over PKCS#11. With Yubico's
 * ykcs11 module: the slot's key attestation certificate and the device's (f9) certificate, already
 * checked here to certify this console's key and to be signed by the f9 certificate, with the files
 * to hand the admin and the command that enrolls them. Otherwise (another module, no attestation
 * objects on the token) `available: false` and the plain reason.
 */
export const PivAttestationReadSchema = z.discriminatedUnion('available', [
  z.strictObject({
    available: z.literal(true),
    /** The PIV slot holding the key (9a, 9c, 9d, 9e, 82-95), lower-case hex. */
    slot: z.string().regex(/^(9[acde]|8[2-9a-f]|9[0-5])$/),
    attestation: PivAttestationInputSchema,
    /** The file names `attestation.certificates` are to be saved as, in order, and the command that enrolls them. */
    files: z.tuple([z.string(), z.string()]),
    enrollCommand: z.string(),
  }),
  z.strictObject({ available: z.literal(false), reason: z.string().min(1) }),
]);
export type PivAttestationRead = z.infer<typeof PivAttestationReadSchema>;

export const SessionSchema = z.strictObject({
  /** False until setup has stored a token (and a key) for a store. The renderer shows the setup screen. */
  configured: z.boolean(),
  storeUrl: z.string().nullable(),
  /** What the setup screen pre-fills: the store the console was launched for, else the last one used (kept across sign-out). */
  suggestedStoreUrl: z.string().nullable(),
  principal: PrincipalNameSchema.nullable(),
  roles: z.array(RoleSchema),
  team: z.string().nullable(),
  approverGroups: z.array(z.string()),
  key: SessionKeySchema.nullable(),
  /** Whether an OS keychain is usable. When it is not, the console refuses to keep secrets (no plain-file fallback). */
  keychain: z.strictObject({ available: z.boolean(), message: z.string().nullable() }),
  /**
   * Key files the console was started with (`npm start`'s demo approver keys), offered as a
   * software-file signer ONLY while no OS keychain is usable; empty otherwise. Not protected by the
   * OS keychain: the setup screen says so, and the token then stays in memory only.
   */
  softwareKeyFiles: z.array(z.strictObject({ principal: PrincipalNameSchema, path: z.string(), keyId: z.string() })),
  connection: ConnectionStateSchema,
  /** https hosts the console may open links on (policy `incidentLinkHosts`); see open-external. */
  linkHosts: z.array(z.string()),
  /** Which transport serves this console: the renderer hides Electron-only settings in the browser host. */
  host: z.enum(['electron', 'browser']),
});
export type Session = z.infer<typeof SessionSchema>;

/** The gate a request is for, resolved against the store's policy. */
export const GateInfoSchema = z.strictObject({
  id: SlugSchema,
  kind: GateKindSchema,
  tier: SlugSchema,
  description: z.string().nullable(),
  /** The tier counts as critical for notifications (see NotificationThresholdSchema). */
  critical: z.boolean(),
  approvalsRequired: z.number().int(),
  hardwareKeyRequired: z.boolean(),
  maxTtl: TtlSchema,
});
export type GateInfo = z.infer<typeof GateInfoSchema>;

/** A request waiting for my decision. The SLA rule (15 minutes if incident-flagged, else one business day) is shared/policy/sla.ts. */
export const InboxItemSchema = z.strictObject({
  request: BypassRequestSchema,
  gate: GateInfoSchema,
  /** Distinct approvals so far (request.approvals.length) of request.approvalsRequired. */
  approvalsSoFar: z.number().int(),
  /** When a decision is due (decisionDueAt in shared/policy/sla.ts, the rule the renderer's timer uses too). */
  slaDeadline: TimestampSchema,
  incidentFlagged: z.boolean(),
});
export type InboxItem = z.infer<typeof InboxItemSchema>;

/** Where data came from: the live store, or the local copy kept for offline reading. */
export const DataSourceSchema = z.strictObject({
  source: z.enum(['store', 'mirror']),
  /** Time the data was fetched from the store (for `mirror`, when it was last fresh). */
  asOf: TimestampSchema.nullable(),
});

export const CanApproveSchema = z.strictObject({
  allowed: z.boolean(),
  /** Why not, in words the approver understands, e.g. "you filed this request: no self-approval". Null when allowed. */
  reason: z.string().nullable(),
});

export const VerificationStateSchema = z.enum(['verified', 'unverified', 'failed']);
export type VerificationState = z.infer<typeof VerificationStateSchema>;

export const VerifiedCheckpointSchema = z.strictObject({
  treeSize: z.number().int().nonnegative(),
  /** Hex SHA-256 Merkle root. */
  rootHash: z.string(),
  /** The signed note text as the store published it (C2SP tlog-checkpoint). */
  note: z.string().nullable(),
  verifiedAt: TimestampSchema,
});

export const NotificationThresholdSchema = z.strictObject({
  /** Notify for requests of these severities. */
  severities: z.array(SeveritySchema),
  /**
   * Tiers counted as critical (every request on them notifies). Null = derive from the policy:
   * a tier named `critical`, or one needing two approvals or a hardware key.
   */
  criticalTiers: z.array(SlugSchema).nullable(),
});
export type NotificationThreshold = z.infer<typeof NotificationThresholdSchema>;

export const MAX_PIN_CACHE_MINUTES = 30;
export const MAX_PAUSE_MINUTES = 7 * 24 * 60;

/** The console's witness key as Settings shows it: a cosignature/v1 vkey whose name is `name`. */
export const ConsoleWitnessKeySchema = z
  .strictObject({ name: z.string().min(1).max(200), vkey: WitnessVkeySchema })
  .refine((k) => vkeyName(k.vkey) === k.name, { path: ['vkey'], message: 'the vkey must name the witness' });
export type ConsoleWitnessKey = z.infer<typeof ConsoleWitnessKeySchema>;

export const SettingsSchema = z.strictObject({
  notificationThreshold: NotificationThresholdSchema,
  /** Notifications (except sev1) are suppressed until this time; null = not paused. */
  pauseUntil: TimestampSchema.nullable(),
  /** Electron only: start the console at login (to the tray). */
  startAtLogin: z.boolean(),
  /** Keep a hardware-key PIN in main-process memory for this long (0 = ask for every signature). Never on disk. */
  pinCacheMinutes: z.number().int().min(0).max(MAX_PIN_CACHE_MINUTES),
});
export type Settings = z.infer<typeof SettingsSchema>;

export const DEFAULT_SETTINGS: Settings = {
  notificationThreshold: { severities: ['sev1', 'sev2'], criticalTiers: null },
  pauseUntil: null,
  startAtLogin: false,
  pinCacheMinutes: 0,
};

const DecisionResultSchema = z.strictObject({
  request: BypassRequestSchema,
  decision: DecisionRecordSchema,
  /** Eligible approvers who have not approved yet, while the request still waits for approvals (the confirmation says "waiting on …"). */
  waitingOn: z.array(PrincipalNameSchema),
});

/**
 * The request digest the approver was shown (sha256:<hex>). The core signs only when the store's
 * current digest for the request is this one; otherwise it refuses with \`conflict\` and signs nothing.
 */
const SeenDigestSchema = DigestSchema;

const DecisionCommentSchema = CommentSchema.min(5, 'say why in at least 5 characters');

const HttpsUrlInputSchema = z.string().max(2048);

// ---------------------------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------------------------

/** Pasted PEM text holding the attestation key's certificate, then any intermediates. */
const AkCertificatesInputSchema = z
  .string()
  .max(32_000)
  .transform(splitPemCertificates)
  .pipe(
    z
      .array(z.string().max(8000, 'a certificate is at most 8000 characters'))
      .min(1, "paste the attestation key's certificate (PEM, -----BEGIN CERTIFICATE-----)")
      .max(4, 'at most 4 certificates: the attestation key certificate and its intermediates'),
  );

/** Pasted PEM text holding the intermediates between the EK certificate and the manufacturer's root (often none). */
const EkIntermediatesInputSchema = z
  .string()
  .max(24_000)
  .refine((text) => text.trim() === '' || splitPemCertificates(text).length > 0, { message: 'paste PEM certificates (-----BEGIN CERTIFICATE-----), or leave it empty' })
  .transform(splitPemCertificates)
  .pipe(z.array(z.string().max(8000, 'a certificate is at most 8000 characters')).max(3, 'at most 3 intermediates between the EK certificate and the manufacturer root'));

/**
 * The signing key chosen at setup: a software key, one on a PKCS#11 token (generated there or
 * selected by label), or one in this machine's TPM (generated there or selected by handle, then
 * certified by the attestation key at `akHandle`).
 */
const KeyChoiceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('software') }),
  z.strictObject({
    kind: z.literal('pkcs11'),
    modulePath: z.string().min(1).max(1024),
    tokenLabel: z.string().min(1).max(32),
    keyLabel: z.string().min(1).max(64),
    /** generate = a new non-extractable key on the token; select = an existing one with this label. */
    mode: z.enum(['generate', 'select']),
  }),
  /** One of the session's `softwareKeyFiles` (by path); anything else is refused. */
  z.strictObject({ kind: z.literal('file'), path: z.string().min(1).max(4096) }),
  z
    .strictObject({
      kind: z.literal('tpm'),
      /** generate = a new key made in the TPM; select = the approver key already persistent at `handle`. */
      mode: z.enum(['generate', 'select']),
      /** generate: where to make the key persistent (default: TpmStatus.nextHandle); select: the key to use. */
      handle: TpmHandleSchema.optional(),
      /** The attestation key that certifies the key (one of TpmStatus.attestationKeys). */
      akHandle: TpmHandleSchema,
      /**
       * ek: the TPM's endorsement key vouches for the attestation key (the store's challenge,
       * answered here); ak-certificate: `akCertificates` does (the weaker route).
       */
      anchor: TpmAnchorSchema,
      /** ak-certificate: the AK's certificate as the attestation CA issued it, then any intermediates (PEM text). */
      akCertificates: AkCertificatesInputSchema.optional(),
      /** ek: intermediates between the EK certificate and the manufacturer's root, if the vendor uses any (PEM text). */
      ekIntermediates: EkIntermediatesInputSchema.optional(),
    })
    .refine((c) => c.mode === 'generate' || c.handle !== undefined, { path: ['handle'], message: 'choose the key to use (its persistent handle)' })
    .refine((c) => c.anchor === 'ek' || c.akCertificates !== undefined, { path: ['akCertificates'], message: "paste the attestation key's certificate (PEM, -----BEGIN CERTIFICATE-----)" })
    .refine((c) => c.anchor === 'ak-certificate' || c.akCertificates === undefined, { path: ['akCertificates'], message: 'with the endorsement key, no attestation key certificate: the EK vouches for the attestation key' })
    .refine((c) => c.anchor === 'ek' || c.ekIntermediates === undefined, { path: ['ekIntermediates'], message: 'EK intermediates only with the endorsement key' }),
]);

export const mainContract = {
  /** Current session: whether setup is done, who I am, my key, keychain and connection state. Works offline. */
  'console:main:get-session': { input: EmptyInputSchema, output: SessionSchema },

  /**
   * First run: checks the token against the store (whoami), stores it in the OS keychain (never on
   * disk), creates or selects the signing key, returns the session whose `key.publicKeyPem` and
   * `key.enrollCommand` the screen shows for an admin to enroll. The caller must drop the token
   * from its memory once this resolves; it is never returned. Fails with `unavailable` when no OS
   * keychain is usable.
   */
  'console:main:setup': {
    input: z.strictObject({
      storeUrl: z.url({ protocol: /^https?$/ }),
      token: z.string().trim().min(8, 'paste the whole token').max(512),
      key: KeyChoiceSchema,
    }),
    output: SessionSchema,
  },

  /**
   * First run through the organisation's identity provider (the store's policy has
   * identity.oidc; GET /v1/auth/config says so): opens the system browser on the IdP (PKCE,
   * loopback redirect on 127.0.0.1), exchanges the ID token for a store session kept in the OS
   * keychain and renewed from the IdP while the console runs, then creates or selects the signing
   * key exactly like setup. Team, approver groups and roles come from the IdP groups.
   */
  'console:main:sign-in-idp': {
    input: z.strictObject({ storeUrl: z.url({ protocol: /^https?$/ }), key: KeyChoiceSchema }),
    output: SessionSchema,
  },

  /**
   * Settings → "Add hardware key": create or select another signing key for the signed-in
   * principal WITHOUT signing out (the token stays where it is). The profile switches to the new key
   * once it exists; the returned session carries its public key and enroll command, and it signs
   * once an admin enrolls it. Fails like setup (PIN cancelled, token or key not found) and then
   * nothing changes.
   */
  'console:main:change-key': {
    input: z.strictObject({ key: KeyChoiceSchema }),
    output: SessionSchema,
  },

  /**
   * This machine's TPM 2.0 as main reaches it: whether the "TPM 2.0 (this machine)" key choice is
   * possible, and if not the reason; its attestation keys and existing approver keys by handle.
   */
  'console:main:get-tpm-status': { input: EmptyInputSchema, output: TpmStatusSchema },

  /**
   * A fresh certification of the session's TPM key (the store accepts one for an hour after it is
   * made): certified again by the same attestation key inside the TPM and, for an EK-anchored key,
   * a new store challenge answered again (a challenge is used once). Refused unless the session's
   * key is a TPM key.
   */
  'console:main:certify-tpm-key': { input: EmptyInputSchema, output: SessionSchema },

  /**
   * The PIV attestation of the session's PKCS#11 key, read from the token now (ykcs11: the YubiKey
   * makes the key attestation certificate when it is read) and checked to certify this console's
   * key; `available: false` with the reason for any other token. Refused (conflict) when the
   * token's attestation certifies another key. Needs no PIN: certificates are public objects.
   */
  'console:main:read-piv-attestation': { input: EmptyInputSchema, output: PivAttestationReadSchema },

  /** Forget the token (and, with forgetKey, the software key) from the keychain. Returns the unconfigured session. */
  'console:main:sign-out': {
    input: z.strictObject({ forgetKey: z.boolean().default(false) }),
    output: SessionSchema,
  },

  /** Requests waiting for my decision, sorted by severity then age. Needs the store. */
  'console:main:list-inbox': {
    input: EmptyInputSchema,
    output: z.strictObject({ items: z.array(InboxItemSchema), fetchedAt: TimestampSchema }),
  },

  /**
   * A page of the requests I may see by filter (all fields optional), newest first; `cursor` (a
   * previous page's nextCursor, with the same filters) asks for the page after it. The page size
   * is the console core's. Needs the store.
   */
  'console:main:list-requests': {
    input: z.strictObject({
      state: z.union([RequestStateSchema, z.literal('open')]).optional(),
      requester: PrincipalNameSchema.optional(),
      team: SlugSchema.optional(),
      gate: SlugSchema.optional(),
      cursor: pageCursorSchema('requests').optional(),
    }),
    output: z.strictObject({ requests: z.array(BypassRequestSchema), nextCursor: z.string().nullable() }),
  },

  /**
   * One request with its decisions, who may approve, the requester's/team's/gate's bypass history
   * and whether I may approve (with the reason when not). Served from the local copy when the
   * store is unreachable (`source: 'mirror'`), in which case every action is disabled.
   */
  'console:main:get-request': {
    input: z.strictObject({ id: RequestIdSchema }),
    output: z.strictObject({
      request: BypassRequestSchema,
      gate: GateInfoSchema.nullable(),
      decisions: z.array(DecisionRecordSchema),
      approvers: z.array(PrincipalNameSchema),
      history: HistorySchema,
      canApprove: CanApproveSchema,
      /** Deny / ask for context / revoke are allowed (same separation-of-duties reason otherwise). */
      canDecide: CanApproveSchema,
      /** TTLs the approver may grant: the policy's choices up to the one asked. */
      ttlChoices: z.array(TtlSchema),
      data: DataSourceSchema,
    }),
  },

  /**
   * Approve with a TTL at most the one asked. Main builds the decision statement, signs it locally
   * (asking for the PIN itself when the key is on a hardware token: the PIN never reaches the
   * renderer), then sends the bundle. The caller must have shown a confirmation naming the gate,
   * the scope and the exact expiry time first.
   */
  'console:main:approve': {
    input: z.strictObject({ id: RequestIdSchema, digest: SeenDigestSchema, ttl: TtlSchema, comment: CommentSchema.default('') }),
    output: DecisionResultSchema,
  },
  /** Deny; the reason is required. Signed like approve. */
  'console:main:deny': { input: z.strictObject({ id: RequestIdSchema, digest: SeenDigestSchema, comment: DecisionCommentSchema }), output: DecisionResultSchema },
  /** Ask the requester for context (request_info decision). Signed like approve. */
  'console:main:ask': { input: z.strictObject({ id: RequestIdSchema, digest: SeenDigestSchema, message: DecisionCommentSchema }), output: DecisionResultSchema },
  /** Revoke an active bypass; the reason is required. Signed like approve. */
  'console:main:revoke': { input: z.strictObject({ id: RequestIdSchema, digest: SeenDigestSchema, comment: DecisionCommentSchema }), output: DecisionResultSchema },

  /** Active bypasses (state active), soonest expiry first. Needs the store. */
  'console:main:list-active': {
    input: EmptyInputSchema,
    output: z.strictObject({ requests: z.array(BypassRequestSchema), fetchedAt: TimestampSchema }),
  },

  /**
   * A page of post-incident reviews (all states when `state` is absent), newest opened first;
   * `cursor` (a previous page's nextCursor) asks for the page after it. The first page is served
   * from the local copy when offline (then nextCursor is null: later pages need the store).
   */
  'console:main:list-reviews': {
    input: z.strictObject({ state: ReviewStateSchema.optional(), cursor: pageCursorSchema('reviews').optional() }),
    output: z.strictObject({ reviews: z.array(ReviewSchema), nextCursor: z.string().nullable(), data: DataSourceSchema }),
  },

  /** Sign off a review (someone other than the requester). Needs the store. */
  'console:main:complete-review': {
    input: z.strictObject({
      id: ReviewIdSchema,
      finding: ReviewFindingSchema,
      note: z.string().trim().min(10, 'a review note needs at least 10 characters').max(5000),
    }),
    output: z.strictObject({ review: ReviewSchema }),
  },

  /** Gate health: every report at once from GET /v1/reports/health. Served from the local copy when offline. */
  'console:main:get-health': {
    input: EmptyInputSchema,
    output: z.strictObject({ report: HealthReportSchema, data: DataSourceSchema }),
  },

  /**
   * Query the local verified ledger mirror (works offline). `search` matches target, actor, gate,
   * reason, incident ref and approver (case-insensitive substring). Newest first.
   */
  'console:main:query-ledger': {
    input: z.strictObject({
      search: z.string().max(200).optional(),
      gate: SlugSchema.optional(),
      team: SlugSchema.optional(),
      actor: z.string().max(64).optional(),
      type: LedgerEntryTypeSchema.optional(),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(1000).default(100),
    }),
    output: z.strictObject({
      entries: z.array(z.strictObject({ entry: LedgerEntrySchema, verification: VerificationStateSchema })),
      /** Matching entries in the mirror (for the virtualized list's length). */
      total: z.number().int().nonnegative(),
      /** Entries in the mirror. */
      mirrorSize: z.number().int().nonnegative(),
      /** Entries covered by the last verified checkpoint (seq < verifiedTreeSize are `verified`). */
      verifiedTreeSize: z.number().int().nonnegative(),
      checkpoint: VerifiedCheckpointSchema.nullable(),
      lastSyncAt: TimestampSchema.nullable(),
    }),
  },

  /** Fetch new ledger entries from the store and verify them now (also runs in the background). */
  'console:main:sync-ledger': {
    input: EmptyInputSchema,
    output: z.strictObject({
      added: z.number().int().nonnegative(),
      mirrorSize: z.number().int().nonnegative(),
      verifiedTreeSize: z.number().int().nonnegative(),
      lastSyncAt: TimestampSchema,
      /**
       * The console as a checkpoint witness: its vkey (for the policy's witnesses:), the size it
       * cosigned in this sync (null: nothing new), and what the store said to the cosignature.
       */
      witness: z
        .strictObject({ name: z.string(), vkey: z.string(), cosignedSize: z.number().int().nonnegative().nullable(), storeAnswer: z.string().nullable() })
        .optional(),
    }),
  },

  /**
   * The console's own witness key (Settings): its note name and C2SP vkey, what an admin adds to
   * the policy's `witnesses:` so this console's cosignatures count. Created in the keychain on
   * first use, as the first sync would; null when the console cannot witness (no keychain, not
   * signed in).
   */
  'console:main:get-witness-key': { input: EmptyInputSchema, output: ConsoleWitnessKeySchema.nullable() },

  'console:main:get-settings': { input: EmptyInputSchema, output: SettingsSchema },

  /** Change some settings (omitted fields keep their value). Returns the full settings. */
  'console:main:update-settings': {
    input: z.strictObject({
      notificationThreshold: NotificationThresholdSchema.optional(),
      pauseUntil: TimestampSchema.nullable().optional(),
      startAtLogin: z.boolean().optional(),
      pinCacheMinutes: z.number().int().min(0).max(MAX_PIN_CACHE_MINUTES).optional(),
    }),
    output: SettingsSchema,
  },

  /** Pause notifications (except sev1) for `minutes` from now; 0 resumes them. */
  'console:main:pause-notifications': {
    input: z.strictObject({ minutes: z.number().int().min(0).max(MAX_PAUSE_MINUTES) }),
    output: SettingsSchema,
  },

  /**
   * Open a link in the system browser. Only https URLs whose host is allow-listed (session.linkHosts)
   * are opened; anything else is refused with `forbidden`. Main parses the URL with `new URL`.
   */
  'console:main:open-external': {
    input: z.strictObject({ url: HttpsUrlInputSchema }),
    /**
     * `opened: true`: main opened it in the system browser (Electron). `opened: false` (browser
     * host): the URL passed the allow-list and the caller must open `url` itself with
     * window.open(url, '_blank', 'noopener,noreferrer').
     */
    output: z.strictObject({ opened: z.boolean(), url: z.string() }),
  },
} as const;

export type MainContract = typeof mainContract;
export type MainChannel = keyof MainContract;
export const MAIN_CHANNELS = Object.keys(mainContract) as MainChannel[];

/** What the caller passes (defaults still optional). */
export type ChannelInput<C extends MainChannel> = z.input<MainContract[C]['input']>;
/** What the handler receives after parsing (defaults applied). */
export type ParsedChannelInput<C extends MainChannel> = z.output<MainContract[C]['input']>;
export type ChannelOutput<C extends MainChannel> = z.output<MainContract[C]['output']>;

/** Main → renderer events (Electron: webContents.send; browser host: SSE on GET /ipc/events). */
export const rendererEvents = {
  /** The inbox may have changed (new request, decision, expiry): refetch list-inbox. `count` = requests awaiting me. */
  'console:renderer:inbox-changed': z.strictObject({ count: z.number().int().nonnegative() }),
  /** Open this request (a notification or a tray menu item was clicked). */
  'console:renderer:open-request': z.strictObject({ id: RequestIdSchema }),
  'console:renderer:connection-changed': ConnectionStateSchema,
  /**
   * Browser host only: a hardware-key signature needs the PIN. The renderer must open `url`
   * (a static page served by the host, not the React app) in a popup, in response to a click if
   * popups are blocked; that page posts the PIN straight to the host. The React app never sees it.
   */
  'console:renderer:pin-required': z.strictObject({
    promptId: z.string().regex(/^[0-9a-f]{32}$/),
    url: z.string(),
    /** What is being signed, e.g. "approve req_… (deploy-prod)". */
    purpose: z.string(),
    tokenLabel: z.string(),
  }),
  /** Browser host only: the PIN prompt was answered, cancelled or timed out; close any UI for it. */
  'console:renderer:pin-settled': z.strictObject({ promptId: z.string().regex(/^[0-9a-f]{32}$/) }),
  /**
   * A notification the rules let through (Electron shows it natively from main; the browser host's
   * renderer shows it with the Web Notifications API when the user allowed it).
   */
  'console:renderer:notification': z.strictObject({
    kind: z.enum(['request', 'sla_soon', 'sla_overdue', 'reply', 'expiring', 'review', 'session', 'emergency']),
    requestId: RequestIdSchema.nullable(),
    severity: SeveritySchema,
    title: z.string(),
    body: z.string(),
  }),
} as const;

export type RendererEvents = typeof rendererEvents;
export type RendererEvent = keyof RendererEvents;
export type RendererEventPayload<E extends RendererEvent> = z.infer<RendererEvents[E]>;
export const RENDERER_EVENTS = Object.keys(rendererEvents) as RendererEvent[];

// ---------------------------------------------------------------------------------------------
// Results and the renderer-facing API shape
// ---------------------------------------------------------------------------------------------

export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: AppErrorBody };

export function ipcResultSchema<T extends z.ZodType>(value: T) {
  return z.union([z.strictObject({ ok: z.literal(true), value }), z.strictObject({ ok: z.literal(false), error: AppErrorBodySchema })]);
}

/** Throw the AppError of a failed result, or return the value. */
export function unwrapIpcResult<T>(result: IpcResult<T>): T {
  if (result.ok) return result.value;
  throw AppError.fromBody(result.error);
}

export { MAIN_METHODS, type MainMethod } from './channels';

// Compile-time proof that channels.ts names exactly the contract's channels and events.
type MethodChannel = (typeof MAIN_METHODS)[MainMethod];
type MissingChannels = Exclude<MainChannel, MethodChannel>;
type UnknownChannels = Exclude<MethodChannel, MainChannel>;
const _methodsMatchChannels: [MissingChannels | UnknownChannels] extends [never] ? true : MissingChannels | UnknownChannels = true;
type EventNamesMismatch = Exclude<RendererEvent, (typeof RENDERER_EVENT_NAMES)[number]> | Exclude<(typeof RENDERER_EVENT_NAMES)[number], RendererEvent>;
const _eventNamesMatch: [EventNamesMismatch] extends [never] ? true : EventNamesMismatch = true;
void _methodsMatchChannels;
void _eventNamesMatch;


/** Channels whose input has no required field can be called without an argument. */
type MethodArgs<C extends MainChannel> = Record<never, never> extends ChannelInput<C> ? [input?: ChannelInput<C>] : [input: ChannelInput<C>];

/**
 * `window.breakglass` as the preload (Electron) or the browser-host bridge exposes it.
 * Each method resolves to an IpcResult (never rejects for an AppError; it may reject if the
 * transport itself breaks). `on()` subscribes to a renderer event and returns an unsubscribe.
 */
export type BreakglassApi = {
  [M in MainMethod]: (...args: MethodArgs<(typeof MAIN_METHODS)[M]>) => Promise<IpcResult<ChannelOutput<(typeof MAIN_METHODS)[M]>>>;
} & {
  on<E extends RendererEvent>(event: E, callback: (payload: RendererEventPayload<E>) => void): () => void;
};

/** Header carrying the browser host's secret token on every /ipc request. */
export const BROWSER_HOST_TOKEN_HEADER = 'x-breakglass-token';
/** Set by the browser host on a 401 that refuses the page's link token itself (not a refusal passed on from the store). */
export const BROWSER_HOST_LINK_REFUSED_HEADER = 'x-breakglass-link';
/** Default browser host port (ARCHITECTURE.md). */
export const BROWSER_HOST_DEFAULT_PORT = 7420;
