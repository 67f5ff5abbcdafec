import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import * as React from 'react';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { ConsoleWitnessKeySchema, mainContract } from '../../../../shared/ipc/contract';
import { formatVerifierKey } from '../../../../shared/ledger/verifier-key';
import { ed25519Cosigner, ed25519NoteSigner, ed25519VerifierKeyFromPem } from '../../../../shared/node/ledger/node-crypto';
import { WitnessKeyPanel } from '../../../../renderer/screens/settings/witness-key-panel';

// tsx compiles renderer files with the classic JSX runtime, which calls React.createElement from the global scope.
Object.assign(globalThis, { React });

const pem = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const cosigner = ed25519Cosigner('laptop/bob/console', pem());
const key = { name: 'laptop/bob/console', vkey: formatVerifierKey(cosigner.key) };

describe('Settings shows the console\'s own witness key', () => {
  test('the vkey (name+hash+base64) with a copy button and what to do with it', () => {
    const html = renderToStaticMarkup(createElement(WitnessKeyPanel, { witness: key, copy: (text: string) => createElement('button', { 'data-copy': text }, 'Copy witness key') }));
    assert.match(key.vkey, /^laptop\/bob\/console\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
    assert.ok(html.includes(key.vkey), html);
    assert.match(html, /aria-label="witness name">laptop\/bob\/console</);
    assert.ok(html.includes(`data-copy="${key.vkey}"`), 'the copy button copies the vkey');
    assert.match(html, /witnesses:/);
  });

  test('without a key (no keychain) it says the console does not witness', () => {
    const html = renderToStaticMarkup(createElement(WitnessKeyPanel, { witness: null, copy: (text: string) => createElement('button', { 'data-copy': text }, 'Copy witness key') }));
    assert.match(html, /does not witness the ledger: it needs the OS keychain/);
    assert.doesNotMatch(html, /Copy witness key/);
  });

  test('the IPC contract validates the key both ways: a witness vkey naming the witness, or null', () => {
    const channel = mainContract['console:main:get-witness-key'];
    assert.deepEqual(channel.output.parse(key), key);
    assert.equal(channel.output.parse(null), null);
    assert.deepEqual(channel.input.parse({}), {});
    // A log key (type 0x01) is not a witness key; a vkey of another name; junk.
    const logVkey = ed25519VerifierKeyFromPem('laptop/bob/console', ed25519NoteSigner('laptop/bob/console', pem()).publicKeyPem);
    assert.equal(ConsoleWitnessKeySchema.safeParse({ name: key.name, vkey: logVkey }).success, false);
    assert.equal(ConsoleWitnessKeySchema.safeParse({ name: 'laptop/carol/console', vkey: key.vkey }).success, false);
    assert.equal(ConsoleWitnessKeySchema.safeParse({ name: key.name, vkey: 'not a vkey' }).success, false);
    assert.equal(ConsoleWitnessKeySchema.safeParse({ ...key, privateKeyPem: 'x' }).success, false, 'nothing else crosses the bridge');
  });
});
