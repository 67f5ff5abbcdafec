import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, isCanonicalJsonText, plainlyCanonical } from '../../../shared/canonical-json';

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
  // What the one-pass scan (plainlyCanonical) decides, and what it leaves to the re-serialisation.
  ['{"a":"line\\nbreak \\"quoted\\" back\\\\slash\\ttab"}', true],
  ['{"a":"\\/"}', false], // JSON.stringify does not escape "/"
  ['{"a":"\\u001f"}', true], // a control character, escaped as JSON.stringify does
  ['{"a":"\\u0041"}', false],
  ['{"a":"😀"}', true], // a surrogate pair, written as is
  ['{"a":"\\ud83d"}', true], // a lone surrogate, escaped as JSON.stringify does
  ['{"a":"\\ud83d\\ude00"}', false], // a pair is written as is, not escaped
  ['{"a":-12,"b":0,"c":[-1,2,{"d":[]}],"e":{}}', true],
  ['{"a":-0}', false],
  ['{"a":7}', true],
  ['{"a":123456789012345}', true],
  ['{"a":1234567890123456}', true], // 16 digits, still written back unchanged (decided by re-serialisation)
  ['{"a":12345678901234567890}', false], // beyond 2^53: written back as 12345678901234567000
  ['{"a":1.5}', true],
  ['{"a":[{"b":1,"c":2},{"c":1,"b":2}]}', false], // the second object's keys out of order
  ['{"a":{"z":1},"b":{"a":1}}', true], // each object's keys compared only among themselves
  ['{"ab":1,"a":2}', false],
  ['{"a":1,"ab":2}', true],
  ['{"a\\n":1,"a\\t":2}', false], // escaped keys: "a" + LF (10) sorts after "a" + TAB (9)
  ['{"a\\t":1,"a\\n":2}', true],
  ['{"é":1,"z":2}', false], // by UTF-16 code units "é" (0xe9) sorts after "z"
  ['{"z":1,"é":2}', true],
  ['{"\uffff":1,"😀":2}', false], // UTF-16 order: the surrogate (0xd83d) before 0xffff
  ['{"😀":1,"\uffff":2}', true],
  ['[true,false,null,"x",1]', true],
  ['[ true]', false],
  ['{"a":1}\n', false],
];

test('isCanonicalJsonText agrees with canonicalJson on every text', () => {
  for (const [text, canonical] of TEXTS) {
    const parsed: unknown = JSON.parse(text);
    assert.equal(canonicalJson(parsed) === text, canonical, text);
    assert.equal(isCanonicalJsonText(text, parsed), canonical, text);
  }
});

test('the one-pass scan never calls a text canonical that is not, and decides the common ones itself', () => {
  for (const [text] of TEXTS) if (plainlyCanonical(text)) assert.equal(canonicalJson(JSON.parse(text)), text, text);
  // A ledger entry as the store writes it (sorted keys, no escapes, integers) is decided in one pass.
  const entry = canonicalJson({ seq: 50, type: 'evaluation_under_bypass', time: '2026-11-30T15:21:17.977Z', actor: 'ci-gate', reason: 'CI rerun, "fine"\n', data: { subject: { repo: 'payments-api', branch: 'b-4' }, verdict: 'warn', context: null, n: -3 }, approver: null });
  assert.equal(plainlyCanonical(entry), true);
  // Every one-character change of it: the scan may say "not decided", never a wrong "canonical".
  const alphabet = ['"', '\\', ' ', ',', ':', '{', '}', '[', ']', '0', '-', '.', 'e', 'a', 'z', '\ud83d', '\u00e9'];
  let checked = 0;
  for (let i = 0; i < entry.length; i++) {
    for (const ch of alphabet) {
      for (const mutated of [entry.slice(0, i) + ch + entry.slice(i + 1), entry.slice(0, i) + ch + entry.slice(i), entry.slice(0, i) + entry.slice(i + 1)]) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(mutated);
        } catch {
          continue;
        }
        checked++;
        const canonical = canonicalJson(parsed) === mutated;
        if (plainlyCanonical(mutated)) assert.ok(canonical, mutated);
        assert.equal(isCanonicalJsonText(mutated, parsed), canonical, mutated);
      }
    }
  }
  assert.ok(checked > 500, `only ${checked} mutations parsed`);
});

test('canonicalJson names where a value cannot be encoded', () => {
  assert.throws(() => canonicalJson({ a: { b: [1, Number.NaN] } }), /^TypeError: canonical JSON: non-finite number at \$\.a\.b\[1\]$/);
  assert.throws(() => canonicalJson({ a: [1n] }), /^TypeError: canonical JSON: cannot encode bigint at \$\.a\[0\]$/);
  assert.equal(canonicalJson({ b: 1, a: [null, 'x', { d: undefined, c: true }] }), '{"a":[null,"x",{"c":true}],"b":1}');
});
