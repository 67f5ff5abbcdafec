import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HealthReport } from '../../shared/domain/reports';
import { DECISION_LATENCY_BUCKETS_S } from '../storage/counters';
import type { MetricsExtras } from './report-source';

export { DECISION_LATENCY_BUCKETS_S };

/**
 * The gate-health figures in Prometheus text format. Values are recomputed from the store's
 * counters on every scrape (the store is the source of truth; a restart loses nothing), in a registry of
 * its own so two stores in one process (tests) do not collide. Monotonic figures are counters
 * (blocks, requests, decisions observed in the latency histogram); windowed ones are gauges.
 */
export class GateHealthMetrics {
  readonly registry = new Registry();
  private readonly bypasses = new Gauge({ name: 'breakglass_bypasses', help: 'Bypasses activated per gate over a trailing window', labelNames: ['gate', 'window'], registers: [this.registry] });
  private readonly share = new Gauge({ name: 'breakglass_bypass_share_30d', help: "A gate's share of all bypasses over the last 30 days (0-1)", labelNames: ['gate'], registers: [this.registry] });
  private readonly blocks = new Counter({ name: 'breakglass_gate_blocks_total', help: 'Gate checks answered block, per gate, since the store began counting', labelNames: ['gate'], registers: [this.registry] });
  private readonly requests = new Counter({ name: 'breakglass_bypass_requests_total', help: 'Bypass requests filed per gate', labelNames: ['gate'], registers: [this.registry] });
  private readonly evaluations = new Gauge({ name: 'breakglass_evaluations_under_bypass', help: 'Gate checks answered warn under a bypass, per gate, over a trailing window', labelNames: ['gate', 'window'], registers: [this.registry] });
  private readonly pending = new Gauge({ name: 'breakglass_requests_pending', help: 'Requests waiting for a decision (pending or needs_info) per gate', labelNames: ['gate'], registers: [this.registry] });
  private readonly active = new Gauge({ name: 'breakglass_bypasses_active', help: 'Bypasses active right now per gate', labelNames: ['gate'], registers: [this.registry] });
  private readonly latency = new Histogram({
    name: 'breakglass_decision_latency_seconds',
    help: 'Wall-clock time from request to decision (activation or denial); class=incident when the request carries an incident reference',
    labelNames: ['class'],
    buckets: DECISION_LATENCY_BUCKETS_S,
    registers: [this.registry],
  });
  private readonly decisionP = new Gauge({ name: 'breakglass_decision_time_seconds', help: 'p50/p90 time to decision over 90 days (incident: wall clock; other: business time)', labelNames: ['class', 'quantile'], registers: [this.registry] });
  private readonly decisionTarget = new Gauge({ name: 'breakglass_decision_target_seconds', help: 'Decision time target per class (15 minutes incident, one business day other)', labelNames: ['class'], registers: [this.registry] });
  private readonly reviewsOpen = new Gauge({ name: 'breakglass_reviews_open', help: 'Post-bypass reviews still open, by whether they are past the 7-day deadline', labelNames: ['overdue'], registers: [this.registry] });
  private readonly reviewsOnTime = new Gauge({ name: 'breakglass_reviews_on_time_ratio', help: 'Share of due reviews completed within 7 days of expiry (absent when none is due)', registers: [this.registry] });
  private readonly teamUsed = new Gauge({ name: 'breakglass_team_bypasses_quarter', help: 'Bypasses by a team this calendar quarter', labelNames: ['team'], registers: [this.registry] });
  private readonly teamBudget = new Gauge({ name: 'breakglass_team_bypass_budget', help: "A team's bypass budget per quarter", labelNames: ['team'], registers: [this.registry] });
  private readonly teamOver = new Gauge({ name: 'breakglass_team_over_budget', help: '1 when a team used more bypasses this quarter than its budget', labelNames: ['team'], registers: [this.registry] });
  private readonly groupDecisions = new Gauge({ name: 'breakglass_approver_group_decisions', help: 'Approvals and denials per approver group over 90 days', labelNames: ['group', 'decision'], registers: [this.registry] });
  private readonly groupFlag = new Gauge({ name: 'breakglass_approver_group_flagged', help: '1 when an approver group is flagged (rubber_stamping: 100% approvals; theatre: 100% denials)', labelNames: ['group', 'flag'], registers: [this.registry] });
  private readonly findings = new Gauge({ name: 'breakglass_deviance_findings', help: 'Open normalization-of-deviance findings ("fix the gate") by kind and gate', labelNames: ['kind', 'gate'], registers: [this.registry] });
  private readonly outbox = new Gauge({ name: 'breakglass_alert_outbox_pending', help: 'Alert deliveries waiting (first attempt or retry)', registers: [this.registry] });

  /** Replace every value with the figures of `report` and the store's request states and latency counters. */
  update(report: HealthReport, extras: MetricsExtras, outboxPending: number): void {
    this.registry.resetMetrics();
    for (const g of report.gates.gates) {
      for (const window of ['d7', 'd30', 'd90'] as const) {
        this.bypasses.set({ gate: g.gate, window: window.slice(1) + 'd' }, g.bypasses[window]);
        this.evaluations.set({ gate: g.gate, window: window.slice(1) + 'd' }, g.evaluationsUnderBypass[window]);
      }
      if (g.shareOfBypasses30d !== null) this.share.set({ gate: g.gate }, g.shareOfBypasses30d);
      this.blocks.inc({ gate: g.gate }, g.requestsToBlocks.blocks);
      this.requests.inc({ gate: g.gate }, g.requestsToBlocks.requests);
      this.pending.set({ gate: g.gate }, 0);
      this.active.set({ gate: g.gate }, 0);
    }
    for (const c of extras.stateCounts) {
      if (c.state === 'pending' || c.state === 'needs_info') this.pending.inc({ gate: c.gate }, c.count);
      if (c.state === 'active') this.active.inc({ gate: c.gate }, c.count);
    }
    // Each counter row holds the decisions of one class and bucket on one day and their summed
    // latency: observing its mean `count` times lands every observation in the row's bucket and
    // gives the exact count and sum.
    for (const row of extras.latency) {
      if (row.count <= 0) continue;
      const cls = row.subject.split('|')[0]!;
      const meanS = row.total / row.count / 1000;
      for (let i = 0; i < row.count; i++) this.latency.observe({ class: cls }, meanS);
    }
    for (const c of [report.decisionTimes.incident, report.decisionTimes.other]) {
      this.decisionTarget.set({ class: c.class }, c.targetMs / 1000);
      if (c.p50Ms !== null) this.decisionP.set({ class: c.class, quantile: '0.5' }, c.p50Ms / 1000);
      if (c.p90Ms !== null) this.decisionP.set({ class: c.class, quantile: '0.9' }, c.p90Ms / 1000);
    }
    this.reviewsOpen.set({ overdue: 'true' }, report.reviews.openOverdue);
    this.reviewsOpen.set({ overdue: 'false' }, report.reviews.openWithinDeadline);
    if (report.reviews.onTimeRate !== null) this.reviewsOnTime.set(report.reviews.onTimeRate);
    for (const t of report.teams.teams) {
      this.teamUsed.set({ team: t.team }, t.used);
      if (t.budget !== null) this.teamBudget.set({ team: t.team }, t.budget);
      this.teamOver.set({ team: t.team }, t.overBudget ? 1 : 0);
    }
    for (const g of report.approvers.groups) {
      this.groupDecisions.set({ group: g.group, decision: 'approve' }, g.approvals);
      this.groupDecisions.set({ group: g.group, decision: 'deny' }, g.denials);
      if (g.flag) this.groupFlag.set({ group: g.group, flag: g.flag }, 1);
    }
    for (const f of report.findings.findings) this.findings.set({ kind: f.kind, gate: f.gate ?? '' }, 1);
    this.outbox.set(outboxPending);
  }
}
