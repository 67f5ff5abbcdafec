import { join } from 'node:path';

/** The data directory layout (BRIEF: shared names). */
export function dataDirPaths(dataDir: string): { policyPath: string; logKeyPath: string; logOriginPath: string; databasePath: string } {
  return {
    policyPath: join(dataDir, 'policy.yaml'),
    logKeyPath: join(dataDir, 'log-key.pem'),
    /** The log's origin, written by `admin init` (--origin, the public URL or the machine's name); absent in data dirs from before, which keep `breakglass.local/<id>`. */
    logOriginPath: join(dataDir, 'log-origin'),
    databasePath: join(dataDir, 'breakglass.db'),
  };
}
