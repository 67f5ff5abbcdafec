// Bundles the Electron main process and the preloads with esbuild into electron/main/dist as
// CommonJS (what Electron loads). Native and optional modules stay external (keytar, pkcs11js)
// and `electron` is provided by the runtime. Run: npm run build:electron
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'electron', 'main', 'dist');

/** Electron 40 ships Node 24 and Chromium 144. */
const NODE_TARGET = 'node22';
const CHROME_TARGET = 'chrome130';

export const ENTRIES = {
  main: { entry: 'electron/main/entry.ts', platform: 'node', target: NODE_TARGET },
  preload: { entry: 'electron/preload/preload.ts', platform: 'node', target: CHROME_TARGET },
  'pin-preload': { entry: 'electron/preload/pin-preload.ts', platform: 'node', target: CHROME_TARGET },
};

export async function buildElectron({ minify = false } = {}) {
  const results = [];
  for (const [name, spec] of Object.entries(ENTRIES)) {
    const result = await build({
      entryPoints: [join(root, spec.entry)],
      outfile: join(outdir, `${name}.cjs`),
      bundle: true,
      format: 'cjs',
      platform: spec.platform,
      target: spec.target,
      external: ['electron', 'keytar', 'pkcs11js'],
      sourcemap: true,
      minify,
      legalComments: 'none',
      logLevel: 'warning',
      metafile: true,
    });
    results.push({ name, outfile: join(outdir, `${name}.cjs`), inputs: Object.keys(result.metafile.inputs) });
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results = await buildElectron({ minify: process.argv.includes('--minify') });
  for (const r of results) console.log(`built ${r.outfile} (${r.inputs.length} modules)`);
}
