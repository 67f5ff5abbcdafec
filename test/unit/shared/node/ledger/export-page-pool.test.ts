import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { toBase64 } from '../../../../../shared/bytes';
import { checkExportPage, pageEntry } from '../../../../../shared/ledger/export-page-check';
import { SemanticAuditor } from '../../../../../shared/ledger/semantic-audit';
import { LedgerVerifier, verifyLedger, type LedgerVerdict } from '../../../../../shared/ledger/verify-ledger';
import { exportPageWorkers, parseExportPageBytes, recordedLeafAt, type CheckedPage, type ExportPageChecker } from '../../../../../shared/node/ledger/export-page-pool';
import { nodeSha256, nodeTreeHasher as hasher } from '../../../../../shared/node/ledger/node-crypto';
import { verifyDecisionBundle } from '../../../../../shared/node/signing/verify-decision';
import { buildSyntheticLedger, ORIGIN, type SyntheticLedger } from '../../../../fixtures/ledger/synthetic-ledger';

/**
 * The ledger verifier's page checks in worker threads (what `ledger verify` runs past its first
 * page) give the verdict, first bad entry and audit report the in-thread verifier gives, for the
 * untouched ledger and for each kind of damaged entry, on pages as the store serves them.
 */
const PAGE = 1000;
let ledger: SyntheticLedger;
let workers: ExportPageChecker;

before(async () => {
  ledger = await buildSyntheticLedger(3500, { decisionEvery: 250, checkpointEvery: 700 });
  workers = exportPageWorkers(2);
});
after(async () => {
  await workers.close();
});

/** The export pages the store would serve for these texts (the recorded leaves are the log's). */
function pages(texts: readonly string[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const checkpoint = ledger.checkpointAt(ledger.texts.length);
  for (let from = 0; from < texts.length; from += PAGE) {
    const entries = texts.slice(from, from + PAGE);
    const page = { origin: ORIGIN, publicKeyPem: ledger.logSigner.publicKeyPem, treeSize: ledger.texts.length, checkpoint, from, entries, leafHashes: entries.map((_, i) => toBase64(ledger.tree.perfect(0, from + i))) };
    out.push(new TextEncoder().encode(JSON.stringify(page)).buffer as ArrayBuffer);
  }
  return out;
}

const newAuditor = () => new SemanticAuditor({ sha256: nodeSha256 });

async function viaChecker(checker: ExportPageChecker, texts: readonly string[]): Promise<LedgerVerdict> {
  // Every page sent at once: they come back in any order and are fed in order.
  const checked: Promise<CheckedPage>[] = pages(texts).map((body) => checker.check(body));
  const first = await checked[0]!;
  const verifier = new LedgerVerifier({ hasher, logKey: ledger.logKey, verifyDecision: verifyDecisionBundle, auditor: newAuditor() }, { checkpoint: first.meta.checkpoint, history: ledger.history });
  for (const pending of checked) {
    const page = await pending;
    for (let i = 0; i < page.count; i++) {
      const { checked: entry, recordedLeaf } = pageEntry(page, i);
      verifier.addChecked(entry, recordedLeaf);
    }
    await verifier.drain();
  }
  return verifier.finish();
}

/** As `ledger verify` does on fewer than 4 cores: each page parsed here, its entry texts fed to the verifier. */
async function viaParsedPages(texts: readonly string[]): Promise<LedgerVerdict> {
  const parsed = pages(texts).map(parseExportPageBytes);
  const verifier = new LedgerVerifier({ hasher, logKey: ledger.logKey, verifyDecision: verifyDecisionBundle, auditor: newAuditor() }, { checkpoint: parsed[0]!.checkpoint, history: ledger.history });
  for (const page of parsed) {
    for (let i = 0; i < page.entries.length; i++) verifier.add(page.entries[i]!, recordedLeafAt(page, i));
    await verifier.drain();
  }
  return verifier.finish();
}

function inThread(texts: readonly string[]): Promise<LedgerVerdict> {
  return verifyLedger(
    { entryTexts: texts, checkpoint: ledger.checkpointAt(ledger.texts.length), history: ledger.history, recordedLeafHashes: Array.from({ length: ledger.texts.length }, (_, i) => ledger.tree.perfect(0, i)) },
    { hasher, logKey: ledger.logKey, verifyDecision: verifyDecisionBundle, auditor: newAuditor() },
  );
}

function summary(v: LedgerVerdict): unknown {
  return v.ok ? { ok: true, root: v.rootHash, decisions: v.decisionsVerified, size: v.treeSize, audit: v.audit } : { ok: false, problem: v.problem, audit: v.audit };
}

describe('ledger page checks in worker threads', () => {
  test('the untouched ledger: the same verdict, root, decision count and audit as in one thread, from worker-checked and from parsed pages', async () => {
    const expected = await inThread(ledger.texts);
    assert.ok(expected.ok, !expected.ok ? expected.problem.message : '');
    assert.deepEqual(summary(await viaChecker(workers, ledger.texts)), summary(expected));
    assert.deepEqual(summary(await viaParsedPages(ledger.texts)), summary(expected));
  });

  test('a damaged entry on a later page is named as in one thread', async () => {
    const at = 2345;
    const original = ledger.texts[at]!;
    const cases: Record<string, string> = {
      altered: original.replace('hotfix', 'hotfiz'),
      'not JSON': original.slice(0, -1),
      'not canonical': original.replace('{"actor"', '{ "actor"'),
      'not an entry': original.replace('"actorRole":"requester"', '"actorRole":"root"'),
      'wrong seq': original.replace(`"seq":${at}`, `"seq":${at + 1}`),
    };
    for (const [what, text] of Object.entries(cases)) {
      assert.notEqual(text, original, what);
      const texts = ledger.texts.map((t, i) => (i === at ? text : t));
      const expected = await inThread(texts);
      assert.equal(expected.ok, false, what);
      assert.equal(!expected.ok && expected.problem.seq, at, what);
      assert.deepEqual(summary(await viaChecker(workers, texts)), summary(expected), what);
      assert.deepEqual(summary(await viaParsedPages(texts)), summary(expected), what);
    }
  });

  test('a page that is not what the API says is refused naming the field', async () => {
    const bad = () => new TextEncoder().encode(JSON.stringify({ origin: ORIGIN, treeSize: 1, checkpoint: '', from: 0, entries: [1], leafHashes: [] })).buffer as ArrayBuffer;
    await assert.rejects(workers.check(bad()), /does not match the API \(ledgerExport\): .*(publicKeyPem|entries)/);
    await assert.rejects(workers.check(new TextEncoder().encode('{"origin":').buffer as ArrayBuffer), /not JSON/);
    assert.throws(() => parseExportPageBytes(bad()), /does not match the API \(ledgerExport\): .*(publicKeyPem|entries)/);
  });

  test('checkExportPage packs the leaves the verifier computes', () => {
    const page = JSON.parse(new TextDecoder().decode(new Uint8Array(pages(ledger.texts.slice(0, 5))[0]!))) as Parameters<typeof checkExportPage>[0];
    const checked = checkExportPage(page, hasher);
    assert.equal(checked.count, 5);
    for (let i = 0; i < 5; i++) assert.deepEqual(pageEntry(checked, i).checked.leaf, ledger.tree.perfect(0, i));
  });
});
