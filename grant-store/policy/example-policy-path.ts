import { fileURLToPath } from 'node:url';

/** The commented example policy shipped with the package (written by `breakglass admin init`). */
export const EXAMPLE_POLICY_PATH = fileURLToPath(new URL('./example-policy.yaml', import.meta.url));
