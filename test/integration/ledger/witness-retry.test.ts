import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataDirPaths } from '../../../grant-store/admin/data-dir';
import { WITNESS_RETRY_MAX_MS } from '../../../grant-store/ledger/checkpoint-witnesses';
import { loadLogKey } from '../../../grant-store/ledger/log-key';
import { ed25519VerifierKeyFromPem } from '../../../shared/node/ledger/node-crypto';
import { ManualClock } from '../../support/manual-clock';
import { waitForReadyLine } from '../../support/ready-line';
import { BIN, ROOT, runCli } from '../cli/cli-harness';
import { fileAndDecide, startLedgerWorld, type LedgerWorld } from './ledger-harness';
import { freePort } from '../../support/free-port';
import { until } from '../../support/until';

const ORIGIN = 'breakglass.test/retry';
const WITNESS = 'witness.test/always-on';
const GRACE_MS = 10 * 60_000;

interface Health {
  ok: boolean;
  witnesses: {
    quorum: number;
    treeSize: number;
    cosigned: string[];
    belowQuorum: boolean;
    failures: Record<string, { message: string; attempts: number; retryAt: string | null }>;
    grace: string;
    unwitnessedSince: string | null;
    overdue: boolean;
    message: string | null;
  };
}


/**
 * The store's pushes to an always-on witness (`breakglass witness serve`, a real process) that is
 * down: each failure is retried on the store's timer with backoff (injected, moved by hand), and
 * when the checkpoints have gone unwitnessed longer than the policy's grace period the store says
 * so in /healthz and /metrics and sends one critical alert through its webhook outbox. Once the
 * witness is up, the next retry gets the cosignature and the alarm clears.
 */
describe('witness pushes are retried with backoff; a quorum missing past the grace period is an alarm', { concurrency: false }, () => {
  // Started right after admin init, whose first checkpoint (signed at real time) is the first the
  // store waits on witnesses for: the store's clock then starts where that checkpoint was signed.
  let clock = new ManualClock();
  let world: LedgerWorld;
  let witness: ChildProcess | undefined;
  let witnessDir = '';
  let witnessPort = 0;
  let receiver: Server;
  const alerts: Array<{ event: string; body: string }> = [];

  const health = async (): Promise<Health> => (await (await fetch(`${world.store.url}/healthz`)).json()) as Health;
  // /metrics is cached for 5 s of the store's clock: each read here is at a later time than the one before.
  const metrics = async (): Promise<string> => (await fetch(`${world.store.url}/metrics`, { headers: { authorization: `Bearer ${world.tokens.admin}` } })).text();
  let lastHealth: Health['witnesses'] | undefined;
  const healthWhen = (what: string, ok: (h: Health['witnesses']) => boolean) =>
    until(what, async () => {
      const h = await health();
      lastHealth = h.witnesses;
      return ok(h.witnesses) ? h.witnesses : undefined;
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; /healthz said ${JSON.stringify(lastHealth)} at ${clock.now().toISOString()}`);
    });
  const gauge = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        alerts.push({ event: String((JSON.parse(body) as { event?: string }).event), body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hookPort = (receiver.address() as AddressInfo).port;
    witnessPort = await freePort();
    world = await startLedgerWorld({
      origin: ORIGIN,
      storeOptions: { clock: () => clock.now(), witnessTimers: { after: (ms, fn) => clock.after(ms, fn) } },
      beforeStart: async (dataDir) => {
        clock = new ManualClock(new Date().toISOString());
        witnessDir = join(dataDir, '..', 'witness');
        const init = await runCli(['witness', 'init', '--name', WITNESS, '--state-dir', witnessDir, '--json']);
        assert.equal(init.code, 0, init.stderr);
        const witnessVkey = (JSON.parse(init.stdout) as { vkey: string }).vkey;
        const paths = dataDirPaths(dataDir);
        const key = await loadLogKey(paths.logKeyPath, { originPath: paths.logOriginPath });
        const added = await runCli(['witness', 'add-log', ed25519VerifierKeyFromPem(key.origin, key.publicKeyPem), '--state-dir', witnessDir]);
        assert.equal(added.code, 0, added.stderr);
        const policy = (await readFile(paths.policyPath, 'utf8')).replace(/^webhooks: \[\]$/m, `webhooks:\n  - id: siem\n    url: http://127.0.0.1:${hookPort}/hook\n    events: [over_budget]`);
        await writeFile(
          paths.policyPath,
          `${policy}\nwitnesses:\n  quorum: 1\n  grace: 10m\n  members:\n    - vkey: "${witnessVkey}"\n      url: http://127.0.0.1:${witnessPort}\n`,
        );
      },
    });
  });

  after(async () => {
    await world?.store.close();
    if (witness && witness.exitCode === null) {
      witness.kill('SIGTERM');
      await once(witness, 'exit');
    }
    await new Promise<void>((r) => receiver.close(() => r()));
    if (world) await rm(world.tmp, { recursive: true, force: true });
  });

  test('a witness that is down: retried with doubling delays on the store\'s timer, never more often', async () => {
    const first = await healthWhen('the first failed push', (w) => (w.failures[WITNESS]?.attempts ?? 0) >= 1);
    assert.equal(first.failures[WITNESS]!.attempts, 1);
    assert.match(first.failures[WITNESS]!.message, /fetch failed|ECONNREFUSED/);
    assert.equal(first.failures[WITNESS]!.retryAt, new Date(clock.now().getTime() + 1000).toISOString(), 'first retry after 1 s');
    assert.equal(first.belowQuorum, true);
    assert.equal(first.grace, '10m');
    assert.ok(first.unwitnessedSince !== null);
    assert.equal(first.overdue, false);
    // New checkpoints while backing off wait for the retry instead of hammering the witness.
    await fileAndDecide(world, 'bob', 'approve');
    const waiting = await health();
    assert.equal(waiting.witnesses.failures[WITNESS]!.attempts, 1);

    clock.advance(1000);
    const second = await healthWhen('the first retry to fail', (w) => w.failures[WITNESS]?.attempts === 2);
    assert.equal(second.failures[WITNESS]!.retryAt, new Date(clock.now().getTime() + 2000).toISOString(), 'then after 2 s');
    const text = await metrics();
    assert.equal(gauge(text, 'breakglass_witness_failures_total'), 2);
    assert.equal(gauge(text, 'breakglass_witness_quorum_overdue'), 0);
  });

  test('past the grace period: /healthz, /metrics and one critical alert say the log is not witnessed', async () => {
    const since = (await health()).witnesses.unwitnessedSince!;
    clock.advance(GRACE_MS);
    const overdue = await healthWhen('the alarm', (w) => w.overdue);
    assert.equal(overdue.unwitnessedSince, since);
    assert.match(overdue.message!, new RegExp(`no quorum of witnesses has cosigned the log's checkpoints since ${since} \\(longer than the grace period of 10m\\): 0 of the 1 needed on checkpoint \\d+, missing ${WITNESS}`));
    const text = await metrics();
    assert.equal(gauge(text, 'breakglass_witness_quorum_overdue'), 1);
    assert.ok(gauge(text, 'breakglass_witness_unwitnessed_seconds') >= GRACE_MS / 1000);
    const alert = await until('the alert at the webhook', async () => alerts.find((a) => a.event === 'witness_quorum_overdue'));
    assert.match(alert.body, /The breakglass log is not being witnessed/);
    assert.match(alert.body, new RegExp(ORIGIN.replace('/', '\\/')));

    // Still down, much later: retries go on (at most every 5 minutes), the alert is not sent again.
    const attempts = (await health()).witnesses.failures[WITNESS]!.attempts;
    clock.advance(WITNESS_RETRY_MAX_MS);
    await healthWhen('another retry', (w) => (w.failures[WITNESS]?.attempts ?? 0) > attempts);
    clock.advance(WITNESS_RETRY_MAX_MS);
    await healthWhen('yet another retry', (w) => (w.failures[WITNESS]?.attempts ?? 0) > attempts + 1);
    const h = await health();
    assert.ok(new Date(h.witnesses.failures[WITNESS]!.retryAt!).getTime() - clock.now().getTime() <= WITNESS_RETRY_MAX_MS, 'the delay is capped');
    assert.equal(alerts.filter((a) => a.event === 'witness_quorum_overdue').length, 1, 'one alert for the episode');
  });

  test('the witness comes up: the next retry gets its cosignature and the alarm clears', async () => {
    witness = spawn(process.execPath, [BIN, 'witness', 'serve', '--port', String(witnessPort), '--json', '--state-dir', witnessDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForReadyLine(witness, { what: 'witness serve', timeoutMs: 30_000, accept: (l) => l.includes('"url"') });
    clock.advance(WITNESS_RETRY_MAX_MS);
    const cleared = await healthWhen('the cosignature', (w) => w.cosigned.includes(WITNESS));
    assert.deepEqual([cleared.belowQuorum, cleared.overdue, cleared.unwitnessedSince, cleared.message, cleared.failures], [false, false, null, null, {}]);
    const text = await metrics();
    assert.equal(gauge(text, 'breakglass_witness_quorum_overdue'), 0);
    assert.equal(gauge(text, 'breakglass_witness_unwitnessed_seconds'), 0);
    // From now on each new checkpoint is pushed at once (no backoff left), without moving the clock.
    await fileAndDecide(world, 'carol', 'deny');
    const size = (await world.api<{ treeSize: number }>('erin', 'GET', '/v1/ledger/entries?limit=1')).body.treeSize;
    await healthWhen(`a cosignature of size ${size}`, (w) => w.treeSize >= size && w.cosigned.includes(WITNESS));
    assert.equal(alerts.filter((a) => a.event === 'witness_quorum_overdue').length, 1);
  });
});
