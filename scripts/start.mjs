#!/usr/bin/env node
// `npm start`: runs the product on the embedded default. Registers the TypeScript loader and
// hands over to scripts/demo/start-demo.ts (grant store on ./.breakglass-demo, seeded demo
// principals, usage printed; later also the console). Ctrl-C stops everything.
import { register } from 'tsx/esm/api';

register();
const { startDemo } = await import('./demo/start-demo.ts');
process.exitCode = await startDemo(process.argv.slice(2));
