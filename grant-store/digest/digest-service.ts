import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Digest, DigestLedger } from '../../shared/domain/digest';
import { digestSeenBy, requestIdsNamedIn, visibleRequestIds } from '../reports/report-visibility';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import { AppError } from '../../shared/errors';
import { loadReportState } from '../reports/report-source';
import type { StoreReader } from '../storage/store';
import { requireRole } from '../service/access';
import { auditEntry } from '../service/audit-entry';
import { SYSTEM_CALLER, type Caller, type ServiceDeps } from '../service/service-deps';
import { computeDigest } from './digest-model';
import { sendDigestMail, type MailResult } from './digest-mailer';
import { versusAverage } from './digest-text';
import { formatIsoWeek, isoWeekBounds, latestSend, nextSend, parseIsoWeek, type IsoWeek } from './iso-week';
import { renderDigest, type RenderedDigest } from './render-digest';
import type { SecretLookup } from '../store-config';

/** The ledger's state for the digest (the transparency log knows its checkpoints). */
export type LedgerStateSource = () => Promise<DigestLedger>;

export interface DigestDeps extends ServiceDeps {
  ledgerState: LedgerStateSource;
  /** The SMTP credentials the policy names, looked up by name. */
  secrets: SecretLookup;
  warn(message: string): void;
}

/** Ledger entries read per page when looking for the week's emergency entries. */
const LEDGER_PAGE = 2000;

/** The first seq whose time is at or after `ms` (entries are appended in time order): a binary search, O(log n) reads. */
async function firstSeqAtOrAfter(store: StoreReader, ms: number): Promise<number> {
  let lo = 0;
  let hi = await store.ledgerSize();
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const [entry] = await store.getLedgerEntries(mid, 1);
    if (entry && Date.parse(entry.time) < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

async function emergencyEntries(store: StoreReader, from: number, to: number): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  const size = await store.ledgerSize();
  for (let seq = await firstSeqAtOrAfter(store, from); seq < size; seq += LEDGER_PAGE) {
    const page = await store.getLedgerEntries(seq, LEDGER_PAGE);
    for (const e of page) {
      if (Date.parse(e.time) >= to) return out;
      if (e.type === 'emergency_used' || e.type === 'emergency_refused') out.push(e);
    }
  }
  return out;
}

/** The time zone of the digest: the policy's schedule, UTC without one. */
export function digestTimeZone(deps: ServiceDeps): string {
  return deps.policies.policy.digest?.schedule.timeZone ?? 'UTC';
}

/** The digest of ISO week `week` from the store's data, as of the week's end. */
export async function buildDigest(deps: DigestDeps, week: IsoWeek): Promise<Digest> {
  const timeZone = digestTimeZone(deps);
  const bounds = isoWeekBounds(week, timeZone);
  const generatedAt = deps.clock();
  const [report, entries, ledger] = await Promise.all([
    loadReportState(deps.store, deps.policies.policy),
    emergencyEntries(deps.store, bounds.from, bounds.to),
    deps.ledgerState(),
  ]);
  return computeDigest({ report, week, timeZone, generatedAt, emergencyEntries: entries, ledger });
}

/** `week` from a query/flag, or the last complete week on the digest's clock. */
export function resolveWeek(deps: ServiceDeps, text: string | undefined, field = 'week'): IsoWeek {
  if (text) return parseIsoWeek(text, field);
  const schedule = deps.policies.policy.digest?.schedule;
  const now = deps.clock().getTime();
  if (schedule) return latestSend(now, schedule).week;
  return latestSend(now, { weekday: 'monday', hour: 0, minute: 0, timeZone: 'UTC' }).week;
}

/** GET /v1/digest: the figures (approver, auditor, admin: the same readers as the reports). */
export async function getDigest(deps: DigestDeps, caller: Caller, weekText: string | undefined): Promise<{ digest: Digest; rendered: RenderedDigest }> {
  requireRole(caller, 'approver', 'auditor', 'admin');
  const built = await buildDigest(deps, resolveWeek(deps, weekText));
  // The figures are the organisation's; the requests it names are only those the caller may see.
  const digest = digestSeenBy(built, await visibleRequestIds(deps.store, deps.policies.policy, caller, requestIdsNamedIn(built)));
  return { digest, rendered: renderDigest(digest, { charts: 'svg', link: deps.policies.policy.digest?.link }) };
}

/** What a digest_sent entry carries: the figures, the Slack/webhook summary and the email's outcome. */
function sentEntryData(digest: Digest, rendered: RenderedDigest, mail: MailResult | null, extra: Record<string, unknown>, link: string | undefined): Record<string, unknown> {
  const b = digest.bypasses;
  const summary = [
    `${digest.week} (${digest.from.slice(0, 10)} to ${digest.to.slice(0, 10)}, ${digest.timeZone})`,
    `Bypasses: ${b.thisWeek} (${versusAverage(b.thisWeek, b.previousAverage)}); ${b.preApproved} pre-approved by an incident, ${b.emergency} emergency.`,
    `Emergency credential uses: ${digest.emergency.uses.length}; refused attempts: ${digest.emergency.refused}.`,
    `Fix the gate: ${digest.findings.length ? digest.findings.map((f) => f.title).join('; ') : 'no findings'}.`,
    `Budgets over: ${digest.budgets.teams.filter((t) => t.overBudget).map((t) => `${t.team} ${t.used}/${t.budget}`).join(', ') || 'none'}. Reviews overdue: ${digest.reviews.overdue.length}.`,
    `Decisions (filed this week): incident p90 ${digest.decisionTimes.week.incident.p90Ms === null ? '-' : `${Math.round(digest.decisionTimes.week.incident.p90Ms / 60_000)}m`} (target 15m), other p90 ${digest.decisionTimes.week.other.p90Ms === null ? '-' : `${Math.round(digest.decisionTimes.week.other.p90Ms / 3_600_000)}h`} (target one business day).`,
    `Ledger: ${digest.ledger.size} entries, checkpoint at ${digest.ledger.checkpoint?.size ?? 'none'}${digest.ledger.halted ? `, HALTED: ${digest.ledger.halted}` : ''}.`,
  ].join('\n');
  return {
    week: digest.week,
    from: digest.from,
    to: digest.to,
    timeZone: digest.timeZone,
    subject: rendered.subject,
    summary,
    link: link ?? null,
    htmlDigest: `sha256:${createHash('sha256').update(rendered.html).digest('hex')}`,
    figures: {
      bypasses: b.thisWeek,
      previousAverage: b.previousAverage,
      emergencyUses: digest.emergency.uses.length,
      emergencyRefused: digest.emergency.refused,
      findings: digest.findings.map((f) => f.id),
      overBudget: digest.budgets.teams.filter((t) => t.overBudget).map((t) => t.team),
      reviewsOverdue: digest.reviews.overdue.length,
    },
    email: mail ? { messageId: mail.messageId, accepted: mail.accepted, rejected: mail.rejected } : null,
    ...extra,
  };
}

/**
 * Send `digest`: email (when the policy configures it) and, through the digest_sent ledger
 * entry, every webhook that lists `weekly_digest` (the alert outbox delivers it, signed and
 * retried). Returns the mail outcome; throws when the mail could not be sent.
 */
async function deliver(deps: DigestDeps, digest: Digest): Promise<{ rendered: RenderedDigest; mail: MailResult | null }> {
  const policy = deps.policies.policy;
  const rendered = renderDigest(digest, { charts: 'cid', link: policy.digest?.link });
  const email = policy.digest?.email;
  const mail = email ? await sendDigestMail(rendered, email, deps.secrets) : null;
  return { rendered, mail };
}

/** POST /v1/digest/send (admin): send the week's digest now, whatever the schedule (recorded as on demand). */
export async function sendDigestNow(deps: DigestDeps, caller: Caller, weekText: string | undefined): Promise<{ digest: Digest; email: MailResult | null; seq: number }> {
  requireRole(caller, 'admin');
  const policy = deps.policies.policy;
  if (!policy.digest) throw new AppError('invalid_input', 'the policy has no digest: section (schedule, email): nothing to send the digest with', { fieldErrors: [{ path: 'digest', message: 'not configured in the policy' }] });
  const digest = await buildDigest(deps, resolveWeek(deps, weekText));
  const { rendered, mail } = await deliver(deps, digest);
  const at = deps.clock().toISOString();
  const [entry] = await deps.store.transaction((tx) =>
    tx.appendLedger([auditEntry(at, 'digest_sent', caller, { target: `digest:${digest.week}`, actorRole: 'admin', data: sentEntryData(digest, rendered, mail, { onDemand: true }, policy.digest?.link) })]),
  );
  return { digest, email: mail, seq: entry!.seq };
}

/** How long an instance holds a week while it sends; after that another may take over. */
export const DIGEST_LEASE_MS = 10 * 60_000;
/** After a failed send, wait this long (times the attempts so far, capped) before trying again. */
export const DIGEST_RETRY_BASE_MS = 5 * 60_000;
export const DIGEST_RETRY_MAX_MS = 60 * 60_000;
/**
 * A week's digest is sent up to this long after its send time (an instance that was down at
 * the time catches up); a week older than that is left unsent, so a store started on a Thursday
 * does not mail last week's digest out of schedule (`report digest --send` sends it on demand).
 */
export const DIGEST_CATCH_UP_MS = 24 * 60 * 60_000;
/** How often the scheduler looks at the clock (a send is due at most this late). */
export const DIGEST_CHECK_INTERVAL_MS = 60_000;

export interface DigestSchedulerOptions {
  /** Test stores pass a short interval with an injected clock; production checks once a minute. */
  checkIntervalMs?: number;
}

/**
 * Sends each week's digest once at the policy's schedule, however many instances share the
 * database: every instance looks at the clock, and the one whose claim the database accepts
 * (digest_runs, one row per week) sends it; the others see the claim and do nothing. An instance
 * that dies mid-send loses the week when its lease runs out and another sends it (the mail may
 * then go out twice: at-least-once, like the webhooks). A failed send is retried with backoff.
 */
export class DigestScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = true;
  /** This process's name in digest_runs. */
  readonly instance = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly deps: DigestDeps,
    private readonly opts: DigestSchedulerOptions = {},
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const interval = this.opts.checkIntervalMs ?? DIGEST_CHECK_INTERVAL_MS;
    this.timer = setInterval(() => this.kick(), interval);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Run one check soon (checks never overlap). */
  kick(): void {
    this.running = this.running.then(async () => {
      if (!this.stopped) await this.tick();
    }).catch((error: unknown) => this.deps.warn(`digest: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** When the next digest is due (for status and logs); undefined without a schedule. */
  nextDue(): { sendAt: string; week: string } | undefined {
    const schedule = this.deps.policies.policy.digest?.schedule;
    if (!schedule) return undefined;
    const next = nextSend(this.deps.clock().getTime(), schedule);
    return { sendAt: new Date(next.sendAt).toISOString(), week: formatIsoWeek(next.week) };
  }

  /** One look at the clock: send the latest due week unless it was sent or someone holds it. */
  async tick(): Promise<'none' | 'sent' | 'held' | 'failed'> {
    const policy = this.deps.policies.policy;
    if (!policy.digest) return 'none';
    const now = this.deps.clock();
    const { week, sendAt } = latestSend(now.getTime(), policy.digest.schedule);
    if (now.getTime() - sendAt > DIGEST_CATCH_UP_MS) return 'none';
    const label = formatIsoWeek(week);
    const run = await this.deps.store.getDigestRun(label);
    if (run?.sentAt) return 'none';
    const claimed = await this.deps.store.transaction((tx) => tx.claimDigestRun(label, this.instance, now.toISOString(), new Date(now.getTime() + DIGEST_LEASE_MS).toISOString()));
    if (!claimed) return 'held';
    let delivered: { rendered: RenderedDigest; mail: MailResult | null };
    let digest: Digest;
    try {
      digest = await buildDigest(this.deps, week);
      delivered = await deliver(this.deps, digest);
    } catch (error) {
      const attempts = (run?.attempts ?? 0) + 1;
      const retryAt = new Date(this.deps.clock().getTime() + Math.min(DIGEST_RETRY_MAX_MS, DIGEST_RETRY_BASE_MS * attempts)).toISOString();
      const message = error instanceof Error ? error.message : String(error);
      await this.deps.store.transaction((tx) => tx.failDigestRun(label, this.instance, message.slice(0, 500), retryAt));
      this.deps.warn(`digest: sending ${label} failed (attempt ${attempts}; next try after ${retryAt}): ${message}`);
      return 'failed';
    }
    const at = this.deps.clock().toISOString();
    const kept = await this.deps.store.transaction(async (tx) => {
      if (!(await tx.completeDigestRun(label, this.instance, at))) return false;
      await tx.appendLedger([auditEntry(at, 'digest_sent', SYSTEM_CALLER, { target: `digest:${label}`, actorRole: 'system', data: sentEntryData(digest, delivered.rendered, delivered.mail, { onDemand: false, instance: this.instance }, policy.digest?.link) })]);
      return true;
    });
    if (!kept) this.deps.warn(`digest: ${label} was sent by this instance after its lease ran out and another instance took the week over: the digest may have gone out twice`);
    return kept ? 'sent' : 'held';
  }
}
