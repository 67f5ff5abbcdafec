import { readFile } from 'node:fs/promises';
import { AppError } from '../../../shared/errors';
import { addNoteSignatures, parseSignedNote } from '../../../shared/ledger/signed-note';
import { parseVerifierKey, type VerifierKey } from '../../../shared/ledger/verifier-key';
import { witnessQuorum, type WitnessQuorum } from '../../../shared/ledger/witness-quorum';
import { nodeEd25519Verify, nodeSha256 } from '../../../shared/node/ledger/node-crypto';
import type { StoreClient } from '../../../shared/node/http/store-client';
import { LEDGER_ROUTES } from '../../../shared/http/ledger-routes';
import { logKeyFrom, type VerifyOutcome } from './ledger-verify';

/**
 * `ledger verify --witnesses N`: after the ledger verified, at least N of the witnesses this
 * client trusts (`--witness-key` vkeys, or the `witnesses:` of a policy file it holds) must have
 * cosigned the very checkpoint it verified. Kept apart from the verifier: it only reads the
 * verified checkpoint note (and, online, the same checkpoint again for cosignatures that arrived
 * during the run).
 */
export async function trustedWitnessKeys(vkeys: readonly string[], policyPath: string | undefined): Promise<VerifierKey[]> {
  const keys = vkeys.map((vkey, i) => {
    try {
      return parseVerifierKey(vkey, nodeSha256, 'cosignature/v1');
    } catch (error) {
      throw new AppError('invalid_input', `--witness-key #${i + 1}: ${(error as Error).message}`, { fieldErrors: [{ path: '--witness-key', message: (error as Error).message }] });
    }
  });
  if (policyPath) {
    let bytes: Buffer;
    try {
      bytes = await readFile(policyPath);
    } catch (error) {
      throw new AppError('invalid_input', `--witness-policy: cannot read ${policyPath}: ${(error as Error).message}`, { fieldErrors: [{ path: '--witness-policy', message: `cannot read ${policyPath}` }] });
    }
    // Loaded here: the YAML parser is not worth its start-up time to a verify without a policy file.
    const { parsePolicy } = await import('../../policy/load-policy');
    const members = parsePolicy(bytes, policyPath, { recorded: true }).policy.witnesses?.members ?? [];
    if (members.length === 0) throw new AppError('invalid_input', `--witness-policy: ${policyPath} lists no witnesses:`, { fieldErrors: [{ path: '--witness-policy', message: 'no witnesses: section' }] });
    keys.push(...members.map((m) => parseVerifierKey(m.vkey, nodeSha256, 'cosignature/v1')));
  }
  // One key per name: the same witness listed twice counts once.
  return [...new Map(keys.map((k) => [k.name, k])).values()];
}

export async function checkWitnessQuorum(outcome: VerifyOutcome, required: number, trusted: readonly VerifierKey[], client?: StoreClient): Promise<WitnessQuorum> {
  if (!outcome.checkpointNote || !outcome.vkey) throw new AppError('internal', 'the verified checkpoint is not known');
  const logKey = logKeyFrom(outcome.vkey, outcome.origin).verifier;
  let note = outcome.checkpointNote;
  // This client's own cosignature (made after verifying) counts when the client trusts its own key.
  if (outcome.cosigned) note = addNoteSignatures(note, [outcome.cosigned.line]);
  if (client) {
    // Witnesses answer after the checkpoint is signed: pick up lines on the same checkpoint that arrived since.
    const latest = (await client.callRoute('ledgerCheckpoint', LEDGER_ROUTES.ledgerCheckpoint)).checkpoint;
    if (latest) {
      const fresh = parseSignedNote(latest);
      if (fresh.text === parseSignedNote(note).text) note = addNoteSignatures(note, fresh.signatures.map((s) => s.line));
    }
  }
  return witnessQuorum(note, logKey, trusted, required, nodeEd25519Verify);
}

/**
 * Hand this client's own cosignature (made after verifying) back to the store, which keeps it
 * when the policy lists this client's witness vkey. Never fails the run: returns what the store
 * said, or null when the store keeps no cosignatures from this client (not a listed witness).
 */
export async function handBackCosignature(client: StoreClient, outcome: VerifyOutcome): Promise<string | null> {
  if (!outcome.cosigned || !outcome.checkpointNote) return null;
  try {
    const kept = await client.callRoute('submitCosignature', LEDGER_ROUTES.submitCosignature, { body: { checkpoint: outcome.checkpointNote, cosignature: outcome.cosigned.line } });
    return `the store keeps this cosignature (checkpoint ${kept.treeSize}: ${kept.cosignatures} witness cosignatures, quorum ${kept.quorum})`;
  } catch (error) {
    if (error instanceof AppError && error.code === 'forbidden') return null;
    return `the store did not keep this cosignature: ${(error as Error).message}`;
  }
}

export function renderWitnessQuorum(q: WitnessQuorum): string {
  return q.ok ? `  witnesses:  ${q.message}\n` : `FAILED: witnesses: ${q.message}\n`;
}
