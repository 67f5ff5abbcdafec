import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseGeneric, parseOpsgenie, parsePagerDuty, payloadDigest, type IncidentEventFacts } from '../../../../grant-store/incidents/incident-payloads';
import { nextIncidentState } from '../../../../grant-store/incidents/incident-state';
import { signGenericWebhook, verifyGenericSignature, verifyPagerDutySignature, verifySharedToken } from '../../../../grant-store/incidents/webhook-auth';
import type { Incident } from '../../../../shared/domain/incident';
import { IncidentSourceSchema } from '../../../../shared/domain/policy-incidents';
import { AppError } from '../../../../shared/errors';
import { OPSGENIE, PAGERDUTY_EXAMPLE, fixtureBytes, pagerDutyEvent, pagerDutySignature } from '../../../support/incident-fixtures';

const SECRET = 'ChzZ9Bo3vN6xl1NWPwjiNU4lMtfW1ldJ8pkN7ZUPDMzBcMhGfSqq7K5wf5+0Tj8S';
const OLD_SECRET = 'previous-secret-still-signed-during-rotation';

describe('PagerDuty v3 signatures', () => {
  const raw = fixtureBytes(PAGERDUTY_EXAMPLE);
  test('one v1 signature over the raw body verifies; a byte changed or another secret does not', () => {
    assert.equal(verifyPagerDutySignature(raw, pagerDutySignature(raw, SECRET), [SECRET]), true);
    assert.equal(verifyPagerDutySignature(Buffer.concat([raw, Buffer.from(' ')]), pagerDutySignature(raw, SECRET), [SECRET]), false);
    assert.equal(verifyPagerDutySignature(raw, pagerDutySignature(raw, 'someone-else'), [SECRET]), false);
  });
  test('during a rotation PagerDuty sends several; any matching one of ours is enough', () => {
    const both = pagerDutySignature(raw, 'new-secret-we-do-not-have-yet', SECRET);
    assert.equal(verifyPagerDutySignature(raw, both, [SECRET]), true);
    assert.equal(verifyPagerDutySignature(raw, pagerDutySignature(raw, OLD_SECRET), [SECRET, OLD_SECRET]), true);
  });
  test('missing, empty, non-v1 and oversized headers are refused', () => {
    for (const header of [undefined, '', 'v0=abc', `sha256=${'0'.repeat(64)}`, `${'v1=00,'.repeat(500)}`]) assert.equal(verifyPagerDutySignature(raw, header, [SECRET]), false);
  });
});

describe('Opsgenie token and generic signatures', () => {
  test('Opsgenie: the shared token in its header (plain or Bearer), constant-time', () => {
    assert.equal(verifySharedToken(SECRET, [SECRET]), true);
    assert.equal(verifySharedToken(`Bearer ${SECRET}`, [SECRET]), true);
    assert.equal(verifySharedToken(`${SECRET}x`, [SECRET]), false);
    assert.equal(verifySharedToken(undefined, [SECRET]), false);
  });
  test('generic: HMAC over "<timestamp>.<raw body>", timestamp within five minutes', () => {
    const raw = Buffer.from('{"id":"e1"}');
    const now = 1_800_000_000;
    const sig = signGenericWebhook(SECRET, now, raw);
    assert.equal(verifyGenericSignature(raw, String(now), sig, [SECRET], now + 299), true);
    assert.equal(verifyGenericSignature(raw, String(now), sig, [SECRET], now + 301), false, 'stale');
    assert.equal(verifyGenericSignature(raw, String(now + 1), sig, [SECRET], now), false, 'timestamp is inside the MAC');
    assert.equal(verifyGenericSignature(raw, 'abc', sig, [SECRET], now), false);
  });
});

describe('documented payloads, parsed verbatim', () => {
  test('PagerDuty example: incident PGR0VU2 of service PF9KMXH, high urgency, P1, assigned to PTUXL6G', () => {
    const parsed = parsePagerDuty(fixtureBytes(PAGERDUTY_EXAMPLE));
    assert.equal(parsed.kind, 'event');
    const f = (parsed as { facts: IncidentEventFacts }).facts;
    assert.deepEqual(
      [f.eventId, f.eventType, new Date(f.occurredAtMs).toISOString(), f.incidentId, f.serviceId, f.serviceName, f.urgency, f.priority, f.status, f.assignees, f.title],
      ['5ac64822-4adc-4fda-ade0-410becf0de4f', 'incident.priority_updated', '2020-10-02T18:45:22.169Z', 'PGR0VU2', 'PF9KMXH', 'API Service', 'high', 'P1', 'triggered', ['PTUXL6G'], 'A little bump in the road'],
    );
    const resolved = parsePagerDuty(pagerDutyEvent({ id: 'e-res', type: 'incident.resolved', occurredAt: '2020-10-02T19:00:00.000Z', status: 'resolved' }));
    assert.equal((resolved as { facts: IncidentEventFacts }).facts.status, 'resolved');
  });

  test('PagerDuty events that are not about an incident\'s state are ignored, not refused', () => {
    const note = Buffer.from(JSON.stringify({ event: { id: 'n1', event_type: 'incident.annotated', resource_type: 'incident', occurred_at: '2020-10-02T18:45:22.169Z', data: { type: 'incident_note', content: 'hello' } } }));
    assert.equal(parsePagerDuty(note).kind, 'ignored');
  });

  test('a malformed PagerDuty incident is refused naming the field', () => {
    const doc = JSON.parse(fixtureBytes(PAGERDUTY_EXAMPLE).toString('utf8'));
    delete doc.event.data.assignees;
    assert.throws(() => parsePagerDuty(Buffer.from(JSON.stringify(doc))), (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && e.fieldErrors?.[0]?.path === 'assignees');
    assert.throws(() => parsePagerDuty(Buffer.from('{not json')), (e: unknown) => e instanceof AppError && /not JSON/.test(e.message));
  });

  test('Opsgenie samples: Create → Acknowledge → AssignOwnership → Close, one alert', () => {
    const source = IncidentSourceSchema.parse({ id: 'opsgenie', kind: 'opsgenie', secretEnv: 'X' });
    let incident: Incident | undefined;
    const seen: Array<[string, string, string[]]> = [];
    for (const [i, name] of [OPSGENIE.create, OPSGENIE.acknowledge, OPSGENIE.assignOwnership, OPSGENIE.close].entries()) {
      const raw = fixtureBytes(name);
      const parsed = parseOpsgenie(raw);
      assert.equal(parsed.kind, 'event');
      const { facts } = parsed as { facts: IncidentEventFacts };
      assert.equal(facts.incidentId, '052652ac-5d1c-464a-812a-7dd18bbfba8c');
      assert.equal(facts.eventId, payloadDigest(raw));
      incident = nextIncidentState(incident, facts, source, { seq: i, payloadDigest: payloadDigest(raw) }).incident;
      seen.push([facts.eventType, incident.status, incident.assignees]);
    }
    assert.deepEqual(seen, [
      ['Create', 'triggered', ['recipient1', 'recipient2']],
      ['Acknowledge', 'acknowledged', ['fili@ifountain.com']],
      ['AssignOwnership', 'acknowledged', ['user2@ifountain.com']],
      ['Close', 'resolved', ['user2@ifountain.com']],
    ]);
    assert.deepEqual(incident!.tags, [], 'Close carries an empty tag list');
    assert.equal(incident!.updatedAt, '2015-01-05T10:06:14.669Z');
  });

  test('an older event never rolls the state back', () => {
    const source = IncidentSourceSchema.parse({ id: 'pagerduty', kind: 'pagerduty', secretEnv: 'X' });
    const resolved = (parsePagerDuty(pagerDutyEvent({ id: 'r', type: 'incident.resolved', occurredAt: '2020-10-02T19:00:00.000Z', status: 'resolved' })) as { facts: IncidentEventFacts }).facts;
    const older = (parsePagerDuty(fixtureBytes(PAGERDUTY_EXAMPLE)) as { facts: IncidentEventFacts }).facts;
    const first = nextIncidentState(undefined, resolved, source, { seq: 1, payloadDigest: `sha256:${'1'.repeat(64)}` });
    const second = nextIncidentState(first.incident, older, source, { seq: 2, payloadDigest: `sha256:${'2'.repeat(64)}` });
    assert.equal(second.outOfOrder, true);
    assert.equal(second.incident.status, 'resolved');
  });

  test('generic payload: strict schema, unknown fields named', () => {
    const ok = parseGeneric(Buffer.from(JSON.stringify({ id: 'evt-1', occurredAt: '2026-11-26T10:00:00Z', incident: { id: 'INC-42', service: 'checkout', urgency: 'high', status: 'triggered', assignees: ['alice'] } })));
    assert.equal((ok as { facts: IncidentEventFacts }).facts.incidentId, 'INC-42');
    assert.throws(() => parseGeneric(Buffer.from(JSON.stringify({ id: 'evt-1', occurredAt: '2026-11-26T10:00:00Z', incident: { id: 'INC-42', status: 'open', assignees: [], owner: 'x' } }))), (e: unknown) => e instanceof AppError && (e.fieldErrors ?? []).map((f) => f.path).join(',') === 'incident.status,incident.owner');
  });
});
