import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError, parseOrThrow } from '../../shared/errors';
import type { History } from '../../shared/domain/api';
import type { DecisionKind } from '../../shared/domain/decision';
import type { WhoAmI } from '../../shared/domain/identity';
import type { Policy } from '../../shared/domain/policy';
import { CanonicalRequestSchema, type BypassRequest } from '../../shared/domain/request';
import type { Severity } from '../../shared/domain/common';
import { ttlToMs } from '../../shared/domain/ttl';
import { decisionDueAt } from '../../shared/policy/sla';
import type { Review } from '../../shared/domain/review';
import { HealthReportSchema, type HealthReport } from '../../shared/domain/reports';
import { newDecisionStatement } from '../../shared/signing/decision-statement';
import { requestDigest } from '../../shared/signing/request-digest';
import { signDecision } from '../../shared/node/signing/sign-decision';
import type { DecisionSigner } from '../../shared/node/signing/signer';
import { parseCheckpoint } from '../../shared/ledger/checkpoint';
import { verifyNote } from '../../shared/ledger/signed-note';
import { ed25519NoteVerifier } from '../../shared/node/ledger/node-crypto';
import type {
  ChannelOutput,
  ConnectionState,
  GateInfo,
  InboxItem,
  ParsedChannelInput,
  Session,
  SessionKey,
  Settings,
} from '../../shared/ipc/contract';
import type { ConsoleBackend, ConsoleHandlers, RendererEventListener } from './console-api';
import { EventHub } from './event-hub';
import { LedgerMirror, type LedgerSource, type PublishedCheckpoint } from './ledger-mirror';
import { NotifierRules, isCriticalTier, type ConsoleNotification } from './notifier';
import { OfflineCache } from './offline-cache';
import { pinCancelled, type PinPrompt } from './pin-prompt';
import { SettingsStore, writeJsonAtomic } from './settings';
import { defaultSignerProvider, type HardwareSigner, type Pkcs11KeyRef, type SignerProvider } from './signer-provider';
import type { PinRequest } from './signers/pkcs11-signer';
import { SseClient } from './sse-client';
import { StoreClient } from './store-client';
import { CredentialVault } from './vault/credential-vault';

/** The SSE resume point is written to disk at most this often. */
const PROFILE_SAVE_DEBOUNCE_MS = 1_000;
/** Coalesce bursts of store events into one inbox refresh. */
const REFRESH_DEBOUNCE_MS = 150;
/** Policy (gate kinds, tiers, TTL choices) is refetched at most this often. */
const POLICY_MAX_AGE_MS = 60_000;
/** Request pages pre-cached for offline reading after each inbox refresh. */
const PREFETCH_REQUESTS = 20;
/** A pre-cached request page younger than this (and newer than the request's last change) is kept. */
const PREFETCH_FRESH_MS = 5 * 60_000;

const SEVERITY_RANK: Record<Severity, number> = { sev1: 0, sev2: 1, sev3: 2, sev4: 3 };

const ProfileSchema = z.strictObject({
  storeUrl: z.string(),
  principal: z.string(),
  key: z.strictObject({
    kind: z.enum(['software', 'pkcs11']),
    keyId: z.string(),
    publicKeyPem: z.string(),
    hardwareBacked: z.boolean(),
    pkcs11: z.strictObject({ modulePath: z.string(), tokenLabel: z.string(), keyLabel: z.string() }).nullable(),
  }),
  /** Last SSE event id handled, so a restart resumes the stream where it stopped. */
  lastEventId: z.string().nullable().default(null),
});
type Profile = z.infer<typeof ProfileSchema>;

const CheckpointResponseSchema = z.looseObject({ origin: z.string(), treeSize: z.number().int(), checkpoint: z.string().nullable() });
const LogKeyResponseSchema = z.looseObject({ origin: z.string(), publicKeyPem: z.string() });

export interface ConsoleServiceOptions {
  /** Console data dir: profile, settings, ledger mirror, offline cache (nothing secret). */
  dataDir: string;
  host: 'electron' | 'browser';
  pinPrompt: PinPrompt;
  /** Opens the vault; defaults to CredentialVault.open() (keytar). */
  openVault?: () => Promise<CredentialVault>;
  signers?: SignerProvider;
  /** Show a native notification (Electron) or record it (browser host, tests). */
  notify?: (notification: ConsoleNotification) => void;
  /** Electron: shell.openExternal. Absent in the browser host (the renderer opens the checked URL). */
  openExternal?: (url: string) => Promise<void>;
  /** Electron: apply settings that touch the OS (login item). */
  onSettingsChanged?: (settings: Settings) => void;
  events?: EventHub;
  now?: () => Date;
  fetchImpl?: typeof fetch;
  /** Reconnect tuning for tests. */
  sse?: { initialBackoffMs?: number; maxBackoffMs?: number };
}

/**
 * The one object every transport calls (Electron ipc.ts, the browser host, tests): session and
 * setup (keychain vault + signer), inbox, request pages, signed decisions, reviews, the ledger
 * mirror, settings and notifications. Plain Node: no Electron import.
 */
export class ConsoleService implements ConsoleBackend {
  readonly handlers: ConsoleHandlers;
  readonly events: EventHub;
  private readonly settings: SettingsStore;
  private readonly cache: OfflineCache;
  private readonly mirror: LedgerMirror;
  private readonly signers: SignerProvider;
  private readonly now: () => Date;
  private profile: Profile | undefined;
  private client: StoreClient | undefined;
  private vault: CredentialVault | undefined;
  private keychain: { available: boolean; message: string | null } = { available: false, message: 'not checked yet' };
  private whoami: WhoAmI | undefined;
  private policy: { value: Policy; fetchedAt: number } | undefined;
  private connection: ConnectionState = { online: false, offlineSince: null, lastSyncAt: null, lastError: null };
  private sse: SseClient | undefined;
  private rules = new NotifierRules();
  private refreshTimer: NodeJS.Timeout | undefined;
  private inboxCount = 0;
  private lastInbox: InboxItem[] = [];
  private hardwareSigner: HardwareSigner | undefined;
  private stopped = false;

  constructor(private readonly options: ConsoleServiceOptions) {
    this.events = options.events ?? new EventHub();
    this.settings = new SettingsStore(options.dataDir);
    this.cache = new OfflineCache(options.dataDir);
    this.mirror = new LedgerMirror(join(options.dataDir, 'ledger'));
    this.signers = options.signers ?? defaultSignerProvider;
    this.now = options.now ?? (() => new Date());
    this.handlers = {
      'console:main:get-session': () => this.getSession(),
      'console:main:setup': (input) => this.setup(input),
      'console:main:sign-out': (input) => this.signOut(input),
      'console:main:list-inbox': () => this.listInbox(),
      'console:main:list-requests': (input) => this.listRequests(input),
      'console:main:get-request': (input) => this.getRequest(input),
      'console:main:approve': (input) => this.decide(input.id, 'approve', input.comment, input.ttl),
      'console:main:deny': (input) => this.decide(input.id, 'deny', input.comment),
      'console:main:ask': (input) => this.decide(input.id, 'request_info', input.message),
      'console:main:revoke': (input) => this.decide(input.id, 'revoke', input.comment),
      'console:main:list-active': () => this.listActive(),
      'console:main:list-reviews': (input) => this.listReviews(input),
      'console:main:complete-review': (input) => this.completeReview(input),
      'console:main:get-health': () => this.getHealth(),
      'console:main:query-ledger': (input) => this.queryLedger(input),
      'console:main:sync-ledger': () => this.syncLedger(),
      'console:main:get-settings': () => this.settings.get(),
      'console:main:update-settings': (input) => this.updateSettings(input),
      'console:main:pause-notifications': (input) => this.pauseNotifications(input.minutes),
      'console:main:open-external': (input) => this.openExternal(input.url),
    };
  }

  subscribe(listener: RendererEventListener): () => void {
    return this.events.subscribe(listener);
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  /** Load the profile and, when configured, connect: event stream, inbox, ledger sync. */
  async start(): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true, mode: 0o700 });
    this.rules = new NotifierRules(await this.loadNotified());
    await this.mirror.load().catch(() => undefined);
    this.connection = { ...this.connection, lastSyncAt: this.mirror.lastSyncAt };
    await this.probeKeychain();
    this.profile = await this.loadProfile();
    if (!this.profile) return;
    const token = this.vault ? await this.vault.getToken(this.profile.storeUrl, this.profile.principal).catch(() => null) : null;
    if (!token) return;
    this.connect(token);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.refreshTimer);
    await this.sse?.stop();
    this.sse = undefined;
    if (this.profileSaveTimer) {
      clearTimeout(this.profileSaveTimer);
      this.profileSaveTimer = undefined;
      const snapshot = this.profile ? { ...this.profile } : undefined;
      if (snapshot) this.profileWrites = this.profileWrites.then(() => writeJsonAtomic(this.profilePath, snapshot)).catch(() => undefined);
    }
    await this.profileWrites;
    this.hardwareSigner?.clearPinCache?.();
  }

  // -- session & setup -------------------------------------------------------------------------

  private async getSession(): Promise<Session> {
    if (!this.keychain.available) await this.probeKeychain();
    const profile = this.profile;
    const configured = profile !== undefined && this.client !== undefined;
    // Whoami is cheap and changes when an admin enrolls the key: refresh it for every session read
    // (not while offline: the event stream's reconnect tells us when the store is back).
    if (configured && (this.connection.online || !this.whoami)) await this.refreshWhoami().catch(() => undefined);
    const policy = configured ? await this.currentPolicy().catch(() => undefined) : undefined;
    return {
      configured,
      storeUrl: profile?.storeUrl ?? null,
      principal: profile?.principal ?? null,
      roles: this.whoami?.roles ?? [],
      team: this.whoami?.team ?? null,
      approverGroups: this.whoami?.approverGroups ?? [],
      key: profile ? this.sessionKey(profile) : null,
      keychain: this.keychain,
      connection: this.connection,
      linkHosts: policy?.incidentLinkHosts ?? [],
      host: this.options.host,
    };
  }

  private sessionKey(profile: Profile): SessionKey {
    const enrolled = this.whoami?.keys.some((k) => k.keyId === profile.key.keyId && k.revokedAt === null) ?? false;
    return {
      ...profile.key,
      enrolled,
      enrollCommand: `breakglass admin approver enroll --principal ${profile.principal} --public-key ${profile.principal}.pub.pem${profile.key.hardwareBacked ? ' --hardware' : ''}`,
    };
  }

  private async setup(input: ParsedChannelInput<'console:main:setup'>): Promise<Session> {
    const vault = await this.requireVault();
    const storeUrl = input.storeUrl.replace(/\/+$/, '');
    const client = new StoreClient({ storeUrl, token: input.token, fetchImpl: this.options.fetchImpl });
    const whoami = await this.tracked(client.whoami());
    const principal = whoami.principal;
    let key: Profile['key'];
    if (input.key.kind === 'software') {
      const signer = await this.signers.keychainSigner({ vault, storeUrl, principal }, true);
      if (!signer) throw new AppError('internal', 'the keychain did not keep the new signing key');
      key = { kind: 'software', keyId: signer.keyId, publicKeyPem: signer.publicKeyPem, hardwareBacked: false, pkcs11: null };
    } else {
      const ref: Pkcs11KeyRef = { modulePath: input.key.modulePath, tokenLabel: input.key.tokenLabel, keyLabel: input.key.keyLabel };
      this.currentPurpose = `${input.key.mode === 'generate' ? 'create' : 'select'} the signing key "${ref.keyLabel}" on token "${ref.tokenLabel}"`;
      const signer = await this.signers.pkcs11Signer({ ...ref, mode: input.key.mode, getPin: this.pinAsker(ref), pinCacheMs: await this.pinCacheMs() });
      this.hardwareSigner = signer;
      key = { kind: 'pkcs11', keyId: signer.keyId, publicKeyPem: signer.publicKeyPem, hardwareBacked: true, pkcs11: ref };
    }
    await vault.setToken(storeUrl, principal, input.token);
    const profile: Profile = { storeUrl, principal, key, lastEventId: null };
    await writeJsonAtomic(this.profilePath, profile);
    await this.sse?.stop();
    this.profile = profile;
    this.whoami = whoami;
    this.policy = undefined;
    this.connect(input.token);
    return this.getSession();
  }

  private async signOut(input: ParsedChannelInput<'console:main:sign-out'>): Promise<Session> {
    const profile = this.profile;
    await this.sse?.stop();
    this.sse = undefined;
    if (profile && this.vault) {
      await this.vault.deleteToken(profile.storeUrl, profile.principal);
      if (input.forgetKey && profile.key.kind === 'software') await this.vault.deleteSigningKey(profile.storeUrl, profile.principal);
    }
    clearTimeout(this.profileSaveTimer);
    this.profileSaveTimer = undefined;
    await this.profileWrites;
    await rm(this.profilePath, { force: true });
    this.profile = undefined;
    this.client = undefined;
    this.whoami = undefined;
    this.policy = undefined;
    this.logKey = undefined;
    this.hardwareSigner?.clearPinCache?.();
    this.hardwareSigner = undefined;
    this.setInboxCount(0);
    this.lastInbox = [];
    this.events.emit('console:renderer:inbox-changed', { count: 0 });
    return this.getSession();
  }

  // -- inbox, requests -------------------------------------------------------------------------

  private async listInbox(): Promise<ChannelOutput<'console:main:list-inbox'>> {
    const client = this.requireClient();
    const [requests, policy] = await Promise.all([this.tracked(client.listRequests({ awaiting: 'me', limit: 5000 })), this.currentPolicy()]);
    const settings = await this.settings.get();
    const items = requests
      .filter((r) => r.state === 'pending' || r.state === 'needs_info')
      .map((request) => this.inboxItem(request, policy, settings))
      .sort((a, b) => SEVERITY_RANK[a.request.severity] - SEVERITY_RANK[b.request.severity] || a.request.createdAt.localeCompare(b.request.createdAt));
    this.setInboxCount(items.length);
    this.lastInbox = items;
    return { items, fetchedAt: this.now().toISOString() };
  }

  private inboxItem(request: BypassRequest, policy: Policy | undefined, settings: Settings): InboxItem {
    const incidentFlagged = request.incidentRef !== null;
    return {
      request,
      gate: this.gateInfo(request.gate, request, policy, settings),
      approvalsSoFar: request.approvals.length,
      slaDeadline: new Date(decisionDueAt(request)).toISOString(),
      incidentFlagged,
    };
  }

  private gateInfo(gateId: string, request: BypassRequest | undefined, policy: Policy | undefined, settings: Settings): GateInfo {
    const gate = policy?.gates.find((g) => g.id === gateId);
    const tierId = gate?.tier ?? request?.tier ?? 'unknown';
    const tier = policy?.tiers[tierId];
    return {
      id: gateId,
      kind: gate?.kind ?? request?.gateKind ?? 'slow',
      tier: tierId,
      description: gate?.description ?? null,
      critical: isCriticalTier(tierId, policy, settings.notificationThreshold.criticalTiers),
      approvalsRequired: tier?.approvals ?? request?.approvalsRequired ?? 1,
      hardwareKeyRequired: tier?.hardwareKeyRequired ?? false,
      maxTtl: tier?.maxTtl ?? request?.ttl ?? '1h',
    };
  }

  private async listRequests(input: ParsedChannelInput<'console:main:list-requests'>): Promise<ChannelOutput<'console:main:list-requests'>> {
    return { requests: await this.tracked(this.requireClient().listRequests(input)) };
  }

  private async getRequest(input: ParsedChannelInput<'console:main:get-request'>): Promise<ChannelOutput<'console:main:get-request'>> {
    const client = this.requireClient();
    const cacheKey = `request:${input.id}`;
    let detail: Awaited<ReturnType<StoreClient['getRequest']>>;
    let history: History;
    try {
      detail = await this.tracked(client.getRequest(input.id));
      history = await this.tracked(client.history({ requester: detail.request.requester, team: detail.request.team, gate: detail.request.gate }));
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'store_unreachable') throw error;
      const cached = await this.cache.get<ChannelOutput<'console:main:get-request'>>(cacheKey);
      if (!cached) throw new AppError('store_unreachable', `${error.message}; this request was never opened while online, so there is no local copy`);
      const reason = `the store is unreachable${this.connection.offlineSince ? ` (offline since ${this.connection.offlineSince})` : ''}`;
      return {
        ...cached.value,
        canApprove: { allowed: false, reason },
        canDecide: { allowed: false, reason },
        data: { source: 'mirror', asOf: cached.at },
      };
    }
    const [policy, settings] = await Promise.all([this.currentPolicy().catch(() => undefined), this.settings.get()]);
    if (this.profile && !this.sessionKey(this.profile).enrolled) await this.refreshWhoami().catch(() => undefined);
    const result: ChannelOutput<'console:main:get-request'> = {
      request: detail.request,
      gate: this.gateInfo(detail.request.gate, detail.request, policy, settings),
      decisions: detail.decisions,
      approvers: detail.approvers,
      history,
      canApprove: this.canApprove(detail.request, detail.approvers, policy),
      canDecide: this.canDecide(detail.request, detail.approvers),
      ttlChoices: (policy?.ttlChoices ?? [detail.request.ttl]).filter((t) => ttlToMs(t) <= ttlToMs(detail.request.ttl)),
      data: { source: 'store', asOf: this.now().toISOString() },
    };
    await this.cache.put(cacheKey, result, this.now());
    return result;
  }

  private canApprove(request: BypassRequest, approvers: string[], policy: Policy | undefined): { allowed: boolean; reason: string | null } {
    const me = this.profile?.principal;
    const deny = (reason: string) => ({ allowed: false, reason });
    if (!me || !this.profile) return deny('the console is not set up');
    if (request.requester === me) return deny('you filed this request: no self-approval');
    if (!this.whoami?.roles.includes('approver')) return deny('your principal does not have the approver role');
    if (request.state !== 'pending') return deny(`the request is ${request.state.replace('_', ' ')}, not pending`);
    if (request.approvals.some((a) => a.approver === me)) return deny('you already approved this request: a second approval must come from someone else');
    if (!approvers.includes(me)) return deny(`you are not an eligible approver for tier ${request.tier} (approver groups or same-team rule)`);
    const tier = policy?.tiers[request.tier];
    if (tier?.hardwareKeyRequired && !this.profile.key.hardwareBacked) return deny(`tier ${request.tier} requires a hardware-backed key; yours is a software key`);
    if (!this.sessionKey(this.profile).enrolled) return deny('your signing key is not enrolled with the store yet: give the public key to an admin');
    return { allowed: true, reason: null };
  }

  private canDecide(request: BypassRequest, approvers: string[]): { allowed: boolean; reason: string | null } {
    const me = this.profile?.principal;
    if (!me) return { allowed: false, reason: 'the console is not set up' };
    if (request.requester === me) return { allowed: false, reason: 'you filed this request: no decisions on your own request' };
    if (!this.whoami?.roles.includes('approver')) return { allowed: false, reason: 'your principal does not have the approver role' };
    if (!['pending', 'needs_info', 'active'].includes(request.state)) return { allowed: false, reason: `the request is ${request.state}` };
    if (!approvers.includes(me) && request.state !== 'active') return { allowed: false, reason: `you are not an eligible approver for tier ${request.tier}` };
    return { allowed: true, reason: null };
  }

  // -- signed decisions ------------------------------------------------------------------------

  private async decide(id: string, decision: DecisionKind, comment: string, ttl?: string): Promise<ChannelOutput<'console:main:approve'>> {
    const client = this.requireClient();
    const profile = this.profile as Profile;
    const detail = await this.tracked(client.getRequest(id));
    // Recompute the digest from the canonical fields: we sign what we saw, not what the store claims.
    const canonical = parseOrThrow(CanonicalRequestSchema, pickCanonical(detail.request), 'request from the store');
    const digest = requestDigest(canonical, (bytes) => new Uint8Array(createHash('sha256').update(bytes).digest()));
    if (digest !== detail.request.digest) {
      throw new AppError('verification_failed', `the store's digest for ${id} does not match the request it sent: refusing to sign`);
    }
    if (decision === 'approve') {
      if (!this.sessionKey(profile).enrolled) await this.refreshWhoami().catch(() => undefined);
      const verdict = this.canApprove(detail.request, detail.approvers, await this.currentPolicy().catch(() => undefined));
      if (!verdict.allowed) throw new AppError('forbidden', verdict.reason ?? 'not allowed');
      if (ttl && ttlToMs(ttl) > ttlToMs(detail.request.ttl)) {
        throw new AppError('invalid_input', `an approval may shorten the TTL, never lengthen it (asked: ${detail.request.ttl})`, { fieldErrors: [{ path: 'ttl', message: `at most ${detail.request.ttl}` }] });
      }
    }
    const statement = newDecisionStatement({
      request: { id, digest },
      decision,
      approver: profile.principal,
      comment,
      ...(decision === 'approve' ? { ttl } : {}),
      nonceHex: randomBytes(16).toString('hex'),
      now: this.now(),
    });
    const purpose = `${decision.replace('_', ' ')} ${id} (${detail.request.gate}, ${Object.entries(detail.request.scope).map(([k, v]) => `${k}=${v}`).join(',')})`;
    const signer = await this.signer(purpose);
    const bundle = await signDecision(statement, signer);
    const result = await this.tracked(client.sendDecision(id, bundle));
    this.scheduleRefresh();
    return { request: result.request, decision: result.decision };
  }

  private async signer(purpose: string): Promise<DecisionSigner> {
    const profile = this.profile as Profile;
    this.currentPurpose = purpose;
    if (profile.key.kind === 'software') {
      const vault = await this.requireVault();
      const signer = await this.signers.keychainSigner({ vault, storeUrl: profile.storeUrl, principal: profile.principal }, false);
      if (!signer) throw new AppError('unavailable', 'the signing key is missing from the keychain: run setup again to create one');
      return signer;
    }
    const ref = profile.key.pkcs11 as Pkcs11KeyRef;
    this.hardwareSigner ??= await this.signers.pkcs11Signer({ ...ref, mode: 'use', getPin: this.pinAsker(ref), pinCacheMs: await this.pinCacheMs() });
    if (this.hardwareSigner.keyId !== profile.key.keyId) {
      throw new AppError('verification_failed', `the key "${ref.keyLabel}" on token "${ref.tokenLabel}" is not the one set up (${profile.key.keyId}): refusing to sign`);
    }
    return this.hardwareSigner;
  }

  /** What the next PIN prompt says is being signed. */
  private currentPurpose = '';

  private async pinCacheMs(): Promise<number> {
    return (await this.settings.get()).pinCacheMinutes * 60_000;
  }

  /** getPin callback for the PKCS#11 signer: asks the PinPrompt (Electron window or browser-host page). */
  private pinAsker(ref: Pkcs11KeyRef): (request: PinRequest) => Promise<string> {
    return async () => {
      const pin = await this.options.pinPrompt.ask({ purpose: this.currentPurpose, tokenLabel: ref.tokenLabel, keyLabel: ref.keyLabel, attempt: 1 });
      if (!pin) throw pinCancelled();
      return pin;
    };
  }

  // -- active, reviews -------------------------------------------------------------------------

  private async listActive(): Promise<ChannelOutput<'console:main:list-active'>> {
    const requests = await this.tracked(this.requireClient().listRequests({ state: 'active', limit: 5000 }));
    requests.sort((a, b) => (a.expiresAt ?? '').localeCompare(b.expiresAt ?? ''));
    return { requests, fetchedAt: this.now().toISOString() };
  }

  /** Gate health (issue 7); the last report fetched is served when the store is unreachable. */
  private async getHealth(): Promise<ChannelOutput<'console:main:get-health'>> {
    const client = this.requireClient();
    try {
      const report = await this.tracked(client.get('/v1/reports/health', HealthReportSchema));
      await this.cache.put('health', report, this.now());
      return { report, data: { source: 'store', asOf: this.now().toISOString() } };
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'store_unreachable') throw error;
      const cached = await this.cache.get<HealthReport>('health');
      if (!cached) throw error;
      return { report: cached.value, data: { source: 'mirror', asOf: cached.at } };
    }
  }

  private async listReviews(input: ParsedChannelInput<'console:main:list-reviews'>): Promise<ChannelOutput<'console:main:list-reviews'>> {
    const client = this.requireClient();
    const cacheKey = `reviews:${input.state ?? 'all'}`;
    try {
      const reviews = await this.tracked(client.listReviews(input.state));
      await this.cache.put(cacheKey, reviews, this.now());
      return { reviews, data: { source: 'store', asOf: this.now().toISOString() } };
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'store_unreachable') throw error;
      const cached = await this.cache.get<Review[]>(cacheKey);
      if (!cached) throw error;
      return { reviews: cached.value, data: { source: 'mirror', asOf: cached.at } };
    }
  }

  private async completeReview(input: ParsedChannelInput<'console:main:complete-review'>): Promise<ChannelOutput<'console:main:complete-review'>> {
    const review = await this.tracked(this.requireClient().completeReview(input.id, { finding: input.finding, note: input.note }));
    return { review };
  }

  // -- ledger ----------------------------------------------------------------------------------

  private async queryLedger(input: ParsedChannelInput<'console:main:query-ledger'>): Promise<ChannelOutput<'console:main:query-ledger'>> {
    await this.mirror.load();
    return this.mirror.query(input);
  }

  private async syncLedger(): Promise<ChannelOutput<'console:main:sync-ledger'>> {
    const client = this.requireClient();
    const { added } = await this.tracked(this.mirror.sync(this.ledgerSource(client), this.now));
    const lastSyncAt = this.mirror.lastSyncAt ?? this.now().toISOString();
    this.setConnection({ ...this.connection, lastSyncAt });
    return { added, mirrorSize: this.mirror.size, verifiedTreeSize: this.mirror.verifiedTreeSize, lastSyncAt };
  }

  private ledgerSource(client: StoreClient): LedgerSource {
    return {
      entries: (from, limit) => client.ledgerEntries(from, limit),
      latestCheckpoint: async (): Promise<PublishedCheckpoint | null> => {
        const published = await client.get('/v1/ledger/checkpoint', CheckpointResponseSchema);
        // A fresh store may not have signed a checkpoint yet: entries stay `unverified` meanwhile.
        if (!published.checkpoint) return null;
        this.logKey ??= await client.get('/v1/ledger/public-key', LogKeyResponseSchema);
        const { text } = verifyNote(published.checkpoint, [ed25519NoteVerifier(this.logKey.origin, this.logKey.publicKeyPem)]);
        const checkpoint = parseCheckpoint(text);
        if (checkpoint.origin !== this.logKey.origin) throw new AppError('verification_failed', `checkpoint origin ${checkpoint.origin} is not the log's (${this.logKey.origin})`);
        return { size: checkpoint.size, rootHash: checkpoint.rootHash, note: published.checkpoint, logKey: { origin: this.logKey.origin, publicKeyPem: this.logKey.publicKeyPem } };
      },
    };
  }

  private logKey: { origin: string; publicKeyPem: string } | undefined;

  // -- settings --------------------------------------------------------------------------------

  private async updateSettings(input: ParsedChannelInput<'console:main:update-settings'>): Promise<Settings> {
    const next = await this.settings.update(input);
    if (input.pinCacheMinutes !== undefined) {
      // The cache window is fixed when a signer opens: reopen it with the new one (and forget the PIN).
      this.hardwareSigner?.clearPinCache?.();
      this.hardwareSigner = undefined;
    }
    this.options.onSettingsChanged?.(next);
    return next;
  }

  async pauseNotifications(minutes: number): Promise<Settings> {
    return this.updateSettings({ pauseUntil: minutes === 0 ? null : new Date(this.now().getTime() + minutes * 60_000).toISOString() });
  }

  private async openExternal(raw: string): Promise<{ opened: boolean; url: string }> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AppError('invalid_input', 'not a URL', { fieldErrors: [{ path: 'url', message: 'must be an absolute https URL' }] });
    }
    const hosts = (await this.currentPolicy().catch(() => undefined))?.incidentLinkHosts ?? [];
    if (url.protocol !== 'https:') throw new AppError('forbidden', `only https links are opened (got ${url.protocol})`);
    if (url.username || url.password) throw new AppError('forbidden', 'links with credentials are not opened');
    if (!hosts.includes(url.hostname.toLowerCase())) throw new AppError('forbidden', `${url.hostname} is not an allow-listed link host (${hosts.join(', ') || 'none configured'})`);
    if (this.options.openExternal) {
      await this.options.openExternal(url.href);
      return { opened: true, url: url.href };
    }
    return { opened: false, url: url.href };
  }

  // -- background: event stream, inbox refresh, notifications ---------------------------------

  /** Refresh the inbox now (also notifies for new requests). Exposed for the tray and tests. */
  async refreshInbox(): Promise<InboxItem[]> {
    const { items } = await this.listInbox();
    const [settings, policy] = await Promise.all([this.settings.get(), this.currentPolicy().catch(() => undefined)]);
    const me = this.profile?.principal ?? '';
    let changed = false;
    for (const item of items) {
      const verdict = this.rules.decide(item.request, { me, settings, policy, now: this.now() });
      if (verdict.notify) {
        changed = true;
        this.options.notify?.(verdict.notification);
      }
    }
    if (changed) await this.saveNotified();
    this.events.emit('console:renderer:inbox-changed', { count: items.length });
    void this.prefetch(items.slice(0, PREFETCH_REQUESTS));
    return items;
  }

  /**
   * Cache request pages (with history) so they stay readable offline. One pass at a time, and a
   * page cached recently is not fetched again, so a burst of new requests does not flood the store.
   */
  private async prefetch(items: InboxItem[]): Promise<void> {
    if (this.prefetching) return;
    this.prefetching = true;
    try {
      for (const item of items) {
        if (this.stopped || !this.connection.online) return;
        const cached = await this.cache.get(`request:${item.request.id}`);
        if (cached && Date.now() - Date.parse(cached.at) < PREFETCH_FRESH_MS && Date.parse(cached.at) >= Date.parse(item.request.updatedAt)) continue;
        await this.getRequest({ id: item.request.id }).catch(() => undefined);
      }
    } finally {
      this.prefetching = false;
    }
  }

  private prefetching = false;

  private connect(token: string): void {
    const profile = this.profile as Profile;
    this.client = new StoreClient({ storeUrl: profile.storeUrl, token, fetchImpl: this.options.fetchImpl });
    this.stopped = false;
    this.sse = new SseClient({
      url: `${profile.storeUrl}/v1/events`,
      headers: () => ({ authorization: `Bearer ${token}` }),
      lastEventId: profile.lastEventId ?? undefined,
      fetchImpl: this.options.fetchImpl,
      initialBackoffMs: this.options.sse?.initialBackoffMs,
      maxBackoffMs: this.options.sse?.maxBackoffMs,
      onEvent: (event) => {
        if (event.id !== undefined && this.profile) {
          this.profile.lastEventId = event.id;
          this.saveProfileSoon();
        }
        this.scheduleRefresh();
      },
      onConnectionChange: (connected, error) => {
        if (connected) {
          this.markOnline();
          this.scheduleRefresh();
        } else this.markOffline(`the event stream dropped: ${error ?? 'unknown'}`);
      },
    });
    this.sse.start();
    this.scheduleRefresh();
  }

  private scheduleRefresh(): void {
    if (this.stopped) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      void this.refreshInbox().catch(() => undefined);
      void this.syncLedger().catch(() => undefined);
    }, REFRESH_DEBOUNCE_MS);
    this.refreshTimer.unref();
  }

  /** Resolves when pending background work (debounced refresh + ledger sync) has run; for tests and shutdown. */
  async settle(): Promise<void> {
    await new Promise((r) => setTimeout(r, REFRESH_DEBOUNCE_MS + 20));
    await this.refreshInbox().catch(() => undefined);
    await this.syncLedger().catch(() => undefined);
  }

  // -- helpers ---------------------------------------------------------------------------------

  private get profilePath(): string {
    return join(this.options.dataDir, 'console.json');
  }

  /**
   * Persist the resume point at most once per PROFILE_SAVE_DEBOUNCE_MS (a burst of thousands of
   * events is one write), writes serialized so an older snapshot never lands after a newer one.
   */
  private saveProfileSoon(): void {
    if (this.profileSaveTimer) return;
    this.profileSaveTimer = setTimeout(() => {
      this.profileSaveTimer = undefined;
      const snapshot = this.profile ? { ...this.profile } : undefined;
      if (!snapshot) return;
      this.profileWrites = this.profileWrites.then(() => writeJsonAtomic(this.profilePath, snapshot)).catch(() => undefined);
    }, PROFILE_SAVE_DEBOUNCE_MS);
    this.profileSaveTimer.unref();
  }

  private profileSaveTimer: NodeJS.Timeout | undefined;
  private profileWrites: Promise<void> = Promise.resolve();

  private async loadProfile(): Promise<Profile | undefined> {
    const text = await readFile(this.profilePath, 'utf8').catch(() => undefined);
    if (!text) return undefined;
    return parseOrThrow(ProfileSchema, JSON.parse(text), this.profilePath);
  }

  private async loadNotified(): Promise<string[]> {
    const text = await readFile(join(this.options.dataDir, 'notified.json'), 'utf8').catch(() => undefined);
    try {
      return text ? (JSON.parse(text) as string[]).filter((v) => typeof v === 'string') : [];
    } catch {
      return [];
    }
  }

  private async saveNotified(): Promise<void> {
    // Bounded: only the newest ids matter (old requests are no longer pending).
    await writeJsonAtomic(join(this.options.dataDir, 'notified.json'), this.rules.notifiedIds.slice(-5000));
  }

  private async probeKeychain(): Promise<void> {
    try {
      this.vault = await (this.options.openVault ?? (() => CredentialVault.open()))();
      this.keychain = { available: true, message: null };
    } catch (error) {
      this.vault = undefined;
      this.keychain = { available: false, message: error instanceof Error ? error.message : String(error) };
    }
  }

  private async requireVault(): Promise<CredentialVault> {
    if (!this.vault) await this.probeKeychain();
    if (!this.vault) throw new AppError('unavailable', this.keychain.message ?? 'no OS keychain available');
    return this.vault;
  }

  private requireClient(): StoreClient {
    if (!this.client || !this.profile) throw new AppError('unauthenticated', 'the console is not set up: enter the store URL and your token first');
    return this.client;
  }

  private async refreshWhoami(): Promise<WhoAmI> {
    this.whoami = await this.tracked(this.requireClient().whoami());
    return this.whoami;
  }

  private async currentPolicy(): Promise<Policy | undefined> {
    if (this.policy && Date.now() - this.policy.fetchedAt < POLICY_MAX_AGE_MS) return this.policy.value;
    if (!this.client) return this.policy?.value;
    try {
      const { policy } = await this.tracked(this.client.policy());
      this.policy = { value: policy, fetchedAt: Date.now() };
      // Whoami can change with the policy (enrolled keys, groups): refresh it alongside.
      await this.refreshWhoami().catch(() => undefined);
    } catch (error) {
      if (!this.policy) throw error;
    }
    return this.policy?.value;
  }

  /** Run a store call, keeping the connection state (online / offline since) up to date. */
  private async tracked<T>(call: Promise<T>): Promise<T> {
    try {
      const value = await call;
      this.markOnline();
      return value;
    } catch (error) {
      if (error instanceof AppError && error.code === 'store_unreachable') this.markOffline(error.message);
      else if (!(error instanceof AppError) || error.code !== 'verification_failed') this.markOnline();
      throw error;
    }
  }

  private markOnline(): void {
    if (this.connection.online) return;
    this.setConnection({ ...this.connection, online: true, offlineSince: null, lastError: null });
  }

  private markOffline(message: string): void {
    if (!this.connection.online && this.connection.offlineSince) {
      if (this.connection.lastError !== message) this.setConnection({ ...this.connection, lastError: message });
      return;
    }
    this.setConnection({ ...this.connection, online: false, offlineSince: this.now().toISOString(), lastError: message });
  }

  private setConnection(next: ConnectionState): void {
    const changed = JSON.stringify(next) !== JSON.stringify(this.connection);
    this.connection = next;
    if (changed) this.events.emit('console:renderer:connection-changed', next);
  }

  private setInboxCount(count: number): void {
    this.inboxCount = count;
  }

  /** The inbox as of the last refresh (tray menu). */
  get inbox(): InboxItem[] {
    return this.lastInbox;
  }

  /** Requests waiting for me after the last refresh (tray badge). */
  get waitingCount(): number {
    return this.inboxCount;
  }

  get connectionState(): ConnectionState {
    return this.connection;
  }
}

function pickCanonical(request: BypassRequest): Record<string, unknown> {
  const keys = Object.keys(CanonicalRequestSchema.shape);
  return Object.fromEntries(keys.map((key) => [key, (request as Record<string, unknown>)[key]]));
}
