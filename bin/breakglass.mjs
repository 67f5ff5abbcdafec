#!/usr/bin/env node
// `breakglass` CLI entry: runs the prebuilt CLI in dist/cli (built by `npm install` through the
// `prepare` script, or `npm run build:cli`), so no TypeScript is compiled at run time.
const BUILT = new URL('../dist/cli/main.mjs', import.meta.url);

let cli;
try {
  cli = await import(BUILT.href);
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli/main.mjs')) throw error;
  process.stderr.write(
    'error: the breakglass CLI is not built (dist/cli/main.mjs is missing).\n' +
      'hint: in the breakglass checkout run `npm install` (it builds the CLI) or `npm run build:cli`\n',
  );
  process.exit(2);
}
process.exitCode = await cli.main(process.argv.slice(2));
