import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as React from 'react';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { SYNC_OFFLINE_WHY, SyncButton } from '../../../../renderer/screens/ledger/sync-button';

// tsx compiles renderer files with the classic JSX runtime, which calls React.createElement from the global scope.
Object.assign(globalThis, { React });

const render = (offline: boolean, pending = false) => renderToStaticMarkup(createElement(SyncButton, { offline, pending, onSync: () => undefined }));

describe('the Ledger screen\'s Sync now', () => {
  test('online: enabled, no offline text', () => {
    const html = render(false);
    assert.match(html, /<button[^>]*>Sync now<\/button>/);
    assert.doesNotMatch(html, /disabled/);
    assert.doesNotMatch(html, /Offline/);
  });

  test('offline: disabled with the reason (a click could only fail), and the screen says it shows the mirror', () => {
    const html = render(true);
    assert.match(html, /<button[^>]*disabled=""[^>]*>Sync now<\/button>/);
    assert.ok(html.includes(`title="${SYNC_OFFLINE_WHY.replace(/'/g, '&#x27;')}"`), html);
    assert.match(html, /aria-describedby="sync-offline-why"/);
    assert.match(html, /id="sync-offline-why"[^>]*>Offline: showing the verified mirror\./);
  });

  test('while a sync runs: disabled, says so', () => {
    assert.match(render(false, true), /<button[^>]*disabled=""[^>]*>Syncing…<\/button>/);
  });
});
