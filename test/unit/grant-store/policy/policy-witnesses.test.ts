import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AppError } from '../../../../shared/errors';
import { formatVerifierKey } from '../../../../shared/ledger/verifier-key';
import { ed25519Cosigner } from '../../../../shared/node/ledger/node-crypto';
import { EXAMPLE_POLICY_PATH } from '../../../../grant-store/policy/example-policy-path';
import { parsePolicy } from '../../../../grant-store/policy/load-policy';

function witnessVkey(name: string): string {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return formatVerifierKey(ed25519Cosigner(name, pem).key);
}

function rejection(text: string): AppError {
  try {
    parsePolicy(Buffer.from(text), '/etc/bg/policy.yaml');
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error;
  }
  assert.fail('expected the policy to be rejected');
}

describe('policy witnesses:', async () => {
  const example = await readFile(EXAMPLE_POLICY_PATH, 'utf8');
  const w1 = witnessVkey('witness.example.com/w1');
  const w2 = witnessVkey('laptop/erin/console');
  const section = (members: string, quorum = 1) => `${example}\nwitnesses:\n  quorum: ${quorum}\n  members:\n${members}`;

  test('named witnesses with vkey, optional push URL and a quorum parse', () => {
    const { policy } = parsePolicy(Buffer.from(section(`    - vkey: "${w1}"\n      url: http://127.0.0.1:7430\n    - vkey: "${w2}"\n`, 2)), 'p.yaml');
    assert.equal(policy.witnesses?.quorum, 2);
    assert.deepEqual(policy.witnesses?.members, [{ vkey: w1, url: 'http://127.0.0.1:7430' }, { vkey: w2 }]);
    assert.equal(parsePolicy(Buffer.from(example), 'p.yaml').policy.witnesses, undefined);
  });

  test('a quorum above the number of witnesses is refused at its line', () => {
    const error = rejection(section(`    - vkey: "${w1}"\n`, 2));
    assert.match(error.message, /witnesses\.quorum: quorum 2 is more than the 1 witness\(es\) listed/);
  });

  test('a log key (type 0x01) or a malformed vkey is refused naming the field', () => {
    const logKey = w1.replace(/\+B([A-P])/, '+A$1');
    assert.match(rejection(section(`    - vkey: "${logKey}"\n`)).message, /witnesses\.members\.0\.vkey: must be a witness vkey/);
    assert.match(rejection(section('    - vkey: "nope"\n')).message, /witnesses\.members\.0\.vkey/);
  });

  test('a vkey whose key id does not match its name and key is refused', () => {
    const renamed = `witness.example.com/other${w1.slice(w1.indexOf('+'))}`;
    const error = rejection(section(`    - vkey: "${renamed}"\n`));
    assert.match(error.message, /witnesses\.members\.0\.vkey: .*the key id [0-9a-f]{8} does not match the name and key/);
    assert.equal(error.fieldErrors?.[0]?.path, 'witnesses.members.0.vkey');
  });

  test('the same witness name twice is refused', () => {
    assert.match(rejection(section(`    - vkey: "${w1}"\n    - vkey: "${w1}"\n`)).message, /witnesses\.members\.1\.vkey: witness "witness\.example\.com\/w1" is already listed/);
  });

  test('a push URL must be http(s)', () => {
    assert.match(rejection(section(`    - vkey: "${w1}"\n      url: ftp://w.example\n`)).message, /witnesses\.members\.0\.url/);
  });
});
