import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { chromium, type Browser } from 'playwright-core';
import { computeDigest } from '../../../grant-store/digest/digest-model';
import { sendDigestMail } from '../../../grant-store/digest/digest-mailer';
import { renderDigest } from '../../../grant-store/digest/render-digest';
import { teamsReport } from '../../../grant-store/reports/teams-report';
import { digestAsOf } from '../../../grant-store/digest/digest-model';
import { startSmtpSink, type SmtpSink } from '../../support/smtp-sink';
import { DAY, HOUR, ago, bypass, dominatingGate, input, review, state } from '../../unit/grant-store/reports/fixtures';
import { secretLookup } from '../../../grant-store/store-config';

/**
 * The digest email end to end at the transport: rendered, sent with nodemailer through a real
 * SMTP server (smtp-server on 127.0.0.1) with SMTP AUTH from the environment, parsed back with
 * mailparser, and the HTML as a mail client shows it (cid images resolved) screenshotted in
 * Chromium. The store-driven path (CLI, scheduler, election) is tested in test/integration/issue15/digest-store.test.ts.
 */

const ENV = { BG_SMTP_USER: 'digest-bot', BG_SMTP_PASSWORD: 'correct horse battery staple' };
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const requests = [...dominatingGate, bypass('req_search1', 'perf', 8 * DAY, { team: 'search', requester: 'sam' }), bypass('req_sig2', 'image-signing', 2 * HOUR, { incidentRef: 'INC-7' })];
const reviews = [review({ id: 'rev_old', openedAt: ago(9 * DAY) })];

describe('digest email through a real SMTP server', () => {
  let sink: SmtpSink;
  let browser: Browser;
  before(async () => {
    sink = await startSmtpSink({ user: ENV.BG_SMTP_USER, password: ENV.BG_SMTP_PASSWORD });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    await sink?.close();
  });

  test('multipart message: HTML with three inline PNG charts by Content-ID, plain text, figures from the reports', async () => {
    const digest = computeDigest({ report: state({ requests, reviews }), week: { year: 2026, week: 48 }, timeZone: 'Europe/Berlin', generatedAt: new Date('2026-11-30T07:00:00.000Z'), emergencyEntries: [], ledger: { size: 40, checkpoint: null, unsigned: 40, halted: null, witnesses: null } });
    const rendered = renderDigest(digest, { charts: 'cid' });
    const smtp = { host: '127.0.0.1', port: sink.port, tls: 'none' as const, userEnv: 'BG_SMTP_USER', passwordEnv: 'BG_SMTP_PASSWORD' };
    const result = await sendDigestMail(rendered, { from: 'breakglass@example.com', to: ['cto@example.com', 'security-leads@example.com'] , smtp }, secretLookup(ENV));
    assert.deepEqual(result.accepted.sort(), ['cto@example.com', 'security-leads@example.com']);

    const received = await sink.next();
    assert.equal(received.user, 'digest-bot', 'SMTP AUTH with the credentials from the environment');
    assert.deepEqual(received.to.sort(), ['cto@example.com', 'security-leads@example.com']);
    const mail = await simpleParser(received.raw, { keepCidLinks: true });
    assert.equal(mail.subject, rendered.subject);
    assert.equal(mail.messageId, result.messageId);
    assert.match(mail.text ?? '', /BYPASSES PER GATE/);
    const pngs = mail.attachments.filter((a) => a.contentType === 'image/png');
    assert.equal(pngs.length, 3);
    for (const png of pngs) {
      assert.ok(png.cid, 'every chart has a Content-ID');
      assert.ok(String(mail.html).includes(`cid:${png.cid}`), `the HTML shows ${png.cid}`);
      assert.deepEqual([...png.content.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    }
    // Budgets in the text part are the teams report's, as of the week's end.
    const teams = teamsReport(input({ requests, reviews, now: new Date(digestAsOf(Date.parse(digest.to))) }));
    for (const t of teams.teams) assert.match(mail.text ?? '', new RegExp(`^${t.team}\\s+${t.used}\\s+${t.budget}\\b`, 'm'));

    // As a mail client shows it: mailparser resolves cid: to data: URIs.
    const shown = await simpleParser(received.raw);
    const page = await browser.newPage({ viewport: { width: 680, height: 900 } });
    try {
      await page.setContent(String(shown.html), { waitUntil: 'load' });
      const images = await page.$$eval('img', (imgs) => imgs.map((i) => ({ w: (i as unknown as { naturalWidth: number }).naturalWidth, alt: i.getAttribute('alt') ?? '' })));
      assert.equal(images.length, 3);
      for (const img of images) assert.ok(img.w > 0 && img.alt.length > 0, `image ${img.alt} decoded`);
      await mkdir('test-results/digest', { recursive: true });
      await page.screenshot({ path: 'test-results/digest/digest-email.png', fullPage: true });
    } finally {
      await page.close();
    }
  });

  test('missing SMTP credentials are refused before connecting, naming the variable', async () => {
    const digest = computeDigest({ report: state({}), week: { year: 2026, week: 48 }, timeZone: 'UTC', generatedAt: new Date(), emergencyEntries: [], ledger: { size: 0, checkpoint: null, unsigned: 0, halted: null, witnesses: null } });
    const before = sink.messages.length;
    await assert.rejects(
      sendDigestMail(renderDigest(digest, { charts: 'cid' }), { from: 'breakglass@example.com', to: ['cto@example.com'], smtp: { host: '127.0.0.1', port: sink.port, tls: 'none', userEnv: 'BG_SMTP_USER', passwordEnv: 'BG_SMTP_PASSWORD' } }, secretLookup({})),
      /BG_SMTP_USER and BG_SMTP_PASSWORD/,
    );
    assert.equal(sink.messages.length, before);
  });
});
