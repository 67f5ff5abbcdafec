// Compiles the `breakglass` CLI (and the grant store it serves) with esbuild into dist/cli, so no
// TypeScript is compiled when a gate runs `breakglass check`. `npm install` runs it (the
// `prepare` script); so does the test runner before the suites that spawn the CLI. Run by hand:
// npm run build:cli
//
// ESM with code splitting (the check fast path apart: one CommonJS file, FAST_CHECK_ENTRY):
// every verb is a dynamic import (grant-store/cli/command-table.ts), so each lands in its own
// chunk and a command line loads only its verb (`check`: the check routes, not the contract
// table, which StoreClient imports at its first call(); config-file.ts and its YAML parser only
// when there is a config.yaml). commander and zod are on every path
// and bundled (one file read instead of hundreds); every other package stays an
// import from node_modules: native modules (better-sqlite3, keytar, pkcs11js), packages that
// find files next to themselves at run time (pino's worker transports), and heavy ones only
// `serve` or the signer need. Minified, because a gate's cold start is mostly V8 parsing the
// chunks it loads; the source maps sit next to them (`node --enable-source-maps` for readable
// stack traces; `--no-minify` to build without).
import { readFile, rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { zodEnglishOnly } from './zod-english-only.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
export const CLI_OUTDIR = fileURLToPath(new URL('../dist/cli/', import.meta.url));
export const CLI_ENTRY = 'grant-store/cli/main.ts';

/** Packages bundled into the CLI; every other bare import stays external. */
const BUNDLED_PACKAGES = ['commander', 'zod'];

/**
 * Files allowed to locate something with `import.meta.url`. After bundling, import.meta.url is
 * the chunk's URL in dist/cli, so each such file is rewritten to point from dist/cli back to
 * what it meant; any other use fails the build rather than break at run time.
 */
const IMPORT_META_FILES = {
  'grant-store/policy/example-policy-path.ts': (outdir) =>
    `import { fileURLToPath } from 'node:url';\nexport const EXAMPLE_POLICY_PATH = fileURLToPath(new URL(${JSON.stringify(relative(outdir, `${root}grant-store/policy/example-policy.yaml`))}, import.meta.url));\n`,
  // package.json is two levels up from both grant-store/cli and dist/cli: the same URL works.
  'grant-store/cli/main.ts': null,
  // Walks up from import.meta.url to the package.json named "breakglass": right from either place.
  'grant-store/http/routes/request-page-routes.ts': null,
  // The worker thread is its own entry point (WORKER_ENTRIES), built next to the chunks.
  'shared/node/ledger/decision-verify-worker-url.ts': () => "export const DECISION_VERIFY_WORKER_URL = new URL('./decision-verify-worker.mjs', import.meta.url);\n",
  'shared/node/ledger/export-page-worker-url.ts': () => "export const EXPORT_PAGE_WORKER_URL = new URL('./export-page-worker.mjs', import.meta.url);\n",
  'grant-store/storage/sqlite/wal-checkpoint-worker-url.ts': () => "export const WAL_CHECKPOINT_WORKER_URL = new URL('./wal-checkpoint-worker.mjs', import.meta.url);\n",
};

/** Worker threads the CLI starts: each is an entry point of its own in dist/cli. */
const WORKER_ENTRIES = { 'decision-verify-worker': 'shared/node/ledger/decision-verify-worker.ts', 'export-page-worker': 'shared/node/ledger/export-page-worker.ts', 'wal-checkpoint-worker': 'grant-store/storage/sqlite/wal-checkpoint-worker.ts' };

/**
 * `breakglass check`'s fast path (grant-store/cli/fast-check.ts): one file of its own, built
 * apart without code splitting, so a gate's check reads one small file (no commander, no zod:
 * the build fails if either gets in). CommonJS, as bin/breakglass.cjs is: Node 20 sets up its
 * ES module loader only for an ES module, and a check has no use for it (~4 ms of CPU of a
 * gate's start, measured with perf stat). What it imports only when it cannot answer alone is
 * not bundled but loaded with import() from the main build's entry points, by their fixed names.
 */
export const FAST_CHECK_ENTRY = 'grant-store/cli/fast-check.ts';
const FAST_CHECK_EXTERNALS = { './main': './main.mjs', './commands/check-answer': './check-answer.mjs' };
const FAST_CHECK_FORBIDDEN = ['zod', 'commander'];

const fastCheckLayout = {
  name: 'breakglass-fast-check-layout',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      const name = packageName(args.path);
      if (FAST_CHECK_FORBIDDEN.includes(name)) {
        return { errors: [{ text: `${relative(root, args.importer)} imports ${name}, which the check fast path must not load (see FAST_CHECK_ENTRY in build/build-cli.mjs)` }] };
      }
      return { path: args.path, external: true };
    });
    b.onResolve({ filter: /^\.\// }, (args) =>
      relative(root, args.importer) === FAST_CHECK_ENTRY && args.path in FAST_CHECK_EXTERNALS ? { path: FAST_CHECK_EXTERNALS[args.path], external: true } : undefined,
    );
  },
};

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const layout = (outdir) => ({
  name: 'breakglass-cli-layout',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      return BUNDLED_PACKAGES.includes(packageName(args.path)) ? undefined : { path: args.path, external: true };
    });
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const rel = relative(root, args.path);
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      if (!(rel in IMPORT_META_FILES)) {
        return { errors: [{ text: `${rel} uses import.meta.url, which points into dist/cli once bundled: add it to IMPORT_META_FILES in build/build-cli.mjs` }] };
      }
      const rewrite = IMPORT_META_FILES[rel];
      return rewrite ? { contents: rewrite(outdir), loader: 'ts' } : undefined;
    });
  },
});

/** Build dist/cli/main.mjs and its chunks. Returns the esbuild metafile. */
export async function buildCli({ outdir = CLI_OUTDIR, minify = true } = {}) {
  const { build } = await import('esbuild');
  // Chunk names carry content hashes: clear the old ones rather than let them pile up.
  await rm(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    // check-answer: what the fast check imports when an answer is not plainly valid.
    entryPoints: { main: CLI_ENTRY, 'check-answer': 'grant-store/cli/commands/check-answer.ts', ...WORKER_ENTRIES },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // commander is CommonJS: inside an ES module its require() calls need a real require.
    banner: { js: "import { createRequire as __bgCreateRequire } from 'node:module'; const require = __bgCreateRequire(import.meta.url);" },
    plugins: [zodEnglishOnly, layout(outdir)],
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    minify,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  const fast = await build({
    absWorkingDir: root,
    entryPoints: { 'fast-check': FAST_CHECK_ENTRY },
    outdir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    plugins: [fastCheckLayout, layout(outdir)],
    // import.meta is empty in CommonJS: a file on the fast path that uses it fails the build.
    logOverride: { 'empty-import-meta': 'error' },
    sourcemap: 'linked',
    minify,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  return { inputs: { ...result.metafile.inputs, ...fast.metafile.inputs }, outputs: { ...result.metafile.outputs, ...fast.metafile.outputs } };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  let metafile;
  try {
    metafile = await buildCli({ minify: !process.argv.includes('--no-minify') });
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes("'esbuild'")) throw error;
    // An install without devDependencies (npm ci --omit=dev) has no esbuild: say so, and let the
    // install finish; bin/breakglass.cjs explains what to do when it finds no build.
    console.warn('build-cli: esbuild is not installed (devDependencies omitted?), so the breakglass CLI was not built; run `npm install` then `npm run build:cli`');
    process.exit(0);
  }
  const outputs = Object.keys(metafile.outputs).filter((f) => /\.[cm]js$/.test(f));
  console.log(`built ${relative(process.cwd(), CLI_OUTDIR) || '.'} (${outputs.length} files) in ${Math.round(performance.now() - started)} ms`);
}
