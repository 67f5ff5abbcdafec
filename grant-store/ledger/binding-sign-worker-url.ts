/**
 * The entry-binding signer's worker thread (binding-signer.ts). The built CLI runs its compiled
 * copy (build/build-cli.mjs rewrites this file). From source (tests, `tsx`) the worker is
 * TypeScript, and a worker thread does not get tsx's loader from `--import tsx`: a one-line
 * bootstrap registers it there first.
 */
const source = new URL('./binding-sign-worker.ts', import.meta.url);
const bootstrap = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(source.href)});`;
export const BINDING_SIGN_WORKER_URL = new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
