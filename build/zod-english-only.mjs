// esbuild plugin shared by the CLI and Action builds: zod re-exports every message locale
// (`z.locales.*`, about half of its size); our bundles keep English, the locale zod configures
// itself with, and nothing in them picks another.
import { dirname, join } from 'node:path';

export const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /node_modules\/zod\//.test(args.importer)
        ? // A path relative to nothing, so the bundle's comments name no directory of this machine.
          { path: 'zod/v4/locales/index.js', namespace: 'zod-locales', pluginData: { dir: join(dirname(args.importer), dirname(args.path)) } }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';\n",
      resolveDir: args.pluginData.dir,
      loader: 'js',
    }));
  },
};
