// electron-builder configuration for the approver console. `npm run dist` builds the renderer and
// the bundled main process, then packages: Linux AppImage + deb, macOS dmg (hardened runtime),
// Windows nsis. Validated against electron-builder's own JSON schema by
// test/unit/build/electron-builder-config.test.ts.
const path = require('node:path');

/** @type {import('electron-builder').Configuration} */
const config = {
  appId: 'dev.breakglass.console',
  productName: 'Breakglass',
  copyright: 'Copyright © Breakglass contributors. Apache-2.0.',
  directories: { output: 'dist/packages', buildResources: 'build' },
  // The main process and preloads are bundled by esbuild (build/build-electron.mjs), so only the
  // bundles, the renderer build, the PIN page, the icons and the native optional modules ship.
  files: [
    'package.json',
    'electron/main/main.cjs',
    'electron/main/dist/*.cjs',
    'electron/pin-prompt/**',
    'renderer/dist/**',
    'build/icons/tray/**',
    'build/icons/256x256.png',
    '!**/*.map',
    '!**/*.ts',
    '!node_modules/{better-sqlite3,pg,pg-*,fastify,@fastify,prom-client,commander,yaml,zod,tsx,esbuild,@sigstore,sigstore,@playwright,playwright*,vite,react,react-dom,recharts,@tanstack,zustand,autocannon}/**',
  ],
  extraMetadata: { main: 'electron/main/main.cjs' },
  asar: true,
  // Native modules cannot be loaded from inside the asar.
  asarUnpack: ['**/*.node'],
  npmRebuild: true,
  // Fuses (RunAsNode off, NODE_OPTIONS off, --inspect off, OnlyLoadAppFromAsar on, ASAR integrity on)
  // are flipped on the packaged binary by this hook.
  afterPack: path.join(__dirname, 'after-pack.cjs'),
  protocols: [],
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Security',
    icon: 'build/icons',
    executableName: 'breakglass-console',
    synopsis: 'Approve break-glass bypasses of policy gates',
    description: 'Desktop approver console for Breakglass: tray notifications, hardware-key signing, offline ledger.',
    maintainer: 'Breakglass maintainers <security@breakglass.dev>',
  },
  deb: {
    // keytar talks to the Secret Service through libsecret.
    depends: ['libsecret-1-0', 'libnotify4', 'libxtst6', 'libnss3'],
  },
  appImage: { artifactName: '${productName}-${version}-${arch}.${ext}' },
  mac: {
    target: ['dmg'],
    category: 'public.app-category.developer-tools',
    icon: 'build/icons/icon.png',
    hardenedRuntime: true,
    gatekeeperAssess: false,
    entitlements: 'build/entitlements.mac.plist',
    entitlementsInherit: 'build/entitlements.mac.plist',
  },
  dmg: { artifactName: '${productName}-${version}-${arch}.${ext}' },
  win: {
    target: ['nsis'],
    icon: 'build/icons/256x256.png',
  },
  nsis: {
    oneClick: false,
    perMachine: false,
    allowToChangeInstallationDirectory: true,
    artifactName: '${productName}-Setup-${version}.${ext}',
  },
};

module.exports = config;
