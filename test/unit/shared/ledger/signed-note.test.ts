import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createHash } from 'node:crypto';
import { formatCheckpoint, parseCheckpoint } from '../../../../shared/ledger/checkpoint';
import { ed25519NoteKeyHint, parseSignedNote, signNote, verifyNote } from '../../../../shared/ledger/signed-note';
import { ed25519NoteSigner, ed25519NoteVerifier, nodeSha256 } from '../../../../shared/node/ledger/node-crypto';

function keyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

describe('C2SP checkpoint and signed note', () => {
  const origin = 'breakglass.local/st_test';
  const root = createHash('sha256').update('root').digest();

  test('checkpoint body round trip, exact format', () => {
    const text = formatCheckpoint({ origin, size: 42, rootHash: root, extensions: ['time 2026-01-01T00:00:00Z'] });
    assert.equal(text, `${origin}\n42\n${root.toString('base64')}\ntime 2026-01-01T00:00:00Z\n`);
    const parsed = parseCheckpoint(text);
    assert.equal(parsed.size, 42);
    assert.deepEqual(Buffer.from(parsed.rootHash), root);
    for (const bad of [`${origin}\n042\n${root.toString('base64')}\n`, `${origin}\n-1\n${root.toString('base64')}\n`, `${origin}\n1\nAAAA\n`, `${origin}\n1\n${root.toString('base64')}`, `\n1\n${root.toString('base64')}\n`]) {
      assert.throws(() => parseCheckpoint(bad), /malformed checkpoint/);
    }
  });

  test('Ed25519 key hint = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]', () => {
    const key = new Uint8Array(32).fill(7);
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from('example.com/log\n'), Buffer.from([1]), key])).digest().subarray(0, 4);
    assert.deepEqual(Buffer.from(ed25519NoteKeyHint('example.com/log', key, nodeSha256)), expected);
  });

  test('sign, parse, verify; forged, altered and unknown-key notes are rejected', () => {
    const keys = keyPair();
    const signer = ed25519NoteSigner(origin, keys.privateKeyPem);
    const verifier = ed25519NoteVerifier(origin, keys.publicKeyPem);
    const text = formatCheckpoint({ origin, size: 3, rootHash: root, extensions: [] });
    const note = signNote(text, [signer]);
    assert.ok(note.startsWith(`${text}\n\u2014 ${origin} `) && note.endsWith('\n') && note.split('\n').length === 6, note);
    assert.equal(parseSignedNote(note).signatures[0]!.signature.length, 64);
    const verified = verifyNote(note, [verifier]);
    assert.deepEqual({ text: verified.text, verifiedBy: verified.verifiedBy }, { text, verifiedBy: [origin] });

    const other = keyPair();
    const forged = signNote(text, [ed25519NoteSigner(origin, other.privateKeyPem)]);
    assert.throws(() => verifyNote(forged, [verifier]), /no signature by a trusted key/);
    const altered = note.replace('\n3\n', '\n4\n');
    assert.throws(() => verifyNote(altered, [verifier]), /does not verify/);
    // Same key, hint forged to match: the signature itself must fail.
    const sigLine = note.split('\n\n')[1]!;
    const forgedWithHint = `${text}\n${sigLine.replace(/ (\S+)\n$/, (_, b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[10]! ^= 1;
      return ` ${bytes.toString('base64')}\n`;
    })}`;
    assert.throws(() => verifyNote(forgedWithHint, [verifier]), /does not verify/);
    assert.throws(() => verifyNote(text, [verifier]), /malformed/);
    assert.throws(() => verifyNote(`${text}\n`, [verifier]), /malformed/);
  });
});
