import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { utf8 } from '../../../../shared/bytes';
import type { EntryBinder } from '../../../../shared/ledger/entry-binding';
import { ed25519EntryBinder, nodeTreeHasher as hasher } from '../../../../shared/node/ledger/node-crypto';
import { selfBoundEntries } from '../../../../grant-store/ledger/self-bound-entries';

const ORIGIN = 'breakglass.example.com/test';
const pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const leaf = (text: string) => hasher.leaf(utf8(text));

/** The real binder, counting the signature checks it does with the public key. */
function counting(inner: EntryBinder): EntryBinder & { verifies: number } {
  const out = {
    origin: inner.origin,
    verifies: 0,
    bind: (seq: number, l: Uint8Array) => inner.bind(seq, l),
    verify: (seq: number, l: Uint8Array, b: Uint8Array | null | undefined) => {
      out.verifies++;
      return inner.verify(seq, l, b);
    },
  };
  return out;
}

describe('bindings this process made are checked against what it signed', () => {
  test('a row as this process bound it passes without a signature check, once', () => {
    const inner = counting(ed25519EntryBinder(ORIGIN, pem()));
    const binder = selfBoundEntries(inner);
    const b = binder.bind(0, leaf('a'));
    assert.equal(binder.verify(0, leaf('a'), b), true);
    assert.equal(inner.verifies, 0);
    // Asked again (a second reading of the row): checked with the key, and still valid.
    assert.equal(binder.verify(0, leaf('a'), b), true);
    assert.equal(inner.verifies, 1);
  });

  test('an edited row, a swapped binding or a missing one at a seq this process bound is refused', () => {
    const inner = counting(ed25519EntryBinder(ORIGIN, pem()));
    const binder = selfBoundEntries(inner);
    const b0 = binder.bind(0, leaf('a'));
    const b1 = binder.bind(1, leaf('b'));
    const b2 = binder.bind(2, leaf('c'));
    assert.equal(binder.verify(0, leaf('edited'), b0), false);
    assert.equal(binder.verify(1, leaf('b'), b0), false, "seq 0's binding on row 1");
    assert.equal(binder.verify(2, leaf('c'), null), false);
    assert.equal(inner.verifies, 3, 'each went to the signature check');
    // Still remembered: the real row passes afterwards.
    assert.equal(binder.verify(1, leaf('b'), b1), true);
    assert.equal(binder.verify(2, leaf('c'), b2), true);
    assert.equal(inner.verifies, 3);
  });

  test('rows bound elsewhere are checked with the key: another instance with the same key passes, a forger does not', () => {
    const key = pem();
    const here = counting(ed25519EntryBinder(ORIGIN, key));
    const binder = selfBoundEntries(here);
    const otherInstance = ed25519EntryBinder(ORIGIN, key);
    assert.equal(binder.verify(5, leaf('x'), otherInstance.bind(5, leaf('x'))), true);
    const forger = ed25519EntryBinder(ORIGIN, pem());
    assert.equal(binder.verify(6, leaf('y'), forger.bind(6, leaf('y'))), false);
    assert.equal(here.verifies, 2);
  });

  test('a seq bound again (rolled-back transaction) answers for the newest binding; beyond capacity the oldest fall back to the key', () => {
    const inner = counting(ed25519EntryBinder(ORIGIN, pem()));
    const binder = selfBoundEntries(inner, 2);
    binder.bind(0, leaf('rolled back'));
    const b0 = binder.bind(0, leaf('committed'));
    assert.equal(binder.verify(0, leaf('rolled back'), b0), false);
    assert.equal(binder.verify(0, leaf('committed'), b0), true);
    const before = inner.verifies;
    const b1 = binder.bind(1, leaf('b'));
    const b2 = binder.bind(2, leaf('c'));
    const b3 = binder.bind(3, leaf('d'));
    assert.equal(binder.verify(1, leaf('b'), b1), true);
    assert.equal(inner.verifies, before + 1, 'seq 1 was forgotten (capacity 2): checked with the key');
    assert.equal(binder.verify(2, leaf('c'), b2), true);
    assert.equal(binder.verify(3, leaf('d'), b3), true);
    assert.equal(inner.verifies, before + 1);
  });
});
