import * as electron from 'electron';
import { startConsoleApp } from './main';

// Bundled by build/build-electron.mjs to electron/main/dist/main.cjs (package.json "main" points at
// electron/main/main.cjs, which loads it).
startConsoleApp(electron).catch((error: unknown) => {
  console.error('breakglass console failed to start:', error);
  electron.app.exit(1);
});
