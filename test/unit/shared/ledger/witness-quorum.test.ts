import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { cosignatureLine } from '../../../../shared/ledger/cosignature';
import { formatCheckpoint } from '../../../../shared/ledger/checkpoint';
import { addNoteSignatures, signNote } from '../../../../shared/ledger/signed-note';
import { witnessQuorum } from '../../../../shared/ledger/witness-quorum';
import { ed25519Cosigner, ed25519NoteSigner, ed25519NoteVerifier, nodeEd25519Verify } from '../../../../shared/node/ledger/node-crypto';

const pem = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

describe('witness quorum (ledger verify --witnesses N)', () => {
  const origin = 'breakglass.example.com/log';
  const logSigner = ed25519NoteSigner(origin, pem());
  const logKey = ed25519NoteVerifier(origin, logSigner.publicKeyPem);
  const text = formatCheckpoint({ origin, size: 7, rootHash: new Uint8Array(32).fill(3), extensions: [] });
  const note = signNote(text, [logSigner]);
  const [a, b, c] = ['w/a', 'w/b', 'w/c'].map((name) => ed25519Cosigner(name, pem()));
  const trusted = [a!.key, b!.key, c!.key];

  test('passes with N trusted cosignatures, names who is missing otherwise', () => {
    const two = addNoteSignatures(note, [cosignatureLine(text, a!, 100), cosignatureLine(text, b!, 101)]);
    const pass = witnessQuorum(two, logKey, trusted, 2, nodeEd25519Verify);
    assert.equal(pass.ok, true);
    assert.deepEqual(pass.cosigned.map((x) => x.name), ['w/a', 'w/b']);
    const fail = witnessQuorum(two, logKey, trusted, 3, nodeEd25519Verify);
    assert.equal(fail.ok, false);
    assert.deepEqual(fail.missing, ['w/c']);
    assert.match(fail.message, /only 2 of the 3 required witness cosignatures cover checkpoint 7: missing w\/c/);
  });

  test('cosignatures by untrusted witnesses do not count; the same witness twice counts once', () => {
    const stranger = ed25519Cosigner('w/stranger', pem());
    const n = addNoteSignatures(note, [cosignatureLine(text, stranger, 1), cosignatureLine(text, a!, 1), cosignatureLine(text, a!, 2)]);
    const q = witnessQuorum(n, logKey, trusted, 2, nodeEd25519Verify);
    assert.equal(q.ok, false);
    assert.equal(q.cosigned.length, 1);
  });

  test('a forged cosignature by a trusted witness is refused, not skipped', () => {
    const other = formatCheckpoint({ origin, size: 7, rootHash: new Uint8Array(32).fill(4), extensions: [] });
    const n = addNoteSignatures(note, [cosignatureLine(other, a!, 1)]);
    assert.throws(() => witnessQuorum(n, logKey, trusted, 1, nodeEd25519Verify), /signature by w\/a does not verify/);
  });

  test('asking for more witnesses than are trusted is bad input', () => {
    assert.throws(() => witnessQuorum(note, logKey, [a!.key], 2, nodeEd25519Verify), /2 witness cosignature\(s\) required, but only 1 witness key/);
  });
});
