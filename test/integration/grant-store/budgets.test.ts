import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { AlertDispatcher } from '../../../grant-store/alerts/alert-dispatcher';
import { CURSOR_META_KEY, readOutbox } from '../../../grant-store/alerts/outbox';
import { dataDirPaths } from '../../../grant-store/admin/data-dir';
import { describe as describeStatus } from '../../../grant-store/cli/commands/status';
import { loadLogKey } from '../../../grant-store/ledger/log-key';
import { parsePolicy } from '../../../grant-store/policy/load-policy';
import { PgStore } from '../../../grant-store/storage/postgres/pg-store';
import { SqliteStore } from '../../../grant-store/storage/sqlite/sqlite-store';
import type { Store } from '../../../grant-store/storage/store';
import type { RequestDetail } from '../../../shared/domain/api';
import type { BypassRequest } from '../../../shared/domain/request';
import { calendarQuarter } from '../../../shared/policy/budget';
import { startStoreFixture, type StoreFixture } from '../../support/grant-store-fixture';
import { createTempDatabase, type TempDatabase } from '../storage/pg-temp-database';
import { waitFor } from './workflow-helpers';
import { secretLookup } from '../../../grant-store/store-config';

/**
 * Budgets act, on both backends, through the store's real routes and alert dispatcher: a team
 * over its quarterly bypass budget is shown on its requests (the API and `breakglass status`),
 * needs the tier's extra approver, and raises one over_budget alert per quarter, which neither
 * a restart nor a second instance sends again.
 */

const REASON = 'integration suite is down and a hotfix for INC-1190 must ship';

const policyYaml = (hook: string) => `version: 1
ttlChoices: [15m, 1h]
tiers:
  low: { approvals: 1, approverGroups: [leads], maxTtl: 1h, overBudgetExtraApprovers: 1 }
gates:
  - { id: ci-tests, kind: slow, tier: low, scopeKeys: [repo, branch] }
teams:
  payments: { members: [alice], bypassBudget: 1 }
  platform: { members: [bob, carol] }
approvers:
  leads: [bob, carol]
webhooks:
  - { id: siem, url: "${hook}", format: json, events: [over_budget, bypass_activated] }
`;

for (const backend of ['SQLite', 'PostgreSQL'] as const) {
  describe(`budgets act (${backend})`, () => {
    let fx: StoreFixture;
    let db: TempDatabase | undefined;
    let receiver: Server;
    let hook: string;
    const received: { event: string; body: { data?: Record<string, unknown> } }[] = [];
    let alice: string;
    let bob: Awaited<ReturnType<StoreFixture['approver']>>;
    let carol: Awaited<ReturnType<StoreFixture['approver']>>;
    const overBudget = () => received.filter((r) => r.event === 'over_budget');

    before(async () => {
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          received.push({ event: String(req.headers['x-breakglass-event']), body: JSON.parse(body) as { data?: Record<string, unknown> } });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      if (backend === 'PostgreSQL') db = await createTempDatabase('bg_budget');
      fx = await startStoreFixture({ policyYaml: policyYaml(hook), databaseUrl: db?.url });
      alice = await fx.token('alice', ['requester']);
      bob = await fx.approver('bob');
      carol = await fx.approver('carol');
    });
    after(async () => {
      await fx?.close();
      await db?.drop();
      await new Promise<void>((r) => receiver.close(() => r()));
    });

    const file = async (repo: string): Promise<BypassRequest> => {
      const r = await fx.call('POST', '/v1/requests', { token: alice, body: { gate: 'ci-tests', scope: { repo, branch: 'main' }, reason: REASON, incidentRef: 'INC-1190', severity: 'sev3', ttl: '1h' } });
      assert.equal(r.status, 201, r.text);
      return r.json.request as BypassRequest;
    };
    const approve = async (request: BypassRequest, who: 'bob' | 'carol'): Promise<BypassRequest> => {
      const a = who === 'bob' ? bob : carol;
      const r = await fx.call('POST', `/v1/requests/${request.id}/decisions`, { token: a.token, body: { bundle: await fx.sign(request, who, a.signer, 'approve') } });
      assert.equal(r.status, 200, r.text);
      return r.json.request as BypassRequest;
    };
    const activationsSeen = (id: string) => received.some((r) => r.event === 'bypass_activated' && r.body.data?.['requestId'] === id);

    test('within budget: the request shows the standing, one approval, no alert', async () => {
      const quarter = calendarQuarter(fx.clock.now().getTime()).label;
      const first = await file('svc-1');
      assert.deepEqual(first.budget, { quarter, used: 0, budget: 1, over: false });
      assert.equal(first.approvalsRequired, 1);
      const active = await approve(first, 'bob');
      assert.equal(active.state, 'active');
      // At the budget is not over it: the second request still needs one approval.
      const second = await file('svc-2');
      assert.deepEqual(second.budget, { quarter, used: 1, budget: 1, over: false });
      assert.equal(second.approvalsRequired, 1);
      assert.equal((await approve(second, 'bob')).state, 'active');
    });

    test('the activation that takes the team over sends one over_budget alert', async () => {
      await waitFor(async () => overBudget().length === 1, 20_000);
      const [alert] = overBudget();
      assert.equal(alert!.body.data?.['team'], 'payments');
      assert.equal(alert!.body.data?.['used'], 2);
      assert.equal(alert!.body.data?.['budget'], 1);
      assert.equal(alert!.body.data?.['quarter'], calendarQuarter(fx.clock.now().getTime()).label);
    });

    test('over budget: approvers see it (API and breakglass status) and the tier needs one more approver', async () => {
      const third = await file('svc-3');
      assert.equal(third.budget?.over, true);
      assert.equal(third.budget?.used, 2);
      assert.equal(third.approvalsRequired, 2, 'the tier asks one approval, plus overBudgetExtraApprovers: 1');
      const detail = (await fx.call('GET', `/v1/requests/${third.id}`, { token: bob.token })).json as RequestDetail;
      assert.deepEqual(detail.request.budget, third.budget);
      const status = describeStatus(detail);
      assert.match(status, /^ {2}budget: {4}team payments is OVER its quarterly budget: 2 of 1 bypasses in \d{4}-Q[1-4] when this was filed$/m);
      assert.match(status, /^ {2}approvals: 0\/2$/m);

      const once = await approve(third, 'bob');
      assert.equal(once.state, 'pending', 'one approval is not enough for an over-budget team');
      assert.equal(once.approvals.length, 1);
      const twice = await approve(once, 'carol');
      assert.equal(twice.state, 'active');

      // The third activation went through the dispatcher (its bypass_activated alert arrived) and raised no second over_budget alert.
      await waitFor(async () => activationsSeen(third.id), 20_000);
      assert.equal(overBudget().length, 1);

      // The ledger records the count at filing, so `ledger verify` holds the activation to two approvals.
      const entries = (await fx.call('GET', '/v1/ledger/entries?from=0&limit=1000', { token: fx.adminToken })).json.entries as { type: string; target: string; data: Record<string, unknown> }[];
      const created = entries.find((e) => e.type === 'request_created' && e.target === third.id);
      assert.equal(created?.data['approvalsRequired'], 2);
      assert.deepEqual(created?.data['budget'], third.budget);
    });

    test('a restart or a second instance re-reading the ledger does not send it again', async () => {
      await fx.store.close();
      const { databasePath, logKeyPath, policyPath } = dataDirPaths(fx.dataDir);
      const { binder } = await loadLogKey(logKeyPath);
      const { readFile } = await import('node:fs/promises');
      const policy = parsePolicy(await readFile(policyPath), policyPath).policy;
      const open = async (): Promise<Store> => (db ? PgStore.open({ databaseUrl: db.url, binder }) : SqliteStore.open(databasePath, { binder }));
      // Two stores on one PostgreSQL database are two instances; SQLite has one writer, so there it is a restart.
      const stores = db ? [await open(), await open()] : [await open()];
      try {
        const before = received.length;
        for (const store of stores) await store.transaction((tx) => tx.setMeta(CURSOR_META_KEY, '-1'));
        const dispatchers = stores.map((store) => new AlertDispatcher({ store, policy: () => policy, clock: () => fx.clock.now(), findings: async () => [], secrets: secretLookup({}) }));
        await Promise.all(dispatchers.map((d) => d.pass()));
        for (const store of stores) assert.deepEqual((await readOutbox(store)).filter((i) => i.event === 'over_budget'), []);
        assert.ok(received.length > before, 'the ledger was read again (its activations re-alerted)');
        assert.equal(overBudget().length, 1, 'but not the over_budget alert');
      } finally {
        for (const store of stores) await store.close();
      }
    });
  });
}
