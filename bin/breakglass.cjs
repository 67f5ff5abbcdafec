#!/usr/bin/env node
// `breakglass` CLI entry: runs the prebuilt CLI in dist/cli (built by `npm install` through the
// `prepare` script, or `npm run build:cli`), so no TypeScript is compiled at run time.
// A `check` command line goes to the fast path first (dist/cli/fast-check.mjs: one small file,
// no commander, no zod); it answers what it can and leaves everything else to the full CLI.
const BUILT = new URL('../dist/cli/main.mjs', import.meta.url);
const FAST_CHECK = new URL('../dist/cli/fast-check.mjs', import.meta.url);

async function load(url) {
  try {
    return await import(url.href);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(url.pathname.split('/').slice(-3).join('/'))) throw error;
    process.stderr.write(
      `error: the breakglass CLI is not built (${url.pathname.split('/').slice(-3).join('/')} is missing).\n` +
        'hint: in the breakglass checkout run `npm install` (it builds the CLI) or `npm run build:cli`\n',
    );
    process.exit(2);
  }
}

const argv = process.argv.slice(2);
let code = argv.includes('check') ? await (await load(FAST_CHECK)).fastCheck(argv) : undefined;
if (code === undefined) code = await (await load(BUILT)).main(argv);
process.exitCode = code;
