import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { chromium, type Browser } from 'playwright-core';
import { formatIsoWeek, isoWeekAt, isoWeekBounds, sendTimeInWeek, shiftIsoWeek } from '../../../grant-store/digest/iso-week';
import { startSmtpSink, type SmtpSink } from '../../support/smtp-sink';
import { eventually, expectExit, json, startIssue15Store, startReceiver, type Backend, type Issue15Store, type Receiver } from './issue15-harness';
import { UNUSABLE_ATTESTATION_SECTION } from '../../support/unusable-attestation-root';

/**
 * The weekly digest from a real store: the scheduler sends a week's digest at the policy's time
 * (Monday 07:00 Europe/Berlin) through a real SMTP server with SMTP AUTH, and to the webhook that
 * lists weekly_digest; the message is parsed and its figures checked against the reports as of
 * the week's end; `report digest --out` renders the HTML, shown in Chromium; `report digest
 * --send` sends on demand. With two instances on one PostgreSQL database exactly one sends.
 */

const SMTP = { BG_SMTP_USER: 'digest-bot', BG_SMTP_PASSWORD: 'correct horse battery staple' };
Object.assign(process.env, SMTP);
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const TIME_ZONE = 'Europe/Berlin';
const SCHEDULE = { weekday: 'monday', hour: 7, minute: 0, timeZone: TIME_ZONE } as const;
/**
 * The digested week: the one after next, so the store's clock only moves forward from the data
 * dir's creation (the ledger is in time order, as the digest's search for the week expects).
 */
const WEEK = shiftIsoWeek(isoWeekAt(Date.now(), TIME_ZONE), 2);
const WEEK_LABEL = formatIsoWeek(WEEK);
const BOUNDS = isoWeekBounds(WEEK, TIME_ZONE);
/** Wednesday 10:00 of the week (the bypasses happen then). */
const WEEK_WEDNESDAY = new Date(BOUNDS.from + 2 * 86_400_000 + 10 * 3_600_000).toISOString();
const WEEK_END = new Date(BOUNDS.to).toISOString();
/** Monday 07:00 Berlin after the week: when its digest is due. */
const SEND_AT_MS = sendTimeInWeek(shiftIsoWeek(WEEK, 1), SCHEDULE);

const POLICY = (smtpPort: number, hook: string) => `version: 1
ttlChoices: [15m, 1h, 4h]
tiers:
  low:
    approvals: 1
    approverGroups: [leads]
    maxTtl: 4h
  critical:
    approvals: 2
    approverGroups: [leads, security-leads]
    allowSameTeam: false
    maxTtl: 1h
    attestationRequired: true
    notify: [carol]
gates:
  - id: ci-tests
    kind: slow
    tier: low
    scopeKeys: [repo, branch]
  - id: container-signing
    kind: safety
    tier: critical
    scopeKeys: [repo]
teams:
  payments: { members: [alice, dave], bypassBudget: 1 }
  platform: { members: [bob] }
  security: { members: [carol] }
approvers:
  leads: [bob]
  security-leads: [carol]
standingScopes:
  - id: payments-nightly
    gate: ci-tests
    team: payments
    scope: { repo: payments-api }
    maxTtl: 4h
    approvedBy: [bob]
    validUntil: "2027-12-31"
    reason: Nightly payments builds rerun the suite; a hotfix may ship before it finishes.
webhooks:
  - id: leadership-chat
    url: ${hook}/digest
    format: slack
    events: [weekly_digest]
digest:
  schedule: { weekday: monday, hour: 7, minute: 0, timeZone: ${TIME_ZONE} }
  email:
    from: breakglass@example.com
    to: [cto@example.com, security-leads@example.com]
    smtp: { host: 127.0.0.1, port: ${smtpPort}, tls: none, userEnv: BG_SMTP_USER, passwordEnv: BG_SMTP_PASSWORD }
${UNUSABLE_ATTESTATION_SECTION}`;

const PEOPLE: [string, ('requester' | 'approver' | 'gate' | 'admin' | 'auditor')[]][] = [
  ['alice', ['requester']],
  ['bob', ['approver']],
  ['carol', ['approver']],
  ['erin', ['auditor']],
];
const REASON = 'Nightly payments build: the suite is red on a flaky test, hotfix must ship';

/** Bypasses in the digested week: one under the standing scope (ci-tests), one with an emergency credential (container-signing). */
async function weekOfBypasses(s: Issue15Store): Promise<void> {
  const standing = await s.as('alice', ['request', '--gate', 'ci-tests', '--scope', 'repo=payments-api,branch=main', '--reason', REASON, '--severity', 'sev3', '--ttl', '1h', '--json']);
  expectExit(standing, 0, 'standing-scope request');
  assert.equal(json(standing).request.state, 'active');
  const sealed = json(await s.as('admin', ['admin', 'emergency', 'seal', '--gate', 'container-signing', '--scope', 'repo=payments-api', '--holders', 'alice', '--json']));
  expectExit(await s.as('alice', ['emergency', 'open', '--credential', sealed.secret, '--reason', 'Signer down in eu-west, DR runbook step 4', '--incident', 'INC-48']), 0, 'emergency open');
}

async function startDigestStore(backend: Backend, sink: SmtpSink, hook: Receiver): Promise<Issue15Store> {
  return startIssue15Store(backend, POLICY(sink.port, hook.url), PEOPLE, { clockAt: WEEK_WEDNESDAY });
}

describe('weekly digest from a real store (SQLite): scheduled email, webhook, CLI', { concurrency: false }, () => {
  let sink: SmtpSink;
  let hook: Receiver;
  let s: Issue15Store;
  let browser: Browser;

  before(async () => {
    sink = await startSmtpSink({ user: SMTP.BG_SMTP_USER, password: SMTP.BG_SMTP_PASSWORD });
    hook = await startReceiver();
    s = await startDigestStore('sqlite', sink, hook);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
    await hook?.close();
    await sink?.close();
  });

  test('at Monday 07:00 Berlin the store sends the digest of the week by email (figures = the reports as of its end) and to the webhook', async () => {
    await weekOfBypasses(s);
    assert.equal(sink.messages.length, 0, 'nothing is due on Wednesday');
    s.clock.offsetMs = SEND_AT_MS + 30_000 - Date.now();
    const received = await sink.next();
    assert.equal(received.user, 'digest-bot');
    assert.deepEqual(received.to.sort(), ['cto@example.com', 'security-leads@example.com']);
    const mail = await simpleParser(received.raw, { keepCidLinks: true });
    assert.match(mail.subject ?? '', new RegExp(WEEK_LABEL));
    const text = mail.text ?? '';
    assert.equal(mail.attachments.filter((a) => a.contentType === 'image/png' && String(mail.html).includes(`cid:${a.cid}`)).length, 3, 'three inline PNG charts');

    // The figures, from the store's own digest and from the reports as of the week's end.
    const digest = json(await s.as('bob', ['report', 'digest', '--week', WEEK_LABEL, '--json']));
    assert.deepEqual([digest.bypasses.thisWeek, digest.bypasses.standing, digest.bypasses.emergency, digest.emergency.uses.length], [2, 1, 1, 1]);
    const gates = json(await s.as('bob', ['report', 'gates', '--now', WEEK_END, '--json']));
    for (const row of digest.bypasses.byGate) {
      const g = gates.gates.find((x: { gate: string }) => x.gate === row.key);
      assert.equal(row.thisWeek, g.bypasses.d7, `gate ${row.key}: the digest and the gates report agree`);
    }
    const teams = json(await s.as('bob', ['report', 'teams', '--now', WEEK_END, '--json']));
    for (const t of teams.teams) {
      assert.match(text, new RegExp(`^${t.team}\\s+${t.used}\\s+${t.budget}\\b`, 'm'), `budget line of ${t.team} in the text part`);
    }
    assert.match(text, /alice \(payments\)/, 'the emergency use is listed');

    const sent = (await s.ledger()).filter((e) => e.type === 'digest_sent');
    assert.equal(sent.length, 1);
    assert.deepEqual([sent[0]!.target, sent[0]!.data['onDemand'], (sent[0]!.data['email'] as { messageId: string }).messageId], [`digest:${WEEK_LABEL}`, false, mail.messageId]);
    // The webhook got the critical alert of the emergency use (every webhook does) and the digest.
    const slack = await hook.waitFor('the digest at the webhook', (d) => d.path === '/digest' && JSON.stringify(d.body).includes(WEEK_LABEL));
    assert.match(JSON.stringify(slack.body), /Bypasses: 2/);

    // The scheduler keeps looking at the clock: the week is not sent again.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sink.messages.length, 1);
  });

  test('`report digest --out` writes the HTML with inline SVG charts (shown in Chromium); `--send` sends on demand', async () => {
    const out = join(s.tmp, `digest-${WEEK_LABEL}.html`);
    const r = await s.as('bob', ['report', 'digest', '--week', WEEK_LABEL, '--out', out]);
    expectExit(r, 0, 'report digest --out');
    const html = await readFile(out, 'utf8');
    assert.match(html, /<svg/);
    const page = await browser.newPage({ viewport: { width: 680, height: 900 } });
    try {
      await page.setContent(html, { waitUntil: 'load' });
      assert.equal(await page.locator('svg').count(), 3);
      assert.match((await page.locator('h1').textContent()) ?? '', new RegExp(WEEK_LABEL));
      await mkdir('test-results/digest', { recursive: true });
      await page.screenshot({ path: 'test-results/digest/digest-report-out.png', fullPage: true });
    } finally {
      await page.close();
    }
    expectExit(await s.as('bob', ['report', 'digest', '--send']), 1, 'sending is for admins');
    expectExit(await s.as('bob', ['report', 'digest', '--week', '2026-48']), 2, 'a malformed week');
    const sent = await s.as('admin', ['report', 'digest', '--week', WEEK_LABEL, '--send', '--json']);
    expectExit(sent, 0, 'report digest --send');
    assert.deepEqual(json(sent).email.accepted.sort(), ['cto@example.com', 'security-leads@example.com']);
    const again = await sink.next();
    assert.match((await simpleParser(again.raw)).subject ?? '', new RegExp(WEEK_LABEL));
    const onDemand = (await s.ledger()).filter((e) => e.type === 'digest_sent' && e.data['onDemand'] === true);
    assert.equal(onDemand.length, 1);
  });
});

describe('weekly digest with two instances on one PostgreSQL database', { concurrency: false }, () => {
  let sink: SmtpSink;
  let hook: Receiver;
  let s: Issue15Store;

  before(async () => {
    sink = await startSmtpSink({ user: SMTP.BG_SMTP_USER, password: SMTP.BG_SMTP_PASSWORD });
    hook = await startReceiver();
    s = await startDigestStore('postgres', sink, hook);
  });
  after(async () => {
    await s?.close();
    await hook?.close();
    await sink?.close();
  });

  test('both schedulers see the week due; the database elects one sender: one email, one digest_sent', async () => {
    await weekOfBypasses(s);
    await s.secondInstance();
    s.clock.offsetMs = SEND_AT_MS + 30_000 - Date.now();
    const received = await sink.next();
    assert.match((await simpleParser(received.raw)).subject ?? '', new RegExp(WEEK_LABEL));
    await eventually('the digest_sent entry', async () => ((await s.ledger()).some((e) => e.type === 'digest_sent') ? true : undefined));
    // Both instances check every 100 ms: give them many more chances to send it twice.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(sink.messages.length, 1, 'one email for the week');
    const sent = (await s.ledger()).filter((e) => e.type === 'digest_sent');
    assert.equal(sent.length, 1, 'one digest_sent entry');
    assert.equal(sent[0]!.target, `digest:${WEEK_LABEL}`);
    assert.equal(json(await s.as('erin', ['report', 'digest', '--week', WEEK_LABEL, '--json'])).bypasses.thisWeek, 2);
  });
});
