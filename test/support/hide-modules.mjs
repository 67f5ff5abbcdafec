// `node --import ./test/support/hide-modules.mjs` with BREAKGLASS_HIDE_MODULES=keytar,pkcs11js
// makes those packages fail to resolve, as on a machine where the optional dependencies did
// not install. Used to test the "not installed" paths without touching node_modules.
import { register } from 'node:module';

register(new URL('./hide-modules-hooks.mjs', import.meta.url), { data: { hidden: (process.env.BREAKGLASS_HIDE_MODULES ?? '').split(',').filter(Boolean) } });
