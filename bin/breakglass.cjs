#!/usr/bin/env node
// `breakglass` CLI entry: runs the prebuilt CLI in dist/cli (built by `npm install` through the
// `prepare` script, or `npm run build:cli`), so no TypeScript is compiled at run time.
// A `check` command line goes to the fast path first (dist/cli/fast-check.cjs: one small file,
// no commander, no zod); it answers what it can and leaves everything else to the full CLI
// (dist/cli/main.mjs). CommonJS, this file and the fast path: Node 20 sets up its ES module
// loader only for an ES module, which a gate's check would pay for and not use (measured here
// with perf stat: ~4 ms of CPU of a check's start).
'use strict';

const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const DIST = join(__dirname, '..', 'dist', 'cli');

/** Say what to do when the build is missing, rather than print a stack trace. */
function notBuilt(error, name) {
  // The message names the missing file with this platform's separators (require) or as a URL path (import).
  const missing = (error?.code === 'MODULE_NOT_FOUND' || error?.code === 'ERR_MODULE_NOT_FOUND') && String(error.message).includes(name);
  if (!missing) throw error;
  process.stderr.write(
    `error: the breakglass CLI is not built (dist/cli/${name} is missing).\n` +
      'hint: in the breakglass checkout run `npm install` (it builds the CLI) or `npm run build:cli`\n',
  );
  process.exit(2);
}

async function run(argv) {
  if (argv.includes('check')) {
    let fast;
    try {
      fast = require(join(DIST, 'fast-check.cjs'));
    } catch (error) {
      notBuilt(error, 'fast-check.cjs');
    }
    const code = await fast.fastCheck(argv);
    if (code !== undefined) return code;
  }
  let full;
  try {
    full = await import(pathToFileURL(join(DIST, 'main.mjs')).href);
  } catch (error) {
    notBuilt(error, 'main.mjs');
  }
  return full.main(argv);
}

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
