import { join } from 'node:path';

/** The data directory layout (BRIEF: shared names). */
export function dataDirPaths(dataDir: string): { policyPath: string; logKeyPath: string; databasePath: string } {
  return {
    policyPath: join(dataDir, 'policy.yaml'),
    logKeyPath: join(dataDir, 'log-key.pem'),
    databasePath: join(dataDir, 'breakglass.db'),
  };
}
