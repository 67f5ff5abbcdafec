import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, isCanonicalJsonText } from '../../../shared/canonical-json';

// isCanonicalJsonText is the verifier's fast form of canonicalJson(JSON.parse(text)) === text:
// it must give the same answer on every text, including the ones its fast path cannot decide.
const TEXTS: Array<[string, boolean]> = [
  ['{"a":1,"b":[{"c":"x\\u0000","d":null}]}', true],
  ['{"b":1,"a":2}', false], // keys out of order
  ['{"a":[1,{"b":1,"a":1}]}', false], // nested keys out of order
  ['{"a":1,"a":2}', false], // duplicate key
  ['{"10":1,"9":2}', true], // integer-like keys the engine reorders: sorted as strings
  ['{"9":1,"10":2}', false],
  ['{"a": 1}', false], // whitespace
  ['{"a":"\\u00e9"}', false], // escaped where JSON.stringify does not escape
  ['{"a":"é"}', true],
  ['{"a":1.0}', false],
  ['{"a":1e3}', false],
  ['[]', true],
  ['"x"', true],
];

test('isCanonicalJsonText agrees with canonicalJson on every text', () => {
  for (const [text, canonical] of TEXTS) {
    const parsed: unknown = JSON.parse(text);
    assert.equal(canonicalJson(parsed) === text, canonical, text);
    assert.equal(isCanonicalJsonText(text, parsed), canonical, text);
  }
});

test('canonicalJson names where a value cannot be encoded', () => {
  assert.throws(() => canonicalJson({ a: { b: [1, Number.NaN] } }), /^TypeError: canonical JSON: non-finite number at \$\.a\.b\[1\]$/);
  assert.throws(() => canonicalJson({ a: [1n] }), /^TypeError: canonical JSON: cannot encode bigint at \$\.a\[0\]$/);
  assert.equal(canonicalJson({ b: 1, a: [null, 'x', { d: undefined, c: true }] }), '{"a":[null,"x",{"c":true}],"b":1}');
});
