import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { canonicalJson } from '../../../shared/canonical-json';
import { toBase64 } from '../../../shared/bytes';
import { runCli } from '../cli/cli-harness';
import { buildSyntheticLedger, type SyntheticLedger } from '../../fixtures/ledger/synthetic-ledger';

/**
 * The mutation suite through the real `breakglass ledger verify --offline` process, on ledgers
 * of 1, 9 and 10,000 entries (real ECDSA decisions, a real Ed25519-signed checkpoint): the
 * untouched export verifies (exit 0) and every mutation exits 1 naming the first bad entry.
 */

const SIZES = [1, 9, 10_000];
const PARALLEL_RUNS = 3;

async function writeExport(dir: string, l: SyntheticLedger, texts: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'entries.jsonl'), texts.map((t) => `${t}\n`).join(''));
  await writeFile(join(dir, 'checkpoint'), l.checkpointAt(l.texts.length));
  await writeFile(join(dir, 'checkpoints.jsonl'), l.history.map((n) => `${JSON.stringify(n)}\n`).join(''));
  await writeFile(join(dir, 'leaf-hashes.txt'), Array.from({ length: l.tree.size }, (_, i) => `${toBase64(l.tree.perfect(0, i))}\n`).join(''));
  await writeFile(join(dir, 'log-key.pub'), l.logSigner.publicKeyPem);
}

interface Case {
  name: string;
  texts: string[];
  /** Expected first bad entry; undefined = must verify. */
  seq?: number;
}

function casesFor(l: SyntheticLedger): Case[] {
  const n = l.texts.length;
  const p = Math.floor(n / 2);
  const flipped = Buffer.from(l.texts[p]!);
  flipped[Math.floor(flipped.length / 2)]! ^= 0x02;
  const cases: Case[] = [
    { name: 'untouched', texts: l.texts },
    { name: `bit flipped in entry ${p}`, texts: l.texts.map((t, i) => (i === p ? flipped.toString() : t)), seq: p },
    { name: `entry ${p} deleted`, texts: l.texts.filter((_, i) => i !== p), seq: p },
    { name: `forged entry inserted at ${p}`, texts: [...l.texts.slice(0, p), canonicalJson({ ...l.entries[p]!, reason: 'forged' }), ...l.texts.slice(p)], seq: p },
    { name: `truncated to ${p}`, texts: l.texts.slice(0, p), seq: p },
  ];
  if (n > 1) cases.push({ name: `entries ${p - 1} and ${p} swapped`, texts: l.texts.map((t, i) => (i === p - 1 ? l.texts[p]! : i === p ? l.texts[p - 1]! : t)), seq: p - 1 });
  return cases;
}

describe('breakglass ledger verify --offline: mutation suite on 1..10,000 entries', () => {
  let tmp: string;
  const ledgers: SyntheticLedger[] = [];

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'breakglass-cli-mutations-'));
    for (const size of SIZES) ledgers.push(await buildSyntheticLedger(size, { decisionEvery: size >= 1000 ? 250 : 3, checkpointEvery: size >= 1000 ? 1000 : 4 }));
  });

  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('zero false accepts, zero false rejects, first bad entry named', async () => {
    const jobs = ledgers.flatMap((l) => casesFor(l).map((c) => ({ l, c })));
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const { l, c } = jobs[next++]!;
        const dir = join(tmp, `size-${l.texts.length}-${next}`);
        await writeExport(dir, l, c.texts);
        const r = await runCli(['ledger', 'verify', '--offline', dir, '--json']);
        const what = `size ${l.texts.length}, ${c.name}`;
        let v: { ok: boolean; firstBadSeq?: number | null; reason?: string };
        try {
          v = JSON.parse(r.stdout) as typeof v;
        } catch {
          failures.push(`${what}: exit ${r.code}, not JSON: ${r.stdout} ${r.stderr}`);
          continue;
        }
        if (c.seq === undefined) {
          if (r.code !== 0 || !v.ok) failures.push(`${what}: false reject (exit ${r.code}): ${v.reason}`);
        } else if (r.code !== 1 || v.ok) {
          failures.push(`${what}: FALSE ACCEPT (exit ${r.code})`);
        } else if (v.firstBadSeq !== c.seq) {
          failures.push(`${what}: first bad entry ${v.firstBadSeq}, expected ${c.seq} (${v.reason})`);
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_RUNS }, worker));
    assert.deepEqual(failures, []);
  });
});
