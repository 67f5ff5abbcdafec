/**
 * bench/review-closure: does closing a busy bypass hold up everyone else? When a bypass expires,
 * the store's sweeper closes it and opens its post-incident review, whose timeline comes from the
 * request's ledger entries: one per gate evaluation under the bypass, 100,000 for a day's bypass
 * on a busy admission gate. This bench files a bypass, has the gate evaluate under it
 * --evaluations times (the service layer on a real SQLite store, as `breakglass serve` runs it),
 * moves the injected clock past its window and runs the shipped sweeper's sweep, while another
 * bypass takes warns one after another. It prints, against the same run with a bypass evaluated
 * once (the baseline):
 *
 *   - the sweep's wall time (the review's timeline is read outside the closure's transaction);
 *   - the longest event-loop turn during the sweep (what every request in the process waits on);
 *   - the slowest warn on the other bypass during the sweep (each warn is a durable ledger write,
 *     so it waits for any transaction in the way).
 *
 *   node --import tsx bench/review-closure.ts [--evaluations 50000] [--rounds 3]
 *
 * Target: the slowest warn during the busy closure ≤ 3× the baseline's (median of rounds), i.e.
 * it does not grow with the evaluations.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { checkGate } from '../grant-store/service/check-service';
import { submitDecision } from '../grant-store/service/decision-service';
import { enrollKey } from '../grant-store/service/identity-service';
import { createRequest } from '../grant-store/service/request-service';
import { startExpirySweeper } from '../grant-store/jobs/expiry-sweeper';
import { fileKeySigner, generateSoftwareKeyPair } from '../shared/node/signing/software-signer';
import { signDecision } from '../shared/node/signing/sign-decision';
import { newDecisionStatement } from '../shared/signing/decision-statement';
import { startHarness, type Harness } from '../test/unit/grant-store/service-harness';
import { minMedianMax } from './support/stats';

const { values: args } = parseArgs({ options: { evaluations: { type: 'string', default: '50000' }, rounds: { type: 'string', default: '3' } } });
const EVALUATIONS = Number(args.evaluations);
const ROUNDS = Number(args.rounds);
const TARGET_RATIO = 3;
/** Evaluations in flight while the busy bypass is built (as concurrent gates send them). */
const BUILD_CONCURRENCY = 50;
const HOUR = 3_600_000;

interface Round {
  sweepMs: number;
  longestTurnMs: number;
  slowestWarnMs: number;
  warns: number;
  /** The same warns with no sweep running, as long (the baseline). */
  idle: { longestTurnMs: number; slowestWarnMs: number; warns: number };
}

async function approvedBypass(h: Harness, bobKey: ReturnType<typeof generateSoftwareKeyPair>, repo: string, ttl: '1h' | '24h'): Promise<string> {
  const { request } = await createRequest(h.deps, h.caller('alice', 'requester'), { gate: 'ci-tests', scope: { repo, branch: 'main' }, reason: 'the integration suite is down for the whole org', severity: 'sev3', ttl });
  const statement = newDecisionStatement({ request, decision: 'approve', approver: 'bob', comment: 'fine', ttl, nonceHex: randomBytes(16).toString('hex'), now: new Date(h.now.ms) });
  await submitDecision(h.deps, h.caller('bob', 'approver'), request.id, { bundle: await signDecision(statement, fileKeySigner(bobKey.privateKeyPem)) });
  return request.id;
}

/** One round on a fresh store: a bypass evaluated `evaluations` times expires while another takes warns. */
async function round(evaluations: number): Promise<Round> {
  const h = await startHarness();
  try {
    const bobKey = generateSoftwareKeyPair();
    await enrollKey(h.deps, h.caller('root', 'admin'), 'bob', { publicKeyPem: bobKey.publicKeyPem });
    await approvedBypass(h, bobKey, 'busy', '1h');
    await approvedBypass(h, bobKey, 'other', '24h');
    const gate = h.caller('ci', 'gate');
    const check = (repo: string) => checkGate(h.deps, gate, { gate: 'ci-tests', subject: { repo, branch: 'main' } });
    for (let done = 0; done < evaluations; ) {
      const batch = Math.min(BUILD_CONCURRENCY, evaluations - done);
      const verdicts = await Promise.all(Array.from({ length: batch }, () => check('busy')));
      if (verdicts.some((v) => v.verdict !== 'warn')) throw new Error('an evaluation under the busy bypass was not a warn');
      done += batch;
    }
    // Warns one after another on the other bypass for `forMs` or while `busy` runs: the slowest and the event loop's longest turn.
    const warnsDuring = async (busy: () => Promise<unknown>): Promise<{ ms: number; longestTurnMs: number; slowestWarnMs: number; warns: number }> => {
      let running = true;
      let longest = 0;
      let last = performance.now();
      const tick = () => {
        const now = performance.now();
        longest = Math.max(longest, now - last);
        last = now;
        if (running) setImmediate(tick);
      };
      setImmediate(tick);
      let slowest = 0;
      let warns = 0;
      const loop = (async () => {
        while (running) {
          const started = performance.now();
          if ((await check('other')).verdict !== 'warn') throw new Error('a check under the other bypass was not a warn');
          slowest = Math.max(slowest, performance.now() - started);
          warns++;
        }
      })();
      const started = performance.now();
      await busy();
      const ms = performance.now() - started;
      running = false;
      await loop;
      return { ms, longestTurnMs: longest, slowestWarnMs: slowest, warns };
    };
    h.now.ms += HOUR + 1_000;
    const sweeper = startExpirySweeper(h.deps, 2_147_483_647);
    try {
      let closed = 0;
      const sweep = await warnsDuring(async () => (closed = await sweeper.sweep()));
      if (closed !== 1) throw new Error(`the sweep closed ${closed} bypasses, not 1`);
      // The same warns for as long again with nothing else to do: the baseline.
      const idle = await warnsDuring(() => new Promise((resolve) => setTimeout(resolve, Math.max(sweep.ms, 100))));
      return { sweepMs: sweep.ms, longestTurnMs: sweep.longestTurnMs, slowestWarnMs: sweep.slowestWarnMs, warns: sweep.warns, idle: { longestTurnMs: idle.longestTurnMs, slowestWarnMs: idle.slowestWarnMs, warns: idle.warns } };
    } finally {
      await sweeper.stop();
    }
  } finally {
    await h.close();
  }
}

const fmt = (xs: number[], digits = 1) => {
  const s = minMedianMax(xs);
  return `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)}`;
};

const rounds: Round[] = [];
console.log(`review-closure bench: node ${process.version}, SQLite, ${ROUNDS} rounds, a bypass evaluated ${EVALUATIONS.toLocaleString('en')} times closing while another takes warns, against the same warns with nothing closing (min / median / max)`);
for (let r = 0; r < ROUNDS; r++) rounds.push(await round(EVALUATIONS));
console.log(`  sweep (closure and review)        ${fmt(rounds.map((x) => x.sweepMs))} ms`);
console.log(`  longest event-loop turn           ${fmt(rounds.map((x) => x.longestTurnMs))} ms during the sweep; ${fmt(rounds.map((x) => x.idle.longestTurnMs))} ms idle`);
console.log(`  slowest warn on the other bypass  ${fmt(rounds.map((x) => x.slowestWarnMs))} ms during the sweep (${fmt(rounds.map((x) => x.warns), 0)} warns); ${fmt(rounds.map((x) => x.idle.slowestWarnMs))} ms idle (${fmt(rounds.map((x) => x.idle.warns), 0)} warns)`);
const ratios = rounds.map((x) => x.slowestWarnMs / x.idle.slowestWarnMs);
const ratio = minMedianMax(ratios).median;
console.log(`  slowest warn, sweeping / idle:    ${fmt(ratios, 2)}   target ≤ ${TARGET_RATIO} (median): ${ratio <= TARGET_RATIO ? 'MET' : 'NOT MET'}`);
console.log(`  load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
