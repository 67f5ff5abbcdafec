// package.json "main": the bundled main process (npm run build:electron writes dist/main.cjs).
require('./dist/main.cjs');
