import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { computeDigest, digestAsOf } from '../../../../grant-store/digest/digest-model';
import { digestCharts } from '../../../../grant-store/digest/digest-charts';
import { renderPng } from '../../../../grant-store/digest/png-render';
import { renderDigest } from '../../../../grant-store/digest/render-digest';
import { decisionTimesReport } from '../../../../grant-store/reports/decision-times-report';
import { findingsReport } from '../../../../grant-store/reports/findings-report';
import { reviewsReport } from '../../../../grant-store/reports/reviews-report';
import { teamsReport } from '../../../../grant-store/reports/teams-report';
import { DigestSchema } from '../../../../shared/domain/digest';
import type { LedgerEntry } from '../../../../shared/domain/ledger-entry';
import { ledgerEntry } from '../../../support/ledger-entry-fixture';
import { DAY, HOUR, ago, bypass, dominatingGate, input, review, state } from '../reports/fixtures';

const LEDGER = { size: 40, checkpoint: { size: 39, rootHash: 'ab'.repeat(32), signedAt: '2026-11-30T06:59:59.000Z' }, unsigned: 1, halted: null, witnesses: null };
const requests = [...dominatingGate, bypass('req_search1', 'perf', 8 * DAY, { team: 'search', requester: 'sam' }), bypass('req_sig2', 'image-signing', 2 * HOUR, { incidentRef: 'INC-7' })];
const reviews = [review({ id: 'rev_old', openedAt: ago(9 * DAY) }), review({ id: 'rev_new', openedAt: ago(2 * DAY) }), review({ id: 'rev_done', openedAt: ago(12 * DAY), completedAt: ago(11 * DAY) })];

function digestFor(timeZone: string) {
  return computeDigest({ report: state({ requests, reviews }), week: { year: 2026, week: 48 }, timeZone, generatedAt: new Date('2026-11-30T07:00:00.000Z'), emergencyEntries: [], ledger: LEDGER });
}

describe('weekly digest model', () => {
  test('figures equal the reports computed as of the week end, and validate against the schema', () => {
    const digest = DigestSchema.parse(digestFor('UTC'));
    assert.equal(digest.from, '2026-11-23T00:00:00.000Z');
    assert.equal(digest.to, '2026-11-30T00:00:00.000Z');
    const at = input({ requests, reviews, now: new Date(digestAsOf(Date.parse(digest.to))) });
    assert.deepEqual(digest.findings, findingsReport(at).findings);
    assert.ok(digest.findings.length >= 1, 'the fixture has a dominating gate');
    assert.deepEqual(digest.budgets.teams, teamsReport(at).teams);
    assert.deepEqual(digest.decisionTimes.trailing, decisionTimesReport(at));
    const rev = reviewsReport(at);
    assert.deepEqual(digest.reviews.overdue, rev.open.filter((o) => o.overdue));
    assert.deepEqual(digest.reviews.overdue.map((o) => o.reviewId), ['rev_old']);
    assert.equal(digest.reviews.onTimeRate, rev.onTimeRate);
  });

  test('bypasses per week: this week, the four before and per gate / team rows that add up', () => {
    const digest = digestFor('UTC');
    // The fixtures' NOW is Thursday 26 Nov 12:00Z; the digest counts to Sunday's end: int1..int3,
    // sig2 (2 h before NOW) and req_future (Friday) are in W48; int4 and perf1 in W47.
    assert.equal(digest.bypasses.thisWeek, 5);
    assert.deepEqual(digest.previousWeeks.map((w) => w.week), ['2026-W44', '2026-W45', '2026-W46', '2026-W47']);
    const gate = (g: string) => digest.bypasses.byGate.find((r) => r.key === g)!;
    assert.equal(gate('integration').thisWeek, 4);
    assert.deepEqual(gate('integration').previous, [0, 1, 0, 1]);
    assert.equal(gate('image-signing').thisWeek, 1);
    assert.equal(gate('image-signing').kind, 'safety');
    const sumGates = digest.bypasses.byGate.reduce((s, r) => s + r.thisWeek, 0);
    const sumTeams = digest.bypasses.byTeam.reduce((s, r) => s + r.thisWeek, 0);
    assert.equal(sumGates, digest.bypasses.thisWeek);
    assert.equal(sumTeams, digest.bypasses.thisWeek);
    digest.previousWeeks.forEach((_, i) => assert.equal(digest.bypasses.byGate.reduce((s, r) => s + r.previous[i]!, 0), digest.bypasses.previous[i]));
    assert.equal(digest.bypasses.previousAverage, digest.bypasses.previous.reduce((a, b) => a + b, 0) / 4);
  });

  test('the week follows the time zone: a bypass late Sunday UTC is Monday in Tokyo', () => {
    const lateSunday = bypass('req_late', 'perf', 0, { activatedAt: '2026-11-22T20:00:00.000Z', createdAt: '2026-11-22T19:55:00.000Z' });
    const make = (tz: string) => computeDigest({ report: state({ requests: [lateSunday] }), week: { year: 2026, week: 48 }, timeZone: tz, generatedAt: new Date(), emergencyEntries: [], ledger: LEDGER });
    assert.equal(make('UTC').bypasses.thisWeek, 0);
    assert.equal(make('Asia/Tokyo').bypasses.thisWeek, 1); // Monday 23 Nov 05:00 JST
  });

  test('emergency uses of the week come with their review state as of the week end', () => {
    const use = { seq: 7, ...ledgerEntry({ type: 'emergency_used', time: '2026-11-24T03:00:00.000Z', actor: 'alice', target: 'req_emer', gate: 'image-signing', incidentRef: 'INC-9', data: { credentialId: 'emc_1', team: 'payments' } }) } as LedgerEntry;
    const refused = { seq: 9, ...ledgerEntry({ type: 'emergency_refused', time: '2026-11-24T04:00:00.000Z', actor: 'alice', target: 'emc_1', data: {} }) } as LedgerEntry;
    const rev = { ...review({ id: 'rev_emer', requestId: 'req_emer', openedAt: '2026-11-24T03:00:00.000Z' }), signoffsRequired: 2, signoffs: [{ by: 'sec1', team: null, finding: 'justified' as const, note: 'checked the runbook', at: '2026-11-25T09:00:00.000Z' }] };
    const digest = computeDigest({ report: state({ requests, reviews: [rev] }), week: { year: 2026, week: 48 }, timeZone: 'UTC', generatedAt: new Date(), emergencyEntries: [use, refused], ledger: LEDGER });
    assert.equal(digest.emergency.refused, 1);
    assert.deepEqual(digest.emergency.uses.map((u) => [u.requestId, u.usedBy, u.team, u.reviewState, u.signoffs, u.signoffsRequired]), [['req_emer', 'alice', 'payments', 'review_open', 1, 2]]);
  });
});

describe('digest rendering', () => {
  test('PNG charts are valid images of the scene size at 2x, with ink', () => {
    for (const { scene } of digestCharts(digestFor('Europe/Berlin'))) {
      const png = renderPng(scene);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.equal(png.readUInt32BE(16), scene.width * 2);
      assert.equal(png.readUInt32BE(20), scene.height * 2);
      const idatLength = png.readUInt32BE(33);
      assert.equal(png.subarray(37, 41).toString('latin1'), 'IDAT');
      const raw = inflateSync(png.subarray(41, 41 + idatLength));
      assert.equal(raw.length, (scene.width * 2 * 3 + 1) * scene.height * 2);
      let ink = 0;
      for (let i = 0; i < raw.length; i++) if (raw[i] !== 0xff && i % (scene.width * 6 + 1) !== 0) ink++;
      assert.ok(ink > 1000, `${scene.title}: the chart has drawn pixels`);
    }
  });

  test('HTML has no script and no external resource; email charts are cid PNGs with alt text; the text part has the figures', () => {
    const digest = digestFor('Europe/Berlin');
    const mail = renderDigest(digest, { charts: 'cid' });
    assert.doesNotMatch(mail.html, /<script|https?:\/\/(?!www\.w3\.org)/i);
    assert.equal(mail.images.length, 3);
    for (const img of mail.images) assert.match(mail.html, new RegExp(`src="cid:${img.cid.replace(/\./g, '\\.')}"`));
    const file = renderDigest(digest, { charts: 'svg' });
    assert.equal((file.html.match(/<svg /g) ?? []).length, 3);
    assert.equal(file.images.length, 0);
    assert.match(mail.text, /Bypasses: 5 /);
    assert.match(mail.text, /FIX THE GATE/);
    assert.match(mail.subject, /2026-W48: 5 bypasses/);
  });
});
