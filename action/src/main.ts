// Entry of the bundled action (action/dist/index.js): the runner starts it with `node`, inputs
// and files in the environment (action/src/runner.ts).
import { runAction } from './run-action';

process.exitCode = await runAction({ env: process.env, write: (text) => process.stdout.write(text) });
