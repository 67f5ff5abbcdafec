#!/usr/bin/env node
// `breakglass` CLI entry: registers the TypeScript loader, then runs grant-store/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../grant-store/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
