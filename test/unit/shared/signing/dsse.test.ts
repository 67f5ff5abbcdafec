import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preAuthEncoding } from '../../../../shared/signing/dsse';

test('PAE matches the DSSE spec test vector', () => {
  // From the DSSE protocol document: PAE("http://example.com/HelloWorld", "hello world").
  const pae = preAuthEncoding('http://example.com/HelloWorld', new TextEncoder().encode('hello world'));
  assert.equal(Buffer.from(pae).toString('utf8'), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
});

test('PAE counts bytes, not characters', () => {
  const pae = preAuthEncoding('t/é', new TextEncoder().encode('ü'));
  assert.equal(Buffer.from(pae).toString('utf8'), 'DSSEv1 4 t/é 2 ü');
});
