import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { checkpointTime, checkpointTimeLine, formatCheckpoint, parseCheckpoint } from '../../../../shared/ledger/checkpoint';
import { cosignatureLine, cosignatureMessage, cosignatureTimestamp, verifyCosignatureLine, verifyCosignedCheckpoint } from '../../../../shared/ledger/cosignature';
import { addNoteSignatures, parseSignedNote, signNote, verifyNote } from '../../../../shared/ledger/signed-note';
import { formatVerifierKey, parseVerifierKey } from '../../../../shared/ledger/verifier-key';
import { ed25519Cosigner, ed25519NoteSigner, ed25519NoteVerifier, nodeEd25519Verify, nodeSha256 } from '../../../../shared/node/ledger/node-crypto';

function pem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

const ORIGIN = 'store.example.com/breakglass';
const logPem = pem();
const logSigner = ed25519NoteSigner(ORIGIN, logPem);
const logKey = ed25519NoteVerifier(ORIGIN, logSigner.publicKeyPem);
const root = createHash('sha256').update('root').digest();
const text = formatCheckpoint({ origin: ORIGIN, size: 7, rootHash: root, extensions: [checkpointTimeLine(new Date('2026-05-01T10:00:00.123Z'))] });
const note = signNote(text, [logSigner]);

describe('C2SP tlog-cosignature (cosignature/v1)', () => {
  const w1 = ed25519Cosigner('witness.example/w1', pem());
  const w2 = ed25519Cosigner('console.example/carol', pem());

  test('key id = SHA-256(name ‖ 0x0A ‖ 0x04 ‖ key)[:4]; vkey round trip; a tampered vkey is refused', () => {
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from('witness.example/w1\n'), Buffer.from([4]), w1.key.publicKey])).digest().subarray(0, 4);
    assert.deepEqual(Buffer.from(w1.key.keyHint), expected);
    const vkey = formatVerifierKey(w1.key);
    assert.match(vkey, /^witness\.example\/w1\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
    const parsed = parseVerifierKey(vkey, nodeSha256, 'cosignature/v1');
    assert.deepEqual(parsed, w1.key);
    assert.throws(() => parseVerifierKey(vkey, nodeSha256, 'ed25519'), /a ed25519 key was expected/);
    const otherName = vkey.replace('witness.example/w1', 'witness.example/w9');
    assert.throws(() => parseVerifierKey(otherName, nodeSha256), /does not match the name and key/);
    for (const bad of ['', 'a+b', 'name+zzzzzzzz+AQ==', `${vkey}+x`, 'has space+00000000+AQ==']) assert.throws(() => parseVerifierKey(bad, nodeSha256), /invalid/);
    // The log's own vkey is type 0x01.
    const logVkey = formatVerifierKey(parseVerifierKey(formatVerifierKey({ name: ORIGIN, type: 'ed25519', publicKey: logSigner.rawPublicKey, keyHint: logSigner.keyHint }), nodeSha256));
    assert.equal(parseVerifierKey(logVkey, nodeSha256).type, 'ed25519');
  });

  test('the signed message is "cosignature/v1\\ntime <s>\\n" + the whole checkpoint body; the timestamp leads the signature', () => {
    assert.equal(Buffer.from(cosignatureMessage(text, 1_700_000_000)).toString(), `cosignature/v1\ntime 1700000000\n${text}`);
    const line = cosignatureLine(text, w1, 1_700_000_000);
    const sig = parseSignedNote(`${text}\n${line}`).signatures[0]!;
    assert.equal(sig.signature.length, 72);
    assert.equal(cosignatureTimestamp(sig.signature), 1_700_000_000);
    assert.deepEqual(Buffer.from(sig.signature.subarray(0, 8)), Buffer.from([0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00]));
    assert.ok(nodeEd25519Verify(w1.key.publicKey, cosignatureMessage(text, 1_700_000_000), sig.signature.subarray(8)));
  });

  test('a cosigned checkpoint verifies with the log key alone (unknown lines ignored, Go note.Open rules) and names its known cosigners', () => {
    const cosigned = addNoteSignatures(note, [cosignatureLine(text, w1, 1_700_000_001), cosignatureLine(text, w2, 1_700_000_002)]);
    assert.equal(parseSignedNote(cosigned).signatures.length, 3);
    const plain = verifyNote(cosigned, [logKey]);
    assert.deepEqual(plain.verifiedBy, [ORIGIN]);
    assert.equal(plain.unknown.length, 2);
    assert.equal(plain.text, text);
    const both = verifyCosignedCheckpoint(cosigned, logKey, [w1.key, w2.key], nodeEd25519Verify);
    assert.deepEqual(both.cosignatures.map((c) => [c.name, c.timestamp]), [['witness.example/w1', 1_700_000_001], ['console.example/carol', 1_700_000_002]]);
    assert.equal(checkpointTime(both.checkpoint)?.toISOString(), '2026-05-01T10:00:00.123Z');
    // Only w1 known: w2's line ignored.
    assert.deepEqual(verifyCosignedCheckpoint(cosigned, logKey, [w1.key], nodeEd25519Verify).cosignatures.map((c) => c.name), ['witness.example/w1']);
    // Adding the same lines again changes nothing.
    assert.equal(addNoteSignatures(cosigned, [cosignatureLine(text, w1, 1_700_000_001)]), cosigned);
  });

  test('a cosignature by a known witness over another checkpoint, or with a changed timestamp, rejects the note; a line without the log signature is not a checkpoint', () => {
    const otherText = formatCheckpoint({ origin: ORIGIN, size: 8, rootHash: root, extensions: [] });
    const forged = addNoteSignatures(note, [cosignatureLine(otherText, w1, 1_700_000_001)]);
    assert.throws(() => verifyCosignedCheckpoint(forged, logKey, [w1.key], nodeEd25519Verify), /does not verify/);
    // Still fine for a verifier that does not know w1.
    verifyNote(forged, [logKey]);
    const line = cosignatureLine(text, w1, 1_700_000_001);
    const sigBytes = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    sigBytes[11]! ^= 1; // the timestamp's low byte
    const retimed = `\u2014 witness.example/w1 ${sigBytes.toString('base64')}`;
    assert.throws(() => verifyCosignatureLine(text, retimed, w1.key, nodeEd25519Verify), /does not verify/);
    assert.equal(verifyCosignatureLine(text, line, w1.key, nodeEd25519Verify).timestamp, 1_700_000_001);
    assert.throws(() => verifyCosignatureLine(text, line, w2.key, nodeEd25519Verify), /not by witness/);
    const witnessOnly = `${text}\n${line}`;
    assert.throws(() => verifyCosignedCheckpoint(witnessOnly, logKey, [w1.key], nodeEd25519Verify), /no signature by a trusted key|log key/);
  });

  test('signed-note parsing follows Go: control characters, >100 signatures, bad names and bad base64 are malformed; duplicates count once', () => {
    assert.throws(() => parseSignedNote(note.replace('\n\n', '\n\t\n')), /control characters/);
    const line = note.split('\n\n')[1]!;
    assert.throws(() => parseSignedNote(`${text}\n${line.repeat(101)}`), /more than 100/);
    assert.equal(verifyNote(`${text}\n${line.repeat(3)}`, [logKey]).verified.length, 1);
    assert.throws(() => parseSignedNote(`${text}\n\u2014 bad+name AAAAAAAA\n`), /invalid key name/);
    assert.throws(() => parseSignedNote(`${text}\n\u2014 name A\n`), /not base64/);
    assert.throws(() => parseSignedNote(`${text}\n- name AAAAAAAA\n`), /does not start/);
    assert.throws(() => parseSignedNote(`${text}\n`), /signature block/);
    // A note text may not be signed with a blank line or control characters in it.
    assert.throws(() => signNote('a\n\nb\n', [logSigner]), /blank lines/);
  });

  test('checkpoint timestamps: Rekor-style "Timestamp: <ns>" extension line', () => {
    const cp = parseCheckpoint(text);
    assert.equal(cp.extensions[0], 'Timestamp: 1777629600123000000');
    assert.equal(checkpointTime(cp)?.getTime(), Date.parse('2026-05-01T10:00:00.123Z'));
    assert.equal(checkpointTime({ ...cp, extensions: [] }), null);
    assert.throws(() => checkpointTime({ ...cp, extensions: ['Timestamp: 01'] }), /not a timestamp/);
  });
});
