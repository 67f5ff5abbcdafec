// Layering rules (see README "Architecture"): a wrong import fails `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = ['node:*', 'fs', 'path', 'crypto', 'os', 'child_process', 'http', 'https', 'net', 'tls', 'url', 'util', 'stream', 'events', 'worker_threads', 'zlib', 'buffer'];

const GRANT_STORE_FORBIDDEN = ['electron', '**/electron/**', '**/renderer/**'];
const GRANT_STORE_MESSAGE = 'Bad layering: the grant store never imports the console.';
const STORAGE_MESSAGE =
  'Bad layering: grant-store/storage/ may import only shared/, grant-store/logger and identity/stored-session; ledger/ and the services build on storage/, never the other way round (put what both need in storage/).';

const restrict = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group: [group], message })) }],
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'renderer/dist/**', 'request-page/dist/**', 'test-results/**', 'playwright-report/**', '**/*.cjs', 'electron/main/dist/**', 'action/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports (STYLE.md).' }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['eslint.config.js', 'renderer/vite.config.ts', 'request-page/vite.config.ts', 'test/e2e/playwright.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // shared/ runs everywhere: no Node, no Electron, no DOM-only code, no other layer.
    files: ['shared/**/*.ts'],
    ignores: ['shared/node/**'],
    rules: restrict([...NODE_BUILTINS, 'electron', '**/grant-store/**', '**/electron/**', '**/renderer/**', '**/node/**', '@sigstore/*', 'pg', 'better-sqlite3', 'fastify'], 'Bad layering: shared/ is pure TypeScript (no node:, electron, DOM or other layers). Node-only shared code goes in shared/node/.'),
  },
  {
    // shared/node/: Node-only code used by the store, the CLI and the console main process.
    files: ['shared/node/**/*.ts'],
    rules: restrict(['electron', '**/grant-store/**', '**/electron/**', '**/renderer/**'], 'Bad layering: shared/node/ may use Node but not the app layers.'),
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    ignores: ['renderer/vite.config.ts'],
    rules: restrict([...NODE_BUILTINS, 'electron', '**/electron/**', '**/grant-store/**', '**/shared/node/**', 'keytar', 'pkcs11js', '@sigstore/*'], 'Bad layering: the renderer is a sandboxed page; it talks to main only through window.breakglass (shared/ipc).'),
  },
  {
    // The request page is a web page served by the store: shared/ and the console's components, nothing of Node.
    files: ['request-page/**/*.ts', 'request-page/**/*.tsx'],
    ignores: ['request-page/vite.config.ts'],
    rules: restrict([...NODE_BUILTINS, 'electron', '**/electron/**', '**/grant-store/**', '**/shared/node/**', '**/renderer/bridge/**', 'keytar', 'pkcs11js', '@sigstore/*'], 'Bad layering: the request page is a web page; it talks to the store only over its HTTP API.'),
  },
  {
    // electron/core is plain Node so it runs in tests without Electron.
    files: ['electron/core/**/*.ts', 'electron/browser-host/**/*.ts'],
    rules: restrict(['electron', '**/renderer/**', '**/electron/main/**', '**/grant-store/**'], 'Bad layering: electron/core and the browser host must not import electron, the renderer, main glue or the grant store.'),
  },
  {
    files: ['electron/main/**/*.ts', 'electron/preload/**/*.ts'],
    rules: restrict(['**/renderer/**', '**/grant-store/**'], 'Bad layering: Electron glue does not import the renderer or the grant store.'),
  },
  {
    // The GitHub Action is bundled on its own and runs in a CI job: shared/ code only.
    files: ['action/**/*.ts'],
    rules: restrict(['electron', '**/electron/**', '**/renderer/**', '**/grant-store/**'], 'Bad layering: the Action runs in a CI job; it may use shared/ but not the store or the console.'),
  },
  {
    // Services log through the one pino logger (grant-store/logger.ts, electron/core/logger.ts);
    // only the CLI's output code prints to the user (through its io, not console either).
    files: ['grant-store/**/*.ts', 'electron/core/**/*.ts'],
    ignores: ['grant-store/cli/**'],
    rules: { 'no-console': 'error' },
  },
  {
    // No silent swallowing: a rejection or error handler (.catch(fn), the second argument of
    // .then(ok, fn), an emitter's .on/.once('error', fn)) takes the error (to log it with the
    // reason, or to ignore it under a one-line comment saying why) and is never empty. Empty
    // catch blocks are already refused by no-empty unless they hold such a comment.
    // test/unit/lint/silent-errors.test.ts holds each case.
    files: ['grant-store/**/*.ts', 'electron/core/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports (STYLE.md).' },
        {
          selector: "CallExpression[callee.property.name='catch'] > :matches(ArrowFunctionExpression, FunctionExpression)[params.length=0]",
          message: 'A .catch that ignores its error: take it and log it with the reason (logger), or name it (_why) under a one-line comment saying why ignoring is right.',
        },
        {
          selector: "CallExpression[callee.property.name='catch'] > :matches(ArrowFunctionExpression, FunctionExpression)[body.type='BlockStatement'][body.body.length=0]",
          message: 'An empty .catch callback swallows the error: log it with the reason, or say in a comment why ignoring is right.',
        },
        {
          selector: "CallExpression[callee.property.name='then'] > :matches(ArrowFunctionExpression, FunctionExpression)[params.length=0]:nth-child(2)",
          message: 'A .then(ok, onRejected) whose handler ignores its error: take it and log it with the reason (logger), or name it (_why) under a one-line comment saying why ignoring is right.',
        },
        {
          selector: "CallExpression[callee.property.name='then'] > :matches(ArrowFunctionExpression, FunctionExpression)[body.type='BlockStatement'][body.body.length=0]:nth-child(2)",
          message: 'An empty .then(ok, onRejected) handler swallows the error: log it with the reason, or say in a comment why ignoring is right.',
        },
        {
          selector: "CallExpression[callee.property.name=/^(on|once|addListener)$/][arguments.0.value='error'] > :matches(ArrowFunctionExpression, FunctionExpression)[params.length=0]",
          message: "An 'error' listener that ignores its error: take it and log it with the reason (logger), or name it (_why) under a one-line comment saying why ignoring is right.",
        },
        {
          selector: "CallExpression[callee.property.name=/^(on|once|addListener)$/][arguments.0.value='error'] > :matches(ArrowFunctionExpression, FunctionExpression)[body.type='BlockStatement'][body.body.length=0]",
          message: "An empty 'error' listener swallows the error: log it with the reason, or say in a comment why ignoring is right.",
        },
      ],
    },
  },
  {
    files: ['grant-store/**/*.ts'],
    rules: restrict(GRANT_STORE_FORBIDDEN, GRANT_STORE_MESSAGE),
  },
  // storage/ is the grant store's bottom layer: it may import shared/, the logger and the session
  // row type, nothing else of grant-store/ (ledger/ imports storage/, one way; what both need,
  // like the log tables' interface, lives in storage/). One block per depth because the same
  // relative path reaches grant-store/ from storage/*.ts and from storage/<backend>/*.ts.
  ...[
    { files: ['grant-store/storage/*.ts'], up: '\\.\\./' },
    { files: ['grant-store/storage/*/*.ts'], up: '\\.\\./\\.\\./' },
  ].map(({ files, up }) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...GRANT_STORE_FORBIDDEN.map((group) => ({ group: [group], message: GRANT_STORE_MESSAGE })),
            { regex: `^${up}(?!\\.\\./shared/|logger$|identity/stored-session$)`, message: STORAGE_MESSAGE },
          ],
        },
      ],
    },
  })),
);
