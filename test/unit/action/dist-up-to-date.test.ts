import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
// @ts-expect-error -- a plain ES module build script without type declarations
import { ACTION_DIST, buildActionText } from '../../../build/build-action.mjs';

test('action/dist/index.js is the build of action/src (run `npm run build:action` and commit it)', async () => {
  const fresh = (await buildActionText()) as string;
  const committed = await readFile(ACTION_DIST as string, 'utf8');
  assert.ok(committed === fresh, 'action/dist/index.js is stale: run `npm run build:action` and commit the result');
});
