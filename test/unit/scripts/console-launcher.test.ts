import { test } from 'node:test';
import assert from 'node:assert/strict';
import { electronHint } from '../../../scripts/demo/console-launcher';

test('the fallback names a hint that helps for each true reason (never "delete node_modules and reinstall")', () => {
  const desktop = { DISPLAY: ':0' };
  assert.match(electronHint('no graphical session', {}, 'linux'), /\$DISPLAY and \$WAYLAND_DISPLAY are unset/);
  assert.match(electronHint('the Electron binary could not be fetched: getaddrinfo ENOTFOUND github.com', desktop, 'linux'), /ELECTRON_MIRROR/);
  assert.match(electronHint('the Electron binary could not be fetched: the download did not finish within 180 s', desktop, 'linux'), /ELECTRON_MIRROR/);
  assert.match(electronHint('Electron exited right away (code 127): error while loading shared libraries: libnss3.so', desktop, 'linux'), /apt-get install libnss3/);
  assert.match(electronHint('something else', desktop, 'darwin'), /node node_modules\/electron\/install\.js/);
  for (const why of ['no graphical session', 'ENOTFOUND', 'libnss3', 'other']) assert.doesNotMatch(electronHint(why, desktop, 'linux'), /delete node_modules/);
});
