import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PolicySchema } from '../../../../shared/domain/policy';

/** The emergency, incidents and digest policy sections: defaults, and each cross-check naming its path. */

const base = {
  version: 1,
  ttlChoices: ['15m', '1h', '4h'],
  tiers: { high: { approvals: 1, approverGroups: ['leads'], maxTtl: '1h', allowSameTeam: false } },
  gates: [{ id: 'deploy-freeze', kind: 'slow', tier: 'high' }],
  teams: { payments: { members: ['alice'] } },
  approvers: { leads: ['bob'] },
};

const incidents = {
  sources: [{ id: 'pagerduty', kind: 'pagerduty', secretEnv: 'BG_PD_SECRET' }],
  responders: [{ principal: 'alice', ids: { pagerduty: ['PTUXL6G'] } }],
  rules: [{ id: 'api-outage', source: 'pagerduty', services: ['PF9KMXH'], urgencies: ['high'], gates: ['deploy-freeze'], scopes: [{ repo: 'payments-api' }], maxTtl: '1h' }],
};

function issues(policy: unknown): string[] {
  const r = PolicySchema.safeParse(policy);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('policy sections: emergency, incidents, digest', () => {
  test('absent sections take safe defaults; a full policy loads', () => {
    const p = PolicySchema.parse(base);
    assert.deepEqual(p.emergency, { notify: [], reviewSignoffs: 2 });
    assert.deepEqual(p.incidents, { sources: [], responders: [], rules: [] });
    assert.equal(p.digest, undefined);
    const full = PolicySchema.parse({
      ...base,
      emergency: { notify: ['ciso'] },
      incidents,
      digest: { schedule: { weekday: 'monday', hour: 8, timeZone: 'Europe/Berlin' }, email: { from: 'bg@example.com', to: ['cto@example.com'], smtp: { host: 'smtp.example.com' } } },
    });
    assert.equal(full.incidents.sources[0]!.maxEventAge, '30m');
    assert.equal(full.digest!.email!.smtp.tls, 'starttls');
    assert.equal(full.digest!.email!.smtp.port, 587);
  });

  test('incident rules are checked against sources, gates, TTL choices and the tier maximum', () => {
    assert.deepEqual(issues({ ...base, incidents: { ...incidents, rules: [{ ...incidents.rules[0], source: 'opsgenie', gates: ['nope'], maxTtl: '4h' }] } }), [
      'incidents.rules.0.source: unknown incident source "opsgenie" (sources: pagerduty)',
      'incidents.rules.0.gates.0: unknown gate "nope"',
    ]);
    assert.deepEqual(issues({ ...base, incidents: { ...incidents, rules: [{ ...incidents.rules[0], maxTtl: '4h' }] } }), [
      "incidents.rules.0.maxTtl: maxTtl 4h is longer than gate deploy-freeze's tier high allows (1h): pre-approval never grants more than an approver could",
    ]);
    assert.deepEqual(issues({ ...base, incidents: { ...incidents, responders: [...incidents.responders, { principal: 'dave', ids: { pagerduty: ['ptuxl6g'], opsgenie: ['x'] } }] } }), [
      'incidents.responders.1.ids.pagerduty.0: pagerduty user "ptuxl6g" is already mapped to alice: one incident-system user is one principal',
      'incidents.responders.1.ids.opsgenie: unknown incident source "opsgenie" (sources: pagerduty)',
    ]);
  });

  test('digest: a real IANA zone, no clear-text SMTP off this host, credentials in pairs', () => {
    const digest = (d: object) => issues({ ...base, digest: { schedule: { weekday: 'monday', hour: 8, timeZone: 'Europe/Berlin' }, ...d } });
    assert.deepEqual(issues({ ...base, digest: { schedule: { weekday: 'monday', hour: 8, timeZone: 'Mars/Olympus' } } }), ['digest.schedule.timeZone: must be an IANA time zone such as Europe/Berlin or America/New_York']);
    assert.match(digest({ email: { from: 'bg@example.com', to: ['cto@example.com'], smtp: { host: 'smtp.example.com', tls: 'none' } } })[0]!, /^digest\.email\.smtp\.tls: tls: none sends the digest/);
    assert.deepEqual(digest({ email: { from: 'bg@example.com', to: ['cto@example.com'], smtp: { host: '127.0.0.1', tls: 'none' } } }), []);
    assert.deepEqual(digest({ email: { from: 'bg@example.com', to: ['cto@example.com'], smtp: { host: 'smtp.example.com', userEnv: 'SMTP_USER' } } }), ['digest.email.smtp.passwordEnv: SMTP authentication needs both userEnv and passwordEnv']);
    assert.deepEqual(issues({ ...base, emergency: { reviewSignoffs: 1 } }), ['emergency.reviewSignoffs: an emergency use is reviewed by at least two people']);
  });
});
