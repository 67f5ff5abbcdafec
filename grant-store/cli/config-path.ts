import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where config.yaml lives: $XDG_CONFIG_HOME/breakglass/config.yaml, else ~/.config/breakglass.
 * Apart from config-file.ts (YAML and its schema) so that a run can tell whether there is a
 * file to read before loading what reads it (a gate's `check` usually has none).
 */
export function configPath(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'breakglass', 'config.yaml');
}
