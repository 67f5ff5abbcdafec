import { mkdir } from 'node:fs/promises';
import type { ConnectionState, InboxItem, Settings } from '../../shared/ipc/contract';
import { systemClock, type ConsoleClock } from './clock';
import type { ConsoleBackend, ConsoleHandlers, RendererEventListener } from './console-api';
import { DecisionService } from './decisions/decision-service';
import { EventHub } from './event-hub';
import { ExternalLinks } from './external-links';
import { CoalescingTrigger } from './inbox/coalescing-trigger';
import { InboxService } from './inbox/inbox-service';
import { NotificationService } from './inbox/notification-service';
import { createConsoleLogger, type ConsoleLogger } from './logger';
import { MirrorService } from './mirror/mirror-service';
import type { ConsoleNotification } from './notifier';
import { OfflineCache } from './offline-cache';
import type { PinPrompt } from './pin-prompt';
import { OfflineFallback } from './read-models/offline-fallback';
import { ReadModels } from './read-models/read-models';
import { ReviewService } from './read-models/review-service';
import { ConnectionTracker } from './session/connection-tracker';
import { KeychainAccess } from './session/keychain-access';
import { ProfileStore } from './session/profile-store';
import { SessionService, type SoftwareKeyFile } from './session/session-service';
import { IdpSignIn } from './session/idp-sign-in';
import { IdpSessionRenewal } from './session/idp-session-renewal';
import type { SessionVault } from '../../shared/node/oidc/session-vault';
import { AppError } from '../../shared/errors';
import { StoreEvents } from './session/store-events';
import { SettingsStore } from './settings';
import { SettingsService } from './settings-service';
import { createSignerProvider, type SignerProvider } from './signer-provider';
import { ConsoleTpm } from './signers/console-tpm';
import { readPivAttestation } from './signers/ykcs11-attestation';
import { SigningKeys } from './signers/signing-keys';
import { defaultTpmTcti } from '../../shared/node/tpm/tpm-probe';
import { CredentialVault } from './vault/credential-vault';

/**
 * The inbox is refreshed at most this long after the first store event that may change it, however
 * many follow (coalesced, never postponed: CI traffic at tens of events a second cannot starve it).
 */
export const INBOX_REFRESH_MAX_DELAY_MS = 150;
/** Time-driven follow-ups (SLA running out, a bypass I approved ending, a review for me) are checked this often. */
export const FOLLOW_UP_TICK_MS = 30_000;
/** The ledger mirror syncs at most this long after the first new entry (every entry, evaluations included). */
export const MIRROR_SYNC_MAX_DELAY_MS = 500;

export interface ConsoleOptions {
  /** Console data dir: profile, settings, ledger mirror, offline cache (nothing secret). */
  dataDir: string;
  host: 'electron' | 'browser';
  /** The store this console was launched for (BREAKGLASS_STORE, the demo): the setup screen pre-fills it. */
  storeUrl?: string;
  pinPrompt: PinPrompt;
  /** Opens the vault; defaults to CredentialVault.open() (keytar). */
  openVault?: () => Promise<CredentialVault>;
  signers?: SignerProvider;
  /**
   * PKCS#11 module paths allowed besides the well-known system ones (OpenSC, ykcs11, SoftHSM2,
   * tpm2-pkcs11). Main-process configuration only: renderer input never reaches this list.
   */
  allowedPkcs11Modules?: readonly string[];
  /**
   * Key files offered as a software-file signer while no OS keychain is usable (`npm start` passes
   * the demo's approver keys). Main-process configuration only; production consoles pass none.
   */
  softwareKeyFiles?: readonly SoftwareKeyFile[];
  /**
   * This machine's TPM for the "TPM 2.0 (this machine)" key: the TCTI tpm2-tools reach it with
   * (default $TPM2TOOLS_TCTI, else device:/dev/tpmrm0, as `keygen --tpm`) and the storage parent
   * (default 0x81000001). Main-process configuration only: renderer input never names a TPM.
   */
  tpm?: { tcti?: string; parentHandle?: number };
  /**
   * Which PKCS#11 modules are Yubico's ykcs11, whose PIV attestation main reads over PKCS#11
   * (default: the module's file name says ykcs11, isYkcs11ModulePath). Main-process configuration
   * only; tests name another module (SoftHSM2 holding ykcs11's objects).
   */
  isYkcs11Module?: (modulePath: string) => boolean;
  /** Show a native notification (Electron) or record it (browser host, tests). */
  notify?: (notification: ConsoleNotification) => void;
  /** Electron: shell.openExternal. Absent in the browser host (the renderer opens the checked URL). */
  openExternal?: (url: string) => Promise<void>;
  /**
   * Opens the system browser on the IdP for sign-in (default: openExternal). A host with neither
   * cannot sign in through the IdP (setup with a token still works).
   */
  openSignInUrl?: (url: string) => Promise<void>;
  /** Where IdP sessions are kept; default the OS keychain, else 0600 files in the data dir (tests pass a file vault). */
  openIdpVault?: () => Promise<SessionVault>;
  /** Electron: apply settings that touch the OS (login item). */
  onSettingsChanged?: (settings: Settings) => void;
  events?: EventHub;
  clock?: ConsoleClock;
  logger?: ConsoleLogger;
  fetchImpl?: typeof fetch;
  /** Reconnect tuning for tests. */
  sse?: { initialBackoffMs?: number; maxBackoffMs?: number };
  /** Reviews per page of the Reviews screen (default REVIEW_PAGE, the store's default page); tests page through a few. */
  reviewPageSize?: number;
  /** Requests per page of the Requests screen (default REQUEST_PAGE, the store's default page); tests page through a few. */
  requestPageSize?: number;
}

/** The console core as every transport (Electron main, the browser host, tests) holds it. */
export interface ConsoleCore extends ConsoleBackend {
  readonly events: EventHub;
  readonly dataDir: string;
  readonly logger: ConsoleLogger;
  /** Load the profile and, when configured, connect: event stream, inbox, ledger sync. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Refresh the inbox now (also notifies for new requests): the tray's menu and tests. */
  refreshInbox(): Promise<InboxItem[]>;
  /** Run the time-driven follow-up notifications now (the tick does it every FOLLOW_UP_TICK_MS; tests). */
  followUp(): Promise<void>;
  pauseNotifications(minutes: number): Promise<Settings>;
  /** The inbox as of the last refresh (tray menu). */
  readonly inbox: InboxItem[];
  /** Requests waiting for me after the last refresh (tray badge). */
  readonly waitingCount: number;
  readonly connectionState: ConnectionState;
}

/** The store's halt record as GET /v1/ledger/checkpoint reports it (`halted`, null when the log runs). */
type HaltRecord = null | undefined | string | { since?: string; seq?: number | null; table?: string; reason?: string };

/** One line for the banner and the tray from the store's halt record, or null when the log runs. */
export function haltMessage(halted: HaltRecord): string | null {
  if (halted === null || halted === undefined) return null;
  if (typeof halted === 'string') return halted;
  const reason = halted.reason ?? 'integrity check failed';
  // The table and entry, unless the reason already names them (the guard's usually does).
  const where = [
    halted.table && !reason.includes(`table ${halted.table}`) ? `table ${halted.table}` : '',
    halted.seq !== null && halted.seq !== undefined && !new RegExp(`\\bentry ${halted.seq}\\b`).test(reason) ? `entry ${halted.seq}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${reason}${where ? ` (${where})` : ''}`;
}

/** What an emergency notification says, from the ledger entry the event stream delivered. */
export function emergencyNotification(type: 'emergency_used' | 'emergency_refused', entry: Record<string, unknown>): { title: string; body: string } {
  const data = (entry.data ?? {}) as Record<string, unknown>;
  const credential = typeof data.credentialId === 'string' ? data.credentialId : 'unknown';
  if (type === 'emergency_refused') {
    return { title: 'EMERGENCY credential refused', body: `${String(entry.actor ?? 'someone')} presented sealed credential ${credential}, which is burned, retired or unknown: nothing was opened.` };
  }
  const until = typeof entry.expiresAt === 'string' ? ` until ${entry.expiresAt}` : '';
  return {
    title: `EMERGENCY: ${String(entry.actor ?? 'someone')} opened ${String(entry.gate ?? 'a gate')} with sealed credential ${credential}`,
    body: `No approver was asked${until}. Everyone on the paging list was told; a review needs two sign-offs from outside the team.`,
  };
}

/** What a session notification says, for the states worth interrupting someone for. */
export function sessionNotification(status: ConnectionState['status'], statusText: string): { title: string; body: string } | undefined {
  if (status === 'token_rejected') return { title: 'Breakglass: token rejected, sign in again', body: `${statusText}. The console no longer receives requests.` };
  if (status === 'log_halted') return { title: 'Breakglass: the store halted its ledger', body: statusText };
  if (status === 'offline') return { title: 'Breakglass: store unreachable', body: `${statusText}. New requests will not reach you until it is back.` };
  return undefined;
}

/**
 * Builds the console core from small services, in order, with one clock and one logger: keychain
 * and profile → connection state → signing keys → session → read models (one offline fallback),
 * reviews, decisions, inbox and notifications, ledger mirror, settings → the event stream and the
 * background refreshes that tie them together → the IPC handler map (shared/ipc/contract.ts).
 */
export function composeConsole(options: ConsoleOptions): ConsoleCore {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createConsoleLogger();
  const events = options.events ?? new EventHub(logger);
  const { dataDir } = options;

  const settingsStore = new SettingsStore(dataDir);
  const keychain = new KeychainAccess(options.openVault ?? (() => CredentialVault.open()), logger);
  const profiles = new ProfileStore(dataDir, clock, logger);
  const connection = new ConnectionTracker(clock, events);
  const keys = new SigningKeys({
    keychain,
    provider: options.signers ?? createSignerProvider({ allowedPkcs11Modules: options.allowedPkcs11Modules }),
    pinPrompt: options.pinPrompt,
    pinCacheMs: async () => (await settingsStore.get()).pinCacheMinutes * 60_000,
    tpm: new ConsoleTpm({ tcti: options.tpm?.tcti ?? defaultTpmTcti(process.env), parentHandle: options.tpm?.parentHandle, clock, logger }),
    logger,
  });

  // The session starts and stops the background work below; they are built after it, so the
  // hooks reach them through these late-bound functions.
  const lifecycle = { signedIn: (_token: string) => undefined as void, signedOut: async () => undefined as void, tokenReplaced: async (_token: string) => undefined as void };
  const session = new SessionService({
    host: options.host,
    launchStoreUrl: options.storeUrl,
    keychain,
    softwareKeyFiles: options.softwareKeyFiles,
    profiles,
    connection,
    keys,
    clock,
    logger,
    fetchImpl: options.fetchImpl,
    hooks: {
      signedIn: (_session, token) => lifecycle.signedIn(token),
      signedOut: () => lifecycle.signedOut(),
      tokenReplaced: (token) => lifecycle.tokenReplaced(token),
    },
  });
  const openSignInUrl = options.openSignInUrl ?? options.openExternal;
  const idp = new IdpSignIn({
    dataDir,
    logger,
    fetchImpl: options.fetchImpl,
    openVault: options.openIdpVault,
    openBrowser: async (url) => {
      if (!openSignInUrl) throw new AppError('unavailable', 'this console cannot open a browser for the sign-in: set it up with a token from an admin');
      await openSignInUrl(url);
    },
  });
  const idpRenewal = new IdpSessionRenewal({ idp, session, clock, logger });

  const fallback = new OfflineFallback(new OfflineCache(dataDir, logger), connection, clock);
  const mirror = new MirrorService(dataDir, session, connection, clock, { keychain, logger });
  const readModels = new ReadModels({ session, connection, fallback, settings: settingsStore, clock, requestPageSize: options.requestPageSize, ledgerEntriesFor: (id) => mirror.mirror.entriesFor(id).filter((e) => mirror.mirror.verificationOf(e.seq) !== 'failed') });
  const reviews = new ReviewService(session, connection, fallback, clock, options.reviewPageSize);
  // Every notification goes to the host (native in Electron, recorded in the browser host) and to the renderer.
  const notifyAll = (notification: ConsoleNotification) => {
    options.notify?.(notification);
    events.emit('console:renderer:notification', notification);
  };
  const notifications = new NotificationService(dataDir, notifyAll, clock, logger);
  const inbox = new InboxService({ session, connection, settings: settingsStore, notifications, readModels, fallback, events, clock, logger });
  const settings = new SettingsService(settingsStore, keys, clock, options.onSettingsChanged);
  const links = new ExternalLinks(session, options.openExternal);

  const inboxRefresh = new CoalescingTrigger({
    clock,
    logger,
    name: 'inbox refresh',
    delayMs: INBOX_REFRESH_MAX_DELAY_MS,
    task: async () => {
      if (session.active) await inbox.refresh();
    },
  });
  const mirrorSync = new CoalescingTrigger({
    clock,
    logger,
    name: 'ledger mirror sync',
    delayMs: MIRROR_SYNC_MAX_DELAY_MS,
    task: async () => {
      if (session.active) await mirror.sync();
    },
  });
  const decisions = new DecisionService({ session, connection, keys, clock, decided: () => inboxRefresh.request() });

  const storeEvents = new StoreEvents({
    fetchImpl: options.fetchImpl,
    backoff: options.sse,
    logger,
    onEntry: (id, type, entry) => {
      if (id !== undefined) session.noteEventId(id);
      // A bypass opened with a sealed emergency credential (no approver): every approver hears of it,
      // whether or not it was ever in their inbox; a refused use is an alarm too (issue 15).
      if ((type === 'emergency_used' || type === 'emergency_refused') && entry && session.active) {
        const text = emergencyNotification(type, entry);
        notifyAll({ kind: 'emergency', requestId: typeof entry.target === 'string' && entry.target.startsWith('req_') ? entry.target : null, severity: 'sev1', ...text });
      }
      // Entries about me: a revoked token (is it this one?), an enrolled or revoked key (can I sign now?).
      if (type === 'token_revoked' || type === 'key_enrolled' || type === 'key_revoked') void session.refreshWhoamiOrKeep(`ledger entry ${type}`);
      // Evaluations under a bypass (CI traffic) never change what waits for me.
      if (type !== 'evaluation_under_bypass') inboxRefresh.request();
      mirrorSync.request();
    },
    onConnected: () => {
      connection.markOnline();
      // A halt announced while we were away: ask once on every (re)connect, then on the tick.
      checkLogHalted().catch((error: unknown) => logger.debug({ err: error }, 'ledger halt state not read'));
      inboxRefresh.request();
      mirrorSync.request();
    },
    onDropped: (reason, wasUp) => (wasUp ? connection.markReconnecting(reason) : connection.markOffline(reason)),
    onRejected: (reason) => connection.markTokenRejected(reason),
  });
  // A rejected token ends the session's background work: retrying with it cannot succeed. The
  // session turning bad is notified once per transition (token rejected, log halted, offline).
  const notify = notifyAll;
  connection.onChange((state, previous) => {
    if (state.status === previous.status) return;
    if (state.status === 'token_rejected') void storeEvents.stop();
    const text = sessionNotification(state.status, state.statusText);
    if (text && session.active) notify({ kind: 'session', requestId: null, severity: 'sev1', ...text });
  });

  // Whether the store halted its ledger (GET /v1/ledger/checkpoint .halted: null when healthy).
  const checkLogHalted = async () => {
    const active = session.active;
    if (!active || !connection.current.online) return;
    const { halted } = await connection.track(active.client.call('ledgerCheckpoint'));
    connection.markLogHalted(haltMessage(halted));
  };

  // The follow-up tick: one pass every FOLLOW_UP_TICK_MS while signed in (a pass never overlaps the next).
  let cancelTick: (() => void) | undefined;
  const tick = () => {
    cancelTick = clock.after(FOLLOW_UP_TICK_MS, () => {
      Promise.all([inbox.followUp(), checkLogHalted()])
        // The next tick tries again; the connection state already says why the store did not answer.
        .catch((error: unknown) => logger.debug({ err: error }, 'follow-up notifications skipped this tick'))
        .finally(() => {
          if (cancelTick) tick();
        });
    });
  };

  lifecycle.signedIn = (token) => {
    const active = session.current();
    connection.reset();
    cancelTick?.();
    tick();
    inboxRefresh.restart();
    mirrorSync.restart();
    inbox.resume();
    storeEvents.connect(active.profile, token);
    inboxRefresh.request();
  };
  const haltBackground = async () => {
    cancelTick?.();
    cancelTick = undefined;
    await storeEvents.stop();
    await Promise.all([inboxRefresh.stop(), mirrorSync.stop()]);
    await inbox.halt();
  };
  lifecycle.tokenReplaced = async (token) => {
    const active = session.current();
    await storeEvents.stop();
    storeEvents.connect(active.profile, token);
  };
  lifecycle.signedOut = async () => {
    await haltBackground();
    connection.reset();
    inbox.reset();
    mirror.reset();
    keys.reset();
  };

  const handlers: ConsoleHandlers = {
    'console:main:get-session': () => session.getSession(),
    'console:main:setup': (input) => session.setup(input),
    'console:main:sign-in-idp': async (input) => {
      const signedIn = await idp.signIn(input.storeUrl);
      return session.setup({ storeUrl: input.storeUrl, token: signedIn.token, key: input.key });
    },
    'console:main:change-key': (input) => session.changeKey(input),
    'console:main:get-tpm-status': () => keys.tpmStatus(),
    'console:main:certify-tpm-key': () => session.certifyTpmKey(),
    'console:main:read-piv-attestation': () => {
      const { profile } = session.current();
      return readPivAttestation(profile.principal, profile.key, { allowedModulePaths: options.allowedPkcs11Modules ?? [], isYkcs11Module: options.isYkcs11Module });
    },
    'console:main:sign-out': async (input) => {
      const storeUrl = session.active?.profile.storeUrl;
      if (storeUrl) {
        // Sign out at the IdP and the store too when this console signed in through the IdP.
        try {
          await idp.signOut(storeUrl);
        } catch (error) {
          logger.warn({ err: error, storeUrl }, 'could not end the identity provider session; the local sign-out goes on');
        }
      }
      return session.signOut(input);
    },
    'console:main:list-inbox': () => inbox.list(),
    'console:main:list-requests': (input) => readModels.listRequests(input),
    'console:main:get-request': (input) => readModels.getRequest(input),
    'console:main:approve': (input) => decisions.decide({ id: input.id, seenDigest: input.digest, decision: 'approve', comment: input.comment, ttl: input.ttl }),
    'console:main:deny': (input) => decisions.decide({ id: input.id, seenDigest: input.digest, decision: 'deny', comment: input.comment }),
    'console:main:ask': (input) => decisions.decide({ id: input.id, seenDigest: input.digest, decision: 'request_info', comment: input.message }),
    'console:main:revoke': (input) => decisions.decide({ id: input.id, seenDigest: input.digest, decision: 'revoke', comment: input.comment }),
    'console:main:list-active': () => readModels.listActive(),
    'console:main:list-reviews': (input) => reviews.listReviews(input),
    'console:main:complete-review': (input) => reviews.completeReview(input),
    'console:main:get-health': () => readModels.getHealth(),
    'console:main:query-ledger': (input) => mirror.query(input),
    'console:main:sync-ledger': () => mirror.sync(),
    'console:main:get-witness-key': () => mirror.witnessKey(),
    'console:main:get-settings': () => settings.get(),
    'console:main:update-settings': (input) => settings.update(input),
    'console:main:pause-notifications': (input) => settings.pause(input.minutes),
    'console:main:open-external': (input) => links.openExternal(input.url),
  };

  return {
    handlers,
    events,
    dataDir,
    logger,
    subscribe: (listener: RendererEventListener) => events.subscribe(listener),
    async start() {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      await notifications.load();
      try {
        await mirror.load();
      } catch (error) {
        // The console still works without its offline copy; the Ledger screen reports the failure on its next query.
        logger.error({ err: error, dataDir }, 'the ledger mirror could not be loaded');
      }
      await session.resume();
      idpRenewal.start();
    },
    async stop() {
      await idpRenewal.stop();
      await haltBackground();
      await profiles.flush();
      keys.reset();
    },
    refreshInbox: () => inbox.refresh(),
    followUp: () => inbox.followUp(),
    pauseNotifications: (minutes) => settings.pause(minutes),
    get inbox() {
      return inbox.items;
    },
    get waitingCount() {
      return inbox.items.length;
    },
    get connectionState() {
      return connection.current;
    },
  };
}
