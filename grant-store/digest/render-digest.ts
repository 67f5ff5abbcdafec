import type { Digest, DigestCountRow } from '../../shared/domain/digest';
import type { Scene } from './chart-scene';
import { digestCharts } from './digest-charts';
import { decisionLine, digestSubject, duration, formatDay, ledgerLine, pct, versusAverage, weekRange } from './digest-text';
import { renderPng } from './png-render';
import { escapeXml, renderSvg } from './svg-render';

/**
 * The digest as an email-safe HTML document (tables and inline styles, no scripts, no external
 * resources), with its charts either inline as SVG (a file opened in a browser) or as PNG images
 * referenced by Content-ID (email: Gmail and Outlook do not show SVG), and as plain text.
 */

const e = escapeXml;
const CELL = 'padding:4px 8px;border-bottom:1px solid #e5e7eb;text-align:left;font-size:13px;';
const NUM = `${CELL}text-align:right;font-variant-numeric:tabular-nums;`;
const H2 = 'font-size:16px;margin:24px 0 8px 0;color:#111827;';

export interface DigestChartImage {
  id: string;
  /** Content-ID of the PNG attachment (email). */
  cid: string;
  filename: string;
  png: Buffer;
  alt: string;
}

export interface RenderedDigest {
  subject: string;
  html: string;
  text: string;
  /** PNG attachments referenced from `html` by cid (empty with `charts: 'svg'`). */
  images: DigestChartImage[];
}

function table(headers: string[], rows: string[][], numericFrom = 1): string {
  const th = headers.map((h, i) => `<th style="${i >= numericFrom ? NUM : CELL}color:#6b7280;font-weight:600;">${e(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td style="${i >= numericFrom ? NUM : CELL}">${c}</td>`).join('')}</tr>`).join('');
  return `<table role="presentation" cellspacing="0" cellpadding="0" style="border-collapse:collapse;width:100%;">${th ? `<tr>${th}</tr>` : ''}${body}</table>`;
}

function countRows(rows: readonly DigestCountRow[], label: (r: DigestCountRow) => string): string[][] {
  return rows.map((r) => [label(r), `<strong>${r.thisWeek}</strong>`, ...r.previous.map(String), String(r.previousAverage)]);
}

function tile(label: string, value: string, note: string, alarm = false): string {
  return `<td style="padding:10px;border:1px solid ${alarm ? '#fecaca' : '#e5e7eb'};background:${alarm ? '#fef2f2' : '#f9fafb'};width:25%;vertical-align:top;"><div style="font-size:12px;color:#6b7280;">${e(label)}</div><div style="font-size:24px;font-weight:700;color:${alarm ? '#b91c1c' : '#111827'};">${e(value)}</div><div style="font-size:11px;color:#6b7280;">${e(note)}</div></td>`;
}

export function renderDigest(digest: Digest, opts: { charts: 'svg' | 'cid'; link?: string }): RenderedDigest {
  const charts = digestCharts(digest);
  const images: DigestChartImage[] = [];
  const chart = (id: string): string => {
    const { scene } = charts.find((c) => c.id === id) as { scene: Scene };
    if (opts.charts === 'svg') return `<div style="margin:8px 0;">${renderSvg(scene)}</div>`;
    const cid = `${id}.${digest.week}@breakglass`;
    images.push({ id, cid, filename: `${id}-${digest.week}.png`, png: renderPng(scene), alt: scene.title });
    return `<div style="margin:8px 0;"><img src="cid:${e(cid)}" width="${scene.width}" height="${scene.height}" alt="${e(scene.title)}" style="display:block;max-width:100%;height:auto;border:0;"></div>`;
  };
  const weeks = digest.previousWeeks.map((w) => w.week.slice(5));
  const b = digest.bypasses;
  const overdue = digest.reviews.overdue;

  const parts: string[] = [];
  parts.push(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta name="color-scheme" content="light"><title>${e(digestSubject(digest))}</title></head>`);
  parts.push('<body style="margin:0;padding:0;background:#f3f4f6;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2937;">');
  parts.push('<table role="presentation" width="100%" cellspacing="0" cellpadding="0"><tr><td align="center" style="padding:16px;"><table role="presentation" width="600" cellspacing="0" cellpadding="0" style="max-width:600px;background:#ffffff;border:1px solid #e5e7eb;"><tr><td style="padding:20px;">');
  parts.push(`<div style="font-size:12px;color:#6b7280;">Breakglass weekly digest</div><h1 style="font-size:22px;margin:4px 0;">${e(digest.week)}</h1><div style="font-size:13px;color:#4b5563;">${e(weekRange(digest))} (${e(digest.timeZone)})</div>`);

  parts.push('<table role="presentation" width="100%" cellspacing="6" cellpadding="0" style="margin-top:12px;"><tr>');
  parts.push(tile('Bypasses', String(b.thisWeek), versusAverage(b.thisWeek, b.previousAverage).replace(' of the previous 4 weeks', ' (4 wk)')));
  parts.push(tile('Emergency uses', String(digest.emergency.uses.length), `${digest.emergency.refused} refused attempt(s)`, digest.emergency.uses.length + digest.emergency.refused > 0));
  parts.push(tile('Gates to fix', String(digest.findings.length), 'deviance findings', digest.findings.length > 0));
  parts.push(tile('Reviews overdue', String(overdue.length), `on time: ${pct(digest.reviews.onTimeRate)}`, overdue.length > 0));
  parts.push('</tr></table>');

  parts.push(`<h2 style="${H2}">Bypasses per gate and team</h2>`);
  parts.push(`<p style="font-size:13px;margin:0 0 8px 0;">${b.thisWeek} bypass(es) this week, ${e(versusAverage(b.thisWeek, b.previousAverage))}. Of them ${b.standing} through a standing scope, ${b.preApproved} pre-approved by an on-call incident, ${b.emergency} opened with an emergency credential.</p>`);
  parts.push(chart('weekly-bypasses'));
  parts.push(table(['Gate', 'This week', ...weeks, 'Avg'], countRows(b.byGate, (r) => `${e(r.key)}${r.kind === 'safety' ? ' <span style="color:#b91c1c;font-size:11px;">SAFETY</span>' : ''}`)));
  parts.push('<div style="height:8px;"></div>');
  parts.push(table(['Team', 'This week', ...weeks, 'Avg'], countRows(b.byTeam, (r) => e(r.key))));

  parts.push(`<h2 style="${H2}">Emergency credential uses</h2>`);
  if (digest.emergency.uses.length === 0) parts.push(`<p style="font-size:13px;">None this week.${digest.emergency.refused ? ` <strong style="color:#b91c1c;">${digest.emergency.refused} refused attempt(s) to use a burned, retired or unknown credential.</strong>` : ''}</p>`);
  else {
    parts.push(`<p style="font-size:13px;color:#b91c1c;"><strong>${digest.emergency.uses.length} bypass(es) opened with no approver.</strong> Each needs ${e(String(digest.emergency.uses[0]!.signoffsRequired))} review sign-offs from outside the user's team.${digest.emergency.refused ? ` ${digest.emergency.refused} refused attempt(s).` : ''}</p>`);
    parts.push(table(['When', 'Who', 'Gate', 'Incident', 'Review'], digest.emergency.uses.map((u) => [e(formatDay(u.at, digest.timeZone)), e(`${u.usedBy}${u.team ? ` (${u.team})` : ''}`), e(u.gate), e(u.incidentRef ?? '-'), e(`${u.reviewState ?? 'not opened'} ${u.signoffs}/${u.signoffsRequired}`)]), 5));
  }

  parts.push(`<h2 style="${H2}">Fix the gate: deviance findings</h2>`);
  if (digest.findings.length === 0) parts.push('<p style="font-size:13px;">No findings: bypasses are rare and spread out.</p>');
  else parts.push(`<ul style="font-size:13px;padding-left:18px;margin:0;">${digest.findings.map((f) => `<li style="margin-bottom:6px;"><strong>${e(f.title)}</strong><br>${e(f.message)}</li>`).join('')}</ul>`);

  parts.push(`<h2 style="${H2}">Budgets used (${e(digest.budgets.quarter)})</h2>`);
  parts.push(chart('budgets'));
  parts.push(table(['Team', 'Used', 'Budget', 'Usage', ''], digest.budgets.teams.map((t) => [e(t.team), String(t.used), t.budget === null ? '-' : String(t.budget), pct(t.usage), t.overBudget ? '<strong style="color:#b91c1c;">OVER</strong>' : ''])));

  parts.push(`<h2 style="${H2}">Reviews overdue</h2>`);
  parts.push(`<p style="font-size:13px;margin:0 0 8px 0;">${overdue.length} review(s) open for more than 7 days after their bypass ended; ${digest.reviews.openWithinDeadline} open within the deadline; on-time rate ${pct(digest.reviews.onTimeRate)} of ${digest.reviews.due} due.</p>`);
  if (overdue.length > 0) parts.push(table(['Review', 'Gate', 'Team', 'Age'], overdue.map((o) => [e(o.reviewId), e(o.gate), e(o.team), duration(o.ageMs)]), 3));

  parts.push(`<h2 style="${H2}">Decision times</h2>`);
  parts.push(chart('decision-times'));
  parts.push(`<p style="font-size:13px;margin:4px 0;">Filed this week: ${e(decisionLine(digest.decisionTimes.week.incident))}. ${e(decisionLine(digest.decisionTimes.week.other))}.</p>`);
  parts.push(`<p style="font-size:13px;margin:4px 0;color:#4b5563;">Trailing ${digest.decisionTimes.trailing.windowDays} days: ${e(decisionLine(digest.decisionTimes.trailing.incident))}. ${e(decisionLine(digest.decisionTimes.trailing.other))}.</p>`);

  parts.push(`<h2 style="${H2}">Ledger</h2>`);
  parts.push(`<p style="font-size:13px;${digest.ledger.halted ? 'color:#b91c1c;' : ''}">${e(ledgerLine(digest))}.</p>`);

  parts.push(`<p style="font-size:11px;color:#6b7280;margin-top:24px;">Computed ${e(digest.generatedAt)} from the grant store's ledger; figures as of the end of the week (${e(digest.to)}), the same as <code>breakglass report &lt;kind&gt; --now ${e(new Date(Date.parse(digest.to) - 1).toISOString())}</code>.${opts.link ? ` <a href="${e(opts.link)}" style="color:#2563eb;">Open the console</a>.` : ''}</p>`);
  parts.push('</td></tr></table></td></tr></table></body></html>');
  return { subject: digestSubject(digest), html: parts.join('\n'), text: renderDigestText(digest, opts.link), images };
}

function textTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** The plain-text part: the same sections and figures, readable in any mail client and in a terminal. */
export function renderDigestText(digest: Digest, link?: string): string {
  const b = digest.bypasses;
  const weeks = digest.previousWeeks.map((w) => w.week.slice(5));
  const out: string[] = [];
  out.push(`Breakglass weekly digest ${digest.week}`, `${weekRange(digest)} (${digest.timeZone})`, '');
  out.push(`Bypasses: ${b.thisWeek} (${versusAverage(b.thisWeek, b.previousAverage)}); ${b.standing} standing scope, ${b.preApproved} pre-approved by an incident, ${b.emergency} emergency credential.`);
  out.push(`Emergency credential uses: ${digest.emergency.uses.length}; refused attempts: ${digest.emergency.refused}.`);
  out.push(`Gates to fix: ${digest.findings.length}. Reviews overdue: ${digest.reviews.overdue.length}.`, '');
  out.push('BYPASSES PER GATE', textTable(['GATE', 'WEEK', ...weeks, 'AVG'], b.byGate.map((r) => [`${r.key}${r.kind === 'safety' ? ' (safety)' : ''}`, String(r.thisWeek), ...r.previous.map(String), String(r.previousAverage)])), '');
  out.push('BYPASSES PER TEAM', textTable(['TEAM', 'WEEK', ...weeks, 'AVG'], b.byTeam.map((r) => [r.key, String(r.thisWeek), ...r.previous.map(String), String(r.previousAverage)])), '');
  out.push('EMERGENCY CREDENTIAL USES');
  if (digest.emergency.uses.length === 0) out.push('None this week.');
  for (const u of digest.emergency.uses) out.push(`- ${u.at} ${u.usedBy}${u.team ? ` (${u.team})` : ''} opened gate ${u.gate} with ${u.credentialId} (${u.requestId})${u.incidentRef ? ` for ${u.incidentRef}` : ''}; review ${u.reviewState ?? 'not opened'}, ${u.signoffs}/${u.signoffsRequired} sign-offs`);
  out.push('', 'FIX THE GATE: DEVIANCE FINDINGS');
  if (digest.findings.length === 0) out.push('No findings: bypasses are rare and spread out.');
  for (const f of digest.findings) out.push(`- ${f.title}`, `  ${f.message}`);
  out.push('', `BUDGETS USED (${digest.budgets.quarter})`, textTable(['TEAM', 'USED', 'BUDGET', 'USAGE', ''], digest.budgets.teams.map((t) => [t.team, String(t.used), t.budget === null ? '-' : String(t.budget), pct(t.usage), t.overBudget ? 'OVER BUDGET' : ''])));
  out.push('', 'REVIEWS OVERDUE', `${digest.reviews.overdue.length} overdue; ${digest.reviews.openWithinDeadline} open within the deadline; on-time rate ${pct(digest.reviews.onTimeRate)} of ${digest.reviews.due} due.`);
  for (const o of digest.reviews.overdue) out.push(`- ${o.reviewId} gate ${o.gate} team ${o.team}, open ${duration(o.ageMs)}`);
  out.push('', 'DECISION TIMES (filed this week)', `- ${decisionLine(digest.decisionTimes.week.incident)}`, `- ${decisionLine(digest.decisionTimes.week.other)}`);
  out.push(`Trailing ${digest.decisionTimes.trailing.windowDays} days:`, `- ${decisionLine(digest.decisionTimes.trailing.incident)}`, `- ${decisionLine(digest.decisionTimes.trailing.other)}`);
  out.push('', 'LEDGER', ledgerLine(digest), '');
  out.push(`Computed ${digest.generatedAt}; figures as of the end of the week (${digest.to}).${link ? ` Console: ${link}` : ''}`);
  return `${out.join('\n')}\n`;
}
