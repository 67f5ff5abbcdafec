import { AppError } from '../../shared/errors';
import { parseCheckpoint } from '../../shared/ledger/checkpoint';
import { verifyCosignatureLine, type Cosignature } from '../../shared/ledger/cosignature';
import { addNoteSignatures, parseSignedNote } from '../../shared/ledger/signed-note';
import { parseVerifierKey, type VerifierKey } from '../../shared/ledger/verifier-key';
import { ADD_CHECKPOINT_PATH, TLOG_SIZE_CONTENT_TYPE, formatAddCheckpointRequest, parseTlogSize } from '../../shared/ledger/witness-protocol';
import { DEFAULT_WITNESS_GRACE, type WitnessesPolicy } from '../../shared/domain/policy-witnesses';
import { ttlToMs } from '../../shared/domain/ttl';
import type { AlertEvent } from '../alerts/alert-events';
import { enqueueOutboxItems, outboxItemsFor } from '../alerts/alert-dispatcher';
import type { Store } from '../storage/store';
import { nodeEd25519Verify, nodeSha256 } from '../../shared/node/ledger/node-crypto';
import type { StoreLogger } from '../logger';
import type { PolicyHolder } from '../policy/policy-holder';
import type { CosignatureSource, SignedCheckpoint } from '../storage/log-tables';
import type { TransparencyLog } from './transparency-log';

/**
 * The store's side of witnessing (C2SP tlog-witness / tlog-cosignature): the witnesses are the
 * policy's `witnesses:` (their vkeys, a push URL for always-on ones, a quorum). Every checkpoint
 * the log signs is pushed to each witness with a URL (`add-checkpoint`: the old size the witness
 * last cosigned and a consistency proof from it); consoles and CLIs behind NAT hand their
 * cosignatures back through `submit`. A cosignature is kept (append-only, ledger_cosignatures)
 * only if it verifies against that witness's key over a checkpoint this log signed; checkpoints
 * are then served with every cosignature appended as extra signature lines.
 *
 * Witness trouble never blocks the ledger: a refused or failed push is logged, counted
 * (/metrics) and shown in /healthz, and retried on a timer with backoff (1 s, doubling, at most
 * every 5 minutes), each retry pushing the newest checkpoint. When the entries signed longest ago
 * without a quorum of cosignatures are older than the policy's `grace`, that is an alarm: /healthz
 * says so, /metrics carries breakglass_witness_quorum_overdue 1, and one critical alert goes
 * through the outbox for the episode.
 *
 * With several instances on one PostgreSQL database the log is still one: checkpoints are one
 * sequence (each size signed once, by whichever instance stored it first), and each instance
 * pushes the checkpoints it signed. The others learn them (TransparencyLog.onCheckpointSeen)
 * and look again after WITNESS_TAKEOVER_MS: a listed witness that still has not cosigned the
 * newest checkpoint (its signer died, or is backing off) gets it from them. Retries push the
 * newest checkpoint of the log, whoever signed it, and a 409 saying the witness is already at
 * a later checkpoint of this log is not a failure. Quorum is read from ledger_cosignatures
 * (cosignatures kept by any instance count), and the alarm's alert key names the last
 * checkpoint a quorum vouched for, so every instance raising it raises the same episode, once.
 */

/** An error's message with its cause (fetch says only "fetch failed"; the cause names the refused connection). */
function errorText(error: unknown): string {
  const message = (error as Error).message;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause ? `${message}: ${cause.code ?? cause.message ?? String(cause)}` : message;
}

/** A push that gets no answer in this time fails (and is retried with backoff). */
export const WITNESS_PUSH_TIMEOUT_MS = 10_000;
/** First retry after a failed push; each further failure doubles it, up to WITNESS_RETRY_MAX_MS. */
export const WITNESS_RETRY_BASE_MS = 1_000;
/** The longest wait between retries to a witness that stays down. */
export const WITNESS_RETRY_MAX_MS = 5 * 60_000;
/**
 * After learning of a checkpoint another instance signed, wait this long before pushing the
 * newest checkpoint to a witness that has not cosigned it: the signer's own push has answered
 * or timed out by then.
 */
export const WITNESS_TAKEOVER_MS = WITNESS_PUSH_TIMEOUT_MS + 2 * WITNESS_RETRY_BASE_MS;
/** Checkpoints signed while waiting for a quorum, remembered to date the oldest unwitnessed one. */
const UNWITNESSED_REMEMBERED = 4096;

/** Timers, injected so tests move them by hand; a timer never keeps the process alive. */
export interface WitnessTimers {
  /** Call `fn` once after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemWitnessTimers: WitnessTimers = {
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** The delay before retry number `failures` (1 = after the first failure). */
export function witnessRetryDelayMs(failures: number): number {
  return Math.min(WITNESS_RETRY_MAX_MS, WITNESS_RETRY_BASE_MS * 2 ** Math.min(30, Math.max(0, failures - 1)));
}

/**
 * The critical alert for a log whose checkpoints went unwitnessed longer than the grace period.
 * `witnessedSize` is the size of the last checkpoint a quorum cosigned (0: none): it names the
 * episode, the same on every instance and across restarts, so the alert goes out once for it.
 */
export function witnessQuorumOverdueEvent(origin: string, status: WitnessStatus, witnessedSize: number): AlertEvent {
  const since = status.unwitnessedSince!;
  return {
    event: 'witness_quorum_overdue',
    key: `witness_quorum_overdue:${origin}:after:${witnessedSize}`,
    subject: origin,
    gate: null,
    occurredAt: since,
    title: 'The breakglass log is not being witnessed',
    text: status.message ?? `checkpoints signed since ${since} have fewer than ${status.quorum} witness cosignatures`,
    data: { origin, since, grace: status.grace, quorum: status.quorum, treeSize: status.treeSize, cosigned: status.cosigned, missing: status.missing, failures: status.failures },
  };
}
/** Largest cosignature answer read from a witness. */
const MAX_ANSWER_BYTES = 16 * 1024;

/**
 * The `alert` option as the grant store wires it: the event is claimed by its key in the store
 * (meta) and queued in the webhook outbox in one transaction, so it goes out once even when
 * several instances or a restart raise it again.
 */
export function outboxWitnessAlert(store: Store, policies: PolicyHolder, clock: () => Date): (event: AlertEvent) => Promise<void> {
  return async (event) => {
    const at = clock().toISOString();
    await store.transaction(async (tx) => {
      if (!(await tx.claimMeta(event.key, at))) return;
      await enqueueOutboxItems(tx, outboxItemsFor([event], policies.policy, at));
    });
  };
}

export interface WitnessFailure {
  at: string;
  treeSize: number;
  message: string;
  /** Pushes that failed in a row (0 once the witness cosigns again). */
  attempts: number;
  /** When the next push is due (null when none is planned: a witness without a URL). */
  retryAt: string | null;
}

export interface WitnessStatus {
  quorum: number;
  /** The latest signed checkpoint's size. */
  treeSize: number;
  /** Listed witnesses whose cosignature covers the latest checkpoint. */
  cosigned: string[];
  missing: string[];
  belowQuorum: boolean;
  /** The last failure per witness (push refused, unreachable, bad cosignature), while it has not cosigned since. */
  failures: Record<string, WitnessFailure>;
  /** How long checkpoints may wait for a quorum before it is an alarm (the policy's `grace`). */
  grace: string;
  /** When the oldest checkpoint no quorum of witnesses has vouched for was signed; null when every one is covered. */
  unwitnessedSince: string | null;
  /** True once that is longer ago than `grace`: the alarm. */
  overdue: boolean;
  /** What is wrong, in words, while overdue. */
  message: string | null;
}

interface PushState {
  /** The size this witness last cosigned, as far as the store knows (learnt from 200 or 409). */
  size: number | undefined;
  running: Promise<void> | undefined;
  /** The newest checkpoint waiting to be pushed while one is in flight (older ones are skipped). */
  next: SignedCheckpoint | undefined;
  /** Pushes that failed in a row. */
  failures: number;
  /** Cancels the planned retry, while backing off (new checkpoints then wait for it). */
  retry: (() => void) | undefined;
  retryAt: string | undefined;
  /** Cancels the planned look at another instance's checkpoint (WITNESS_TAKEOVER_MS). */
  takeover: (() => void) | undefined;
}

export interface CheckpointWitnessesOptions {
  log: TransparencyLog;
  policies: PolicyHolder;
  logger: StoreLogger;
  clock: () => Date;
  /** Retry and grace timers (default: real, unref'd timers). */
  timers?: WitnessTimers;
  /**
   * Queue an alert in the outbox, at most once per event key (across restarts and instances);
   * without it the alarm is only logged, shown in /healthz and /metrics.
   */
  alert?: (event: AlertEvent) => Promise<void>;
  /** HTTP client for pushes (tests inject nothing: the real fetch). */
  fetch?: typeof fetch;
}

export interface SubmitResult {
  treeSize: number;
  witness: string;
  stored: boolean;
  cosignatures: number;
  quorum: number;
}

export class CheckpointWitnesses {
  private readonly push = new Map<string, PushState>();
  private readonly failures = new Map<string, WitnessFailure>();
  private readonly failureCounts = new Map<string, number>();
  private readonly unsubscribe: () => void;
  private readonly timers: WitnessTimers;
  private closed = false;
  /** The newest checkpoint a quorum of listed witnesses cosigned (it vouches for every entry below it), as read from the database. */
  private witnessed = { checkpointId: 0, treeSize: 0 };
  /** Checkpoints past witnessedSize, oldest first: the first one dates the unwitnessed entries. */
  private unwitnessed: Array<{ treeSize: number; signedAt: string }> = [];
  private graceTimer: (() => void) | undefined;
  /** Set when the alarm was raised; cleared once a quorum covers the latest checkpoint (one alert per episode). */
  private alarmed = false;
  /** Quorum bookkeeping runs one step at a time (cosignatures and checkpoints arrive concurrently). */
  private quorumWork: Promise<void> = Promise.resolve();

  constructor(private readonly opts: CheckpointWitnessesOptions) {
    this.timers = opts.timers ?? systemWitnessTimers;
    const unsigned = opts.log.onCheckpointSigned((cp) => {
      this.pushAll(cp);
      this.quorumStep(() => this.checkpointSigned(cp));
    });
    // Another instance's checkpoint (PostgreSQL): its signer pushes it; this one dates the wait
    // from it too and makes sure, a little later, that the witnesses got the newest one.
    const unseen = opts.log.onCheckpointSeen((cp) => {
      this.takeoverAll();
      this.quorumStep(() => this.checkpointSigned(cp));
    });
    this.unsubscribe = () => {
      unsigned();
      unseen();
    };
    // What the store signed before this start is pushed again (a witness that was down at the last
    // checkpoint gets it now), and counts as unwitnessed until a quorum cosigns it.
    const latest = opts.log.latestCheckpoint();
    if (latest) {
      this.pushAll(latest);
      this.quorumStep(async () => {
        await this.syncWitnessed();
        await this.checkpointSigned(latest);
      });
    }
  }

  private get policy(): WitnessesPolicy | undefined {
    return this.opts.policies.policy.witnesses;
  }

  /** The listed witnesses' keys, by name (parsed from the policy in force). */
  private keys(): Map<string, { key: VerifierKey; url: string | undefined }> {
    const out = new Map<string, { key: VerifierKey; url: string | undefined }>();
    for (const member of this.policy?.members ?? []) {
      const key = parseVerifierKey(member.vkey, nodeSha256, 'cosignature/v1');
      out.set(key.name, { key, url: member.url });
    }
    return out;
  }

  /** The checkpoint's signed note with every stored cosignature appended (a valid signed note). */
  async cosignedNote(cp: SignedCheckpoint): Promise<string> {
    const stored = await this.opts.log.cosignatures(cp.id);
    return stored.length === 0 ? cp.note : addNoteSignatures(cp.note, stored.map((c) => c.line));
  }

  /**
   * A cosignature handed back by a witness: `checkpoint` is the signed note (or its body) it
   * cosigned, `line` its signature line. Refused unless the witness is in the policy, the
   * checkpoint is one this log signed and the cosignature verifies.
   */
  async submit(checkpoint: string, line: string): Promise<SubmitResult> {
    const policy = this.policy;
    if (!policy) throw new AppError('forbidden', 'the policy names no witnesses: this store keeps no cosignatures (add a witnesses: section with the witness\'s vkey)');
    const text = checkpoint.includes('\n\n') ? parseSignedNote(checkpoint).text : checkpoint;
    let parsed;
    try {
      parsed = parseCheckpoint(text);
    } catch (error) {
      throw new AppError('invalid_input', `checkpoint: ${(error as Error).message}`, { fieldErrors: [{ path: 'checkpoint', message: (error as Error).message }] });
    }
    if (parsed.origin !== this.opts.log.origin) throw new AppError('verification_failed', `the checkpoint is for log "${parsed.origin}", this store's log is "${this.opts.log.origin}"`);
    let cp = this.signedCheckpointWithText(parsed.size, text);
    if (!cp) {
      // Another instance may have signed it a moment ago (PostgreSQL): learn its checkpoints first.
      await this.opts.log.refreshCheckpoints();
      cp = this.signedCheckpointWithText(parsed.size, text);
    }
    if (!cp) throw new AppError('verification_failed', `this log never signed that checkpoint of size ${parsed.size} (a checkpoint from a fork, or altered)`);
    let name: string;
    try {
      name = parseSignedNote(`${text}\n${line.endsWith('\n') ? line : `${line}\n`}`).signatures[0]!.name;
    } catch (error) {
      throw new AppError('invalid_input', `cosignature: ${(error as Error).message}`, { fieldErrors: [{ path: 'cosignature', message: 'must be one signature line "— <name> <base64>"' }] });
    }
    const witness = this.keys().get(name);
    if (!witness) throw new AppError('forbidden', `"${name}" is not a witness of this store's policy (witnesses: ${[...this.keys().keys()].join(', ')})`);
    const cosignature = verifyCosignatureLine(text, line, witness.key, nodeEd25519Verify);
    const stored = await this.keep(cp, cosignature, 'submitted');
    const cosignatures = (await this.opts.log.cosignatures(cp.id)).filter((c) => this.keys().has(c.witness)).length;
    return { treeSize: cp.treeSize, witness: name, stored, cosignatures, quorum: policy.quorum };
  }

  private signedCheckpointWithText(size: number, text: string): SignedCheckpoint | undefined {
    const bodyOf = (c: SignedCheckpoint) => parseSignedNote(c.note).text;
    const newest = this.opts.log.checkpointOfSize(size);
    if (!newest) return undefined;
    if (bodyOf(newest) === text) return newest;
    // Several instances may each have signed this size (different timestamps): look at all of them.
    return this.opts.log.checkpoints(size).find((c) => c.treeSize === size && bodyOf(c) === text);
  }

  /** Run one step of the quorum bookkeeping after the ones before it; a failure is logged, never thrown. */
  private quorumStep(step: () => Promise<void>): void {
    this.quorumWork = this.quorumWork.then(step).catch((error: unknown) => this.opts.logger.error({ err: (error as Error).message }, 'witness quorum bookkeeping failed (the next checkpoint or cosignature retries)'));
  }

  private graceMs(): number {
    return ttlToMs(this.policy?.grace ?? DEFAULT_WITNESS_GRACE);
  }

  /** A checkpoint of the log (this instance's or another's): unwitnessed until a quorum cosigns it (or a later one). */
  private async checkpointSigned(cp: SignedCheckpoint): Promise<void> {
    if (!this.policy || cp.treeSize <= this.witnessed.treeSize) return;
    const last = this.unwitnessed.at(-1);
    if (last && last.treeSize >= cp.treeSize) return;
    const entry = { treeSize: cp.treeSize, signedAt: cp.signedAt };
    // Past the bound, the newest replaces the last remembered one: the oldest (the one that dates the wait) is kept.
    if (this.unwitnessed.length >= UNWITNESSED_REMEMBERED) this.unwitnessed[this.unwitnessed.length - 1] = entry;
    else this.unwitnessed.push(entry);
    if (this.unwitnessed.length === 1) this.armGrace();
  }

  /**
   * Read the newest checkpoint a quorum of listed witnesses cosigned (the cosignatures any
   * instance kept): it vouches for everything below it. Clears the wait and the alarm once
   * nothing past it is unwitnessed.
   */
  private async syncWitnessed(): Promise<void> {
    const policy = this.policy;
    if (!policy) return;
    const found = await this.opts.log.newestWithQuorum(this.witnessed.checkpointId, [...this.keys().keys()], policy.quorum);
    if (!found || found.checkpointId <= this.witnessed.checkpointId) return;
    this.witnessed = found;
    const before = this.unwitnessed[0]?.signedAt;
    this.unwitnessed = this.unwitnessed.filter((c) => c.treeSize > found.treeSize);
    if (this.unwitnessed[0]?.signedAt === before) return;
    this.graceTimer?.();
    this.graceTimer = undefined;
    if (this.unwitnessed.length > 0) this.armGrace();
    else if (this.alarmed) {
      this.opts.logger.warn({ treeSize: found.treeSize }, `witness quorum restored: checkpoint ${found.treeSize} is cosigned by a quorum`);
      this.alarmed = false;
    }
  }

  /** Look again when the oldest unwitnessed checkpoint's grace period ends. */
  private armGrace(): void {
    const first = this.unwitnessed[0];
    if (!first || this.closed) return;
    const due = Date.parse(first.signedAt) + this.graceMs() - this.opts.clock().getTime();
    this.graceTimer?.();
    this.graceTimer = this.timers.after(Math.max(0, due), () => {
      this.graceTimer = undefined;
      this.quorumStep(() => this.raiseIfOverdue());
    });
  }

  /** The alarm, once per episode: logged, and a critical alert through the outbox. */
  private async raiseIfOverdue(): Promise<void> {
    // Another instance may have kept the cosignatures that make the quorum (status() reads them).
    const status = await this.status();
    if (!status?.overdue || this.closed) {
      // A timer that fired early (a moved clock) looks again when the grace period really ends.
      if (status?.unwitnessedSince) this.armGrace();
      return;
    }
    if (this.alarmed) return;
    this.alarmed = true;
    this.opts.logger.error({ since: status.unwitnessedSince, quorum: status.quorum, cosigned: status.cosigned, missing: status.missing }, `WITNESS QUORUM OVERDUE: ${status.message}`);
    await this.opts.alert?.(witnessQuorumOverdueEvent(this.opts.log.origin, status, this.witnessed.treeSize));
  }

  private async keep(cp: SignedCheckpoint, cosignature: Cosignature, source: CosignatureSource): Promise<boolean> {
    // It answered with a valid cosignature: whatever failed before is over (a failure to store it is reported anew).
    this.failures.delete(cosignature.name);
    const stored = await this.opts.log.addCosignature({
      checkpointId: cp.id,
      treeSize: cp.treeSize,
      witness: cosignature.name,
      cosignedAt: cosignature.timestamp,
      line: cosignature.line,
      receivedAt: this.opts.clock().toISOString(),
      source,
    });
    this.quorumStep(() => this.syncWitnessed());
    return stored;
  }

  private pushAll(cp: SignedCheckpoint): void {
    if (this.closed) return;
    for (const [name, { url }] of this.keys()) {
      if (!url) continue;
      const state = this.pushState(name);
      // In flight, or backing off after a failure: the newest checkpoint waits for that push or retry.
      if (state.running || state.retry) {
        if (!state.next || state.next.treeSize <= cp.treeSize) state.next = cp;
        continue;
      }
      this.startPush(name, state, cp);
    }
  }

  private pushState(name: string): PushState {
    let state = this.push.get(name);
    if (!state) this.push.set(name, (state = { size: undefined, running: undefined, next: undefined, failures: 0, retry: undefined, retryAt: undefined, takeover: undefined }));
    return state;
  }

  /**
   * Another instance signed a checkpoint: after WITNESS_TAKEOVER_MS, push the log's newest
   * checkpoint to each witness with a URL that has not cosigned it by then (unless this
   * instance is pushing to it or backing off already: that push or retry takes the newest).
   */
  private takeoverAll(): void {
    if (this.closed) return;
    for (const [name, { url }] of this.keys()) {
      if (!url) continue;
      const state = this.pushState(name);
      if (state.takeover) continue;
      state.takeover = this.timers.after(WITNESS_TAKEOVER_MS, () => {
        state.takeover = undefined;
        void this.takeover(name, state).catch((error: unknown) => this.opts.logger.warn({ witness: name, err: (error as Error).message }, `could not check whether witness ${name} cosigned the newest checkpoint (the next checkpoint looks again)`));
      });
    }
  }

  private async takeover(name: string, state: PushState): Promise<void> {
    if (this.closed || state.running || state.retry) return;
    await this.opts.log.refreshCheckpoints();
    const latest = this.opts.log.latestCheckpoint();
    if (!latest || this.closed || state.running || state.retry) return;
    if ((await this.opts.log.cosignatures(latest.id)).some((c) => c.witness === name)) return;
    this.startPush(name, state, latest);
  }

  private startPush(name: string, state: PushState, cp: SignedCheckpoint): void {
    const run = async (checkpoint: SignedCheckpoint): Promise<void> => {
      // The policy may have been reloaded since: push to the witness it lists now, if it still does.
      const witness = this.keys().get(name);
      if (!witness?.url || this.closed) return;
      try {
        await this.pushTo(witness.key, witness.url, checkpoint, state);
        state.failures = 0;
      } catch (error) {
        state.failures++;
        this.planRetry(name, state);
        this.fail(name, checkpoint.treeSize, errorText(error), state);
        return;
      }
      const next = state.next;
      state.next = undefined;
      if (next && next.treeSize > checkpoint.treeSize && !this.closed) return run(next);
    };
    state.running = run(cp).finally(() => (state.running = undefined));
  }

  /** After a failure: push again later (doubling, capped), then the newest checkpoint signed by then. */
  private planRetry(name: string, state: PushState): void {
    if (this.closed) return;
    const delay = witnessRetryDelayMs(state.failures);
    state.retryAt = new Date(this.opts.clock().getTime() + delay).toISOString();
    state.retry = this.timers.after(delay, () => {
      // The newest checkpoint of the log, whichever instance signed it (learnt first).
      void this.opts.log
        .refreshCheckpoints()
        .catch((error: unknown) => this.opts.logger.warn({ err: (error as Error).message }, 'could not read the checkpoints other instances signed; retrying with the ones known'))
        .then(() => {
          state.retry = undefined;
          state.retryAt = undefined;
          const latest = this.opts.log.latestCheckpoint();
          const cp = state.next && (!latest || state.next.treeSize >= latest.treeSize) ? state.next : latest;
          state.next = undefined;
          if (cp && !this.closed) this.startPush(name, state, cp);
        });
    });
  }

  private async pushTo(key: VerifierKey, url: string, first: SignedCheckpoint, state: PushState): Promise<void> {
    const endpoint = `${url.replace(/\/+$/, '')}${ADD_CHECKPOINT_PATH}`;
    const fetchFn = this.opts.fetch ?? fetch;
    let cp = first;
    // At most three rounds: one may learn the witness's size from a 409, one may move on to the
    // newer checkpoint another instance pushed it.
    for (let round = 0; round < 3; round++) {
      if ((state.size ?? 0) > cp.treeSize) {
        // Another instance pushed it a later checkpoint: push the newest this log has, or fail if
        // this log has none that large (the witness saw a later or other history).
        await this.opts.log.refreshCheckpoints();
        const latest = this.opts.log.latestCheckpoint();
        if (!latest || latest.treeSize < state.size!) {
          throw new AppError('verification_failed', `witness ${key.name} already cosigned size ${state.size} of this log, more than checkpoint ${latest?.treeSize ?? cp.treeSize}: it saw a later or other history`);
        }
        cp = latest;
      }
      const oldSize = Math.min(state.size ?? 0, cp.treeSize);
      const proof = oldSize > 0 && oldSize < cp.treeSize ? (await this.opts.log.consistencyProof(oldSize, cp.treeSize)).hashes : [];
      const res = await fetchFn(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: formatAddCheckpointRequest({ oldSize, proof, note: cp.note }),
        signal: AbortSignal.timeout(WITNESS_PUSH_TIMEOUT_MS),
      });
      const body = (await res.text()).slice(0, MAX_ANSWER_BYTES);
      if (res.status === 200) {
        const text = parseSignedNote(cp.note).text;
        const lines = body.split('\n').filter((l) => l.length > 0);
        const mine = lines.filter((l) => l.startsWith(`\u2014 ${key.name} `));
        if (mine.length === 0) throw new AppError('verification_failed', `witness ${key.name} answered 200 without a cosignature line by ${key.name}`);
        // Every line by this witness must verify: a bad one is refused (and reported), never stored.
        const cosignature = verifyCosignatureLine(text, mine[0]!, key, nodeEd25519Verify);
        await this.keep(cp, cosignature, 'push');
        state.size = cp.treeSize;
        return;
      }
      if (res.status === 409 && (res.headers.get('content-type') ?? '').startsWith(TLOG_SIZE_CONTENT_TYPE)) {
        const witnessSize = parseTlogSize(body);
        if (round < 2 && witnessSize !== state.size) {
          state.size = witnessSize;
          continue;
        }
        throw new AppError('verification_failed', `witness ${key.name} refused checkpoint ${cp.treeSize} (409: it last cosigned size ${witnessSize}${witnessSize === cp.treeSize ? ' with another root: a split view' : ''})`);
      }
      throw new AppError('verification_failed', `witness ${key.name} refused checkpoint ${cp.treeSize} (${res.status}: ${body.trim().slice(0, 300)})`);
    }
  }

  private fail(name: string, treeSize: number, message: string, state: PushState): void {
    const failure = { at: this.opts.clock().toISOString(), treeSize, message, attempts: state.failures, retryAt: state.retryAt ?? null };
    this.failures.set(name, failure);
    this.failureCounts.set(name, (this.failureCounts.get(name) ?? 0) + 1);
    this.opts.logger.warn({ witness: name, treeSize, attempts: state.failures, retryAt: failure.retryAt, err: message }, `witness ${name} did not cosign checkpoint ${treeSize} (${state.failures} in a row, next try ${failure.retryAt ?? 'with the next checkpoint'}): ${message}`);
  }

  /** Quorum on the latest checkpoint, and what went wrong lately; null when the policy names no witnesses. */
  async status(): Promise<WitnessStatus | null> {
    const policy = this.policy;
    if (!policy) return null;
    await this.syncWitnessed();
    const names = [...this.keys().keys()];
    const cp = this.opts.log.latestCheckpoint();
    const have = new Set(cp ? (await this.opts.log.cosignatures(cp.id)).map((c) => c.witness) : []);
    const cosigned = names.filter((n) => have.has(n));
    const since = cp && cosigned.length < policy.quorum ? (this.unwitnessed[0]?.signedAt ?? cp.signedAt) : null;
    const overdue = since !== null && this.opts.clock().getTime() - Date.parse(since) >= this.graceMs();
    const missing = names.filter((n) => !have.has(n));
    return {
      quorum: policy.quorum,
      treeSize: cp?.treeSize ?? 0,
      cosigned,
      missing,
      belowQuorum: cosigned.length < policy.quorum,
      failures: Object.fromEntries([...this.failures].filter(([n]) => names.includes(n))),
      grace: policy.grace,
      unwitnessedSince: since,
      overdue,
      message: overdue
        ? `no quorum of witnesses has cosigned the log's checkpoints since ${since} (longer than the grace period of ${policy.grace}): ${cosigned.length} of the ${policy.quorum} needed on checkpoint ${cp!.treeSize}, missing ${missing.join(', ')}`
        : null,
    };
  }

  /** Prometheus text: quorum, cosignatures on the latest checkpoint, push failures per witness. */
  async metricsText(): Promise<string> {
    const status = await this.status();
    if (!status) return '';
    const label = (n: string) => n.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    return [
      '# HELP breakglass_witness_quorum Cosignatures the policy asks for on each checkpoint.',
      '# TYPE breakglass_witness_quorum gauge',
      `breakglass_witness_quorum ${status.quorum}`,
      '# HELP breakglass_checkpoint_cosignatures Listed witnesses whose cosignature covers the latest checkpoint.',
      '# TYPE breakglass_checkpoint_cosignatures gauge',
      `breakglass_checkpoint_cosignatures ${status.cosigned.length}`,
      '# HELP breakglass_witness_below_quorum 1 while the latest checkpoint has fewer cosignatures than the quorum.',
      '# TYPE breakglass_witness_below_quorum gauge',
      `breakglass_witness_below_quorum ${status.belowQuorum ? 1 : 0}`,
      '# HELP breakglass_witness_quorum_overdue 1 while checkpoints older than the policy\'s witness grace period lack a quorum of cosignatures (the alarm).',
      '# TYPE breakglass_witness_quorum_overdue gauge',
      `breakglass_witness_quorum_overdue ${status.overdue ? 1 : 0}`,
      '# HELP breakglass_witness_unwitnessed_seconds Age of the oldest checkpoint no quorum of witnesses has cosigned (0 when all are).',
      '# TYPE breakglass_witness_unwitnessed_seconds gauge',
      `breakglass_witness_unwitnessed_seconds ${status.unwitnessedSince ? Math.max(0, Math.floor((this.opts.clock().getTime() - Date.parse(status.unwitnessedSince)) / 1000)) : 0}`,
      '# HELP breakglass_witness_failures_total Pushes a witness refused or did not answer, and bad cosignatures it returned.',
      '# TYPE breakglass_witness_failures_total counter',
      ...[...this.keys().keys()].map((n) => `breakglass_witness_failures_total{witness="${label(n)}"} ${this.failureCounts.get(n) ?? 0}`),
      '',
    ].join('\n');
  }

  /** Stop pushing and retrying; waits for pushes in flight. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.graceTimer?.();
    for (const state of this.push.values()) {
      state.retry?.();
      state.takeover?.();
    }
    await Promise.all([...this.push.values()].map((s) => s.running));
    await this.quorumWork;
  }
}
