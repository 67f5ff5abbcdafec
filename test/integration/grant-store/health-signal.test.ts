import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { AuditRecordSchema } from '../../../shared/domain/audit';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import { NotificationsResponseSchema } from '../../../shared/domain/notification';
import { FindingsReportSchema, GatesReportSchema, TeamsReportSchema } from '../../../shared/domain/reports';
import type { BypassRequest } from '../../../shared/domain/request';
import { verifyWebhookSignature } from '../../../grant-store/alerts/webhook-signature';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text';

/**
 * Issue 7 end to end on a real store (SQLite, temp data dir): a critical request and four
 * approved bypasses (one gate dominating, a team over budget) go out to three webhooks on
 * 127.0.0.1 (signed JSON that fails twice then succeeds, a Slack message, a dead endpoint),
 * every outcome lands in the ledger; the requester and the CISO are told; /metrics parses as
 * Prometheus text; the reports and the audit export (JSONL and CSV) say what happened.
 */

const SECRET = 'test-webhook-secret-0123456789';
const SECRET_ENV = 'BG_TEST_WEBHOOK_SECRET';
const MAX_ATTEMPTS = 4;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

function policyYaml(port: number): string {
  const base = `http://127.0.0.1:${port}`;
  return `version: 1
ttlChoices: [1m, 15m, 1h]
decisionWindow: 1h
tiers:
  low:
    approvals: 1
    approverGroups: [leads]
    maxTtl: 1h
  critical:
    approvals: 2
    approverGroups: [platform-leads, security-leads]
    allowSameTeam: false
    maxTtl: 1h
    attestationRequired: true
    notify: [ciso]
gates:
  - { id: container-signing, kind: safety, tier: critical, scopeKeys: [repo, branch] }
  - { id: ci-tests, kind: slow, tier: low, scopeKeys: [repo, branch] }
  - { id: perf-suite, kind: slow, tier: low, scopeKeys: [repo, branch] }
teams:
  payments: { members: [alice, dave], bypassBudget: 2 }
  platform: { members: [bob, erin], bypassBudget: 10 }
  security: { members: [carol, ciso], bypassBudget: 4 }
approvers:
  leads: [bob, dave]
  platform-leads: [bob]
  security-leads: [carol]
webhooks:
  - { id: siem, url: "${base}/json", format: json, secretEnv: ${SECRET_ENV}, events: [bypass_activated, critical_request, deviance_finding, decision] }
  - { id: chat, url: "${base}/slack", format: slack, secretEnv: ${SECRET_ENV}, events: [bypass_activated, deviance_finding] }
  - { id: dead, url: "${base}/dead", format: json, secretEnv: ${SECRET_ENV}, events: [critical_request] }
`;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Strict RFC 4180 reader (CRLF records). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 1;
    } else cell += ch;
  }
  assert.equal(quoted, false);
  return rows;
}

describe('bypass as a health signal (real store, real webhooks on 127.0.0.1)', () => {
  let receiver: Server;
  const received: Received[] = [];
  let firstJsonDelivery: string | undefined;
  let fx: StoreFixture;
  const savedEnv = { ...process.env };
  let alice: string;
  let auditor: string;
  let ciso: string;
  const requests: BypassRequest[] = [];

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        const id = String(req.headers['x-breakglass-delivery']);
        let status = 200;
        if (path === '/dead') status = 500;
        if (path === '/json') {
          firstJsonDelivery ??= id;
          // the very first delivery to the SIEM is refused twice, then accepted
          if (id === firstJsonDelivery && received.filter((r) => r.path === '/json' && r.headers['x-breakglass-delivery'] === id).length < 2) status = 500;
        }
        received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'try later');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    process.env[SECRET_ENV] = SECRET;
    process.env.BREAKGLASS_ALERT_RETRY_BASE_MS = '30';
    process.env.BREAKGLASS_ALERT_RETRY_MAX_MS = '200';
    process.env.BREAKGLASS_ALERT_MAX_ATTEMPTS = String(MAX_ATTEMPTS);
    fx = await startStoreFixture({ policyYaml: policyYaml(port) });
    alice = await fx.token('alice', ['requester']);
    auditor = await fx.token('audrey', ['auditor']);
    ciso = await fx.token('ciso', ['requester']);
    const bob = await fx.approver('bob', { attested: true });
    const carol = await fx.approver('carol', { attested: true });

    const file = async (body: Record<string, unknown>) => {
      const r = await fx.call('POST', '/v1/requests', { token: alice, body });
      assert.equal(r.status, 201, r.text);
      return r.json.request as BypassRequest;
    };
    const decide = async (request: BypassRequest, who: { token: string; signer: Parameters<StoreFixture['sign']>[2] }, name: string) => {
      const bundle = await fx.sign(request, name, who.signer, 'approve', { ttl: '1m' });
      const r = await fx.call('POST', `/v1/requests/${request.id}/decisions`, { token: who.token, body: { bundle } });
      assert.equal(r.status, 200, r.text);
      return r.json.request as BypassRequest;
    };

    // a critical request: two approvals from other teams, the CISO on the notify list
    const critical = await file({ gate: 'container-signing', scope: { repo: 'payments-api', branch: 'main' }, reason: 'Image signer is down and checkout returns 500s', incidentRef: 'INC-1190', severity: 'sev1', ttl: '1m' });
    await decide(critical, bob, 'bob');
    requests.push(await decide(critical, carol, 'carol'));
    // three bypasses of ci-tests: 3 of 4 bypasses -> the gate dominates; payments (budget 2) is over budget
    for (const reason of ['=HYPERLINK("http://evil.example") suite hangs for 40 minutes', 'flaky DB fixture blocks the hotfix, retried 3 times', 'integration suite times out on the shared runner']) {
      const r = await file({ gate: 'ci-tests', scope: { repo: 'payments-api', branch: 'main' }, reason, severity: 'sev3', ttl: '1m' });
      requests.push(await decide(r, bob, 'bob'));
    }
  });

  after(async () => {
    await fx?.close();
    await new Promise<void>((r) => receiver.close(() => r()));
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  });

  const ledger = async (): Promise<LedgerEntry[]> => {
    const r = await fx.call('GET', '/v1/ledger/entries?from=0&limit=5000', { token: fx.adminToken });
    return r.json.entries as LedgerEntry[];
  };

  test('webhooks get signed deliveries; the first is retried after two 500s; each outcome is in the ledger', async () => {
    const accepted = (path: string, event: string) => received.filter((r) => r.path === path && r.status === 200 && r.headers['x-breakglass-event'] === event);
    await waitFor('all deliveries', () =>
      accepted('/json', 'critical_request').length === 1 &&
      accepted('/json', 'decision').length === 5 &&
      accepted('/json', 'bypass_activated').length === 4 &&
      accepted('/json', 'deviance_finding').length >= 1 &&
      accepted('/slack', 'bypass_activated').length === 4 &&
      accepted('/slack', 'deviance_finding').length >= 1 &&
      received.filter((r) => r.path === '/dead').length === MAX_ATTEMPTS,
    );

    // every delivery is signed over timestamp + body, and a tampered body does not verify
    for (const r of received) {
      const headers = { timestamp: r.headers['x-breakglass-timestamp'] as string, signature: r.headers['x-breakglass-signature'] as string };
      assert.match(headers.signature, /^sha256=[0-9a-f]{64}$/);
      const now = Math.floor(fx.clock.now().getTime() / 1000);
      assert.ok(verifyWebhookSignature(SECRET, headers, r.body, now), `signature of ${r.headers['x-breakglass-delivery']} verifies`);
      assert.equal(verifyWebhookSignature(SECRET, headers, r.body.replace('}', ' }'), now), false);
      assert.equal(verifyWebhookSignature('another-secret', headers, r.body, now), false);
      assert.equal(verifyWebhookSignature(SECRET, headers, r.body, now + 3600), false, 'a replay an hour later is refused');
    }

    // the first SIEM delivery answered 500, 500, then 200: same id, same body each time
    const first = received.filter((r) => r.headers['x-breakglass-delivery'] === firstJsonDelivery);
    assert.deepEqual(first.map((r) => r.status), [500, 500, 200]);
    assert.equal(new Set(first.map((r) => r.body)).size, 1);
    assert.equal(JSON.parse(first[0]?.body ?? '{}').id, firstJsonDelivery);
    // the critical request names the tier's notify list
    const criticalBody = JSON.parse(accepted('/json', 'critical_request')[0]?.body ?? '{}');
    assert.equal(criticalBody.data.gate, 'container-signing');
    assert.equal(criticalBody.data.requestId, requests[0]?.id);
    assert.deepEqual(criticalBody.data.notify, ['ciso']);

    // Slack-compatible messages
    for (const r of received.filter((x) => x.path === '/slack')) {
      const msg = JSON.parse(r.body);
      assert.equal(typeof msg.text, 'string');
      assert.ok(Array.isArray(msg.blocks) && msg.blocks.length === 3);
      assert.equal(msg.blocks[1].type, 'section');
    }
    const finding = received.find((r) => r.path === '/json' && r.headers['x-breakglass-event'] === 'deviance_finding');
    const findingBody = JSON.parse(finding?.body ?? '{}');
    assert.equal(findingBody.data.kind, 'gate_dominates');
    assert.equal(findingBody.data.gate, 'ci-tests');
    assert.equal(findingBody.data.action, 'fix the gate');
    assert.equal(findingBody.data.evidence.gateBypasses, 3);

    // one alert_delivered per accepted delivery, one alert_failed for the dead endpoint
    const entries = await waitFor('alert ledger entries', async () => {
      const all = await ledger();
      return all.filter((e) => e.type === 'alert_failed').length === 1 ? all : undefined;
    });
    const deliveredIds = entries.filter((e) => e.type === 'alert_delivered').map((e) => e.data.deliveryId as string);
    const acceptedIds = received.filter((r) => r.status === 200).map((r) => r.headers['x-breakglass-delivery'] as string);
    assert.deepEqual([...deliveredIds].sort(), [...acceptedIds].sort());
    assert.equal(new Set(deliveredIds).size, deliveredIds.length, 'no delivery recorded twice');
    const firstRecord = entries.find((e) => e.type === 'alert_delivered' && e.data.deliveryId === firstJsonDelivery);
    assert.equal(firstRecord?.data.attempts, 3);
    assert.equal(firstRecord?.actor, 'system');
    const failed = entries.find((e) => e.type === 'alert_failed');
    assert.equal(failed?.data.webhookId, 'dead');
    assert.equal(failed?.data.attempts, MAX_ATTEMPTS);
    assert.equal(failed?.data.error, 'HTTP 500');
    assert.equal(failed?.target, requests[0]?.id);
  });

  test('the requester is told of every decision; the CISO of the critical request', async () => {
    const mine = await fx.call('GET', '/v1/notifications', { token: alice });
    assert.equal(mine.status, 200);
    const feed = NotificationsResponseSchema.parse(mine.json);
    assert.equal(feed.principal, 'alice');
    const decisions = feed.notifications.filter((n) => n.kind === 'decision');
    assert.equal(decisions.length, 5);
    assert.ok(decisions.every((n) => n.because === 'requester' && n.decision === 'approve'));
    assert.deepEqual(decisions.filter((n) => n.requestId === requests[0]?.id).map((n) => n.actor), ['bob', 'carol']);
    assert.equal(feed.notifications.filter((n) => n.kind === 'bypass_activated').length, 4);
    const cisoFeed = NotificationsResponseSchema.parse((await fx.call('GET', '/v1/notifications', { token: ciso })).json);
    assert.deepEqual(
      cisoFeed.notifications.map((n) => [n.kind, n.because, n.requestId]),
      [
        ['critical_request', 'notify_list', requests[0]?.id],
        ['bypass_activated', 'notify_list', requests[0]?.id],
      ],
    );
    const since = cisoFeed.notifications[0]?.seq ?? 0;
    const later = NotificationsResponseSchema.parse((await fx.call('GET', `/v1/notifications?since=${since}`, { token: ciso })).json);
    assert.equal(later.notifications.length, 1);
    assert.equal((await fx.call('GET', '/v1/notifications?since=abc', { token: ciso })).status, 400);
  });

  test('reports over HTTP: the dominating gate, the team over budget', async () => {
    const gates = GatesReportSchema.parse((await fx.call('GET', '/v1/reports/gates', { token: auditor })).json);
    assert.deepEqual(
      gates.gates.map((g) => [g.gate, g.bypasses.d7, g.shareOfBypasses30d, g.requestsToBlocks.requests]),
      [
        ['ci-tests', 3, 0.75, 3],
        ['container-signing', 1, 0.25, 1],
        ['perf-suite', 0, 0, 0],
      ],
    );
    const findings = FindingsReportSchema.parse((await fx.call('GET', '/v1/reports/findings', { token: auditor })).json);
    assert.deepEqual(findings.findings.map((f) => [f.kind, f.gate, f.action]), [['gate_dominates', 'ci-tests', 'fix the gate']]);
    const teams = TeamsReportSchema.parse((await fx.call('GET', '/v1/reports/teams', { token: auditor })).json);
    assert.deepEqual(teams.teams.find((t) => t.team === 'payments'), { team: 'payments', budget: 2, used: 4, usage: 2, overBudget: true, requestIds: requests.map((r) => r.id) });
    assert.equal((await fx.call('GET', '/v1/reports/gates', { token: alice })).status, 403);
    assert.equal((await fx.call('GET', '/v1/reports/nonsense', { token: auditor })).status, 404);
    assert.equal((await fx.call('GET', '/v1/reports/gates?now=yesterday', { token: auditor })).status, 400);
  });

  test('/metrics is Prometheus text for an auditor or gate token, and refused otherwise', async () => {
    assert.equal((await fx.call('GET', '/metrics')).status, 401);
    assert.equal((await fx.call('GET', '/metrics', { token: alice })).status, 403);
    const gate = await fx.token('ci-runner', ['gate']);
    const r = await fx.call('GET', '/metrics', { token: gate });
    assert.equal(r.status, 200);
    const families = parsePrometheusText(r.text);
    assert.equal(families.get('breakglass_bypasses')?.type, 'gauge');
    assert.equal(families.get('breakglass_gate_blocks_total')?.type, 'counter');
    assert.equal(families.get('breakglass_decision_latency_seconds')?.type, 'histogram');
    assert.equal(sampleValue(families, 'breakglass_bypasses', { gate: 'ci-tests', window: '30d' }), 3);
    assert.equal(sampleValue(families, 'breakglass_bypasses', { gate: 'container-signing', window: '7d' }), 1);
    assert.equal(sampleValue(families, 'breakglass_bypass_share_30d', { gate: 'ci-tests' }), 0.75);
    assert.equal(sampleValue(families, 'breakglass_team_over_budget', { team: 'payments' }), 1);
    assert.equal(sampleValue(families, 'breakglass_team_bypasses_quarter', { team: 'payments' }), 4);
    assert.equal(sampleValue(families, 'breakglass_deviance_findings', { kind: 'gate_dominates', gate: 'ci-tests' }), 1);
    assert.equal(sampleValue(families, 'breakglass_decision_latency_seconds_count', { class: 'incident' }), 1);
    assert.equal(sampleValue(families, 'breakglass_decision_latency_seconds_count', { class: 'other' }), 3);
    assert.equal(sampleValue(families, 'breakglass_requests_pending', { gate: 'ci-tests' }), 0);
    assert.equal(sampleValue(families, 'breakglass_decision_target_seconds', { class: 'incident' }), 900);
  });

  test('audit export: one record per ledger event with the review joined; CSV is RFC 4180 with no formula injection', async () => {
    // let the one-minute bypasses expire (server clock) so their reviews open
    fx.clock.advance(2 * 60_000);
    await waitFor('expiry and reviews', async () => (await ledger()).filter((e) => e.type === 'review_opened').length === 4);

    const jsonl = await fx.call('GET', `/v1/audit?format=jsonl&gate=container-signing`, { token: auditor });
    assert.equal(jsonl.status, 200);
    const records = jsonl.text.trimEnd().split('\n').map((line) => AuditRecordSchema.parse(JSON.parse(line)));
    assert.deepEqual(
      records.map((r) => r.action).filter((a) => !a.startsWith('alert_')),
      ['request_created', 'decision', 'decision', 'bypass_activated', 'bypass_expired', 'review_opened'],
    );
    const activated = records.find((r) => r.action === 'bypass_activated');
    assert.equal(activated?.approvers, 'bob,carol');
    assert.equal(activated?.incidentRef, 'INC-1190');
    assert.equal(activated?.team, 'payments');
    assert.equal(activated?.expiresAt, requests[0]?.expiresAt);
    assert.equal(activated?.sourceAddress, '127.0.0.1');
    assert.ok(records.every((r) => r.gate === 'container-signing' && r.reviewStatus === 'review_open'));
    const created = records[0];
    assert.equal(created?.actor, 'alice');
    assert.equal(created?.actorRole, 'requester');

    const byActor = await fx.call('GET', '/v1/audit?format=json&actor=carol', { token: auditor });
    // carol's approval met the threshold: the activation is hers too
    assert.deepEqual(byActor.json.records.map((r: { action: string }) => r.action), ['decision', 'bypass_activated']);
    const future = await fx.call('GET', `/v1/audit?format=json&from=2099-01-01T00:00:00.000Z`, { token: auditor });
    assert.deepEqual(future.json.records, []);

    const csv = await fx.call('GET', '/v1/audit?format=csv&team=payments&gate=ci-tests', { token: auditor });
    assert.equal(csv.status, 200);
    const rows = parseCsv(csv.text);
    const header = rows[0] as string[];
    assert.deepEqual(header.slice(0, 6), ['seq', 'time', 'actor', 'actorRole', 'action', 'target']);
    const reasonCol = header.indexOf('reason');
    const gateCol = header.indexOf('gate');
    assert.ok(rows.slice(1).every((row) => row.length === header.length && row[gateCol] === 'ci-tests'));
    const injected = rows.find((row) => (row[reasonCol] ?? '').includes('HYPERLINK'));
    assert.equal(injected?.[reasonCol], `'=HYPERLINK("http://evil.example") suite hangs for 40 minutes`);
    for (const row of rows) for (const cell of row) assert.ok(!/^[=+\-@\t\r]/.test(cell), `cell would be evaluated: ${cell}`);

    assert.equal((await fx.call('GET', '/v1/audit', { token: alice })).status, 403);
    assert.equal((await fx.call('GET', '/v1/audit?format=xml', { token: auditor })).status, 400);
  });
});
