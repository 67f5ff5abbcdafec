import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FindingsReportSchema, TeamsReportSchema } from '../../../shared/domain/reports';
import type { BypassRequest } from '../../../shared/domain/request';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { runCli, runCliInProcess } from './cli-harness';

const POLICY = `version: 1
ttlChoices: [15m, 1h]
tiers:
  low: { approvals: 1, approverGroups: [leads], maxTtl: 1h }
gates:
  - { id: ci-tests, kind: slow, tier: low, scopeKeys: [repo, branch] }
  - { id: perf-suite, kind: slow, tier: low, scopeKeys: [repo, branch] }
teams:
  payments: { members: [alice], bypassBudget: 2 }
approvers:
  leads: [bob]
`;

const cli = runCliInProcess;

describe('breakglass report', () => {
  let fx: StoreFixture;
  let env: Record<string, string>;
  const ids: string[] = [];

  before(async () => {
    fx = await startStoreFixture({ policyYaml: POLICY });
    const alice = await fx.token('alice', ['requester']);
    const bob = await fx.approver('bob');
    for (const gate of ['ci-tests', 'ci-tests', 'ci-tests', 'perf-suite']) {
      const created = await fx.call('POST', '/v1/requests', { token: alice, body: { gate, scope: { repo: 'payments-api', branch: 'main' }, reason: 'the suite hangs on the shared runner again', severity: 'sev3', ttl: '15m' } });
      const request = created.json.request as BypassRequest;
      const bundle = await fx.sign(request, 'bob', bob.signer, 'approve');
      const decided = await fx.call('POST', `/v1/requests/${request.id}/decisions`, { token: bob.token, body: { bundle } });
      assert.equal(decided.status, 200, decided.text);
      ids.push(request.id);
    }
    env = { BREAKGLASS_STORE: fx.url, BREAKGLASS_TOKEN: await fx.token('audrey', ['auditor']) };
  });
  after(async () => fx?.close());

  test('findings: human output says fix the gate with the evidence; --json is the report', async () => {
    const human = await cli(['report', 'findings'], env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^FIX THE GATE ci-tests: Gate ci-tests takes 75% of all bypasses/);
    assert.ok(human.stdout.includes(`evidence: ${ids.slice(0, 3).join(', ')}`));
    const json = await cli(['report', 'findings', '--json'], env);
    const report = FindingsReportSchema.parse(JSON.parse(json.stdout));
    assert.deepEqual(report.findings.map((f) => f.id.split(':').slice(0, 2).join(':')), ['gate_dominates:ci-tests']);
  });

  test('teams and gates: tables with the team over budget and the shares', async () => {
    const teams = await cli(['report', 'teams'], env);
    assert.equal(teams.code, 0);
    assert.match(teams.stdout, /payments\s+4\s+2\s+200%\s+OVER BUDGET: review/);
    const json = TeamsReportSchema.parse(JSON.parse((await cli(['report', 'teams', '--json'], env)).stdout));
    assert.equal(json.teams[0]?.overBudget, true);
    const gates = await cli(['report'], env);
    assert.match(gates.stdout, /^GATE\s+KIND\s+7D/);
    assert.match(gates.stdout, /ci-tests\s+slow\s+3\s+3\s+3\s+75%\s+3\/0\s+-\s+0/);
    for (const kind of ['approvers', 'decision-times', 'reviews']) {
      const r = await cli(['report', kind], env);
      assert.equal(r.code, 0, `${kind}: ${r.stderr}`);
    }
  });

  test('bad usage exits 2, a refused role exits 1', async () => {
    const bad = await cli(['report', 'nonsense'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /KIND/);
    assert.equal((await cli(['report', 'gates', '--now', 'yesterday'], env)).code, 2);
    const requester = await fx.token('carl', ['requester']);
    const refused = await cli(['report', 'gates'], { ...env, BREAKGLASS_TOKEN: requester });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /roles/);
  });

  test('the real binary: report --help has an example; report gates --json', async () => {
    const help = await runCli(['report', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /\$ breakglass report findings/);
    const real = await runCli(['report', 'gates', '--json'], env);
    assert.equal(real.code, 0, real.stderr);
    assert.equal(JSON.parse(real.stdout).gates[0].gate, 'ci-tests');
  });
});
