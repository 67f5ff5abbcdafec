import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { takeHostToken, type TokenHistory, type TokenLocation, type TokenStorage } from '../../../../renderer/bridge/browser-token';

function fakeWindow(hash: string) {
  const data = new Map<string, string>();
  const storage: TokenStorage = {
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
  };
  const replaced: string[] = [];
  const location: TokenLocation = { hash, pathname: '/', search: '' };
  const history: TokenHistory = { state: null, replaceState: (_s, _t, url) => void replaced.push(url) };
  return { storage, location, history, replaced };
}

describe('browser host token hand-over', () => {
  test('taken from the fragment once, kept for the tab, stripped from the address bar', () => {
    const w = fakeWindow('#token=abc123');
    assert.equal(takeHostToken(w.location, w.history, w.storage), 'abc123');
    assert.deepEqual(w.replaced, ['/']);
    // After a reload (no fragment any more) the tab still has it.
    const reloaded = { ...w, location: { hash: '', pathname: '/', search: '' } };
    assert.equal(takeHostToken(reloaded.location, w.history, w.storage), 'abc123');
  });

  test('other fragment parameters survive; no token means null', () => {
    const w = fakeWindow('#token=t1&view=ledger');
    takeHostToken(w.location, w.history, w.storage);
    assert.deepEqual(w.replaced, ['/#view=ledger']);
    const none = fakeWindow('');
    assert.equal(takeHostToken(none.location, none.history, none.storage), null);
  });
});
