/**
 * The grant store bench/growth.ts measures, in its own process (so its peak RSS is the server's
 * alone): `startGrantStore` on a data dir, exactly as `breakglass serve` runs it. Prints one JSON
 * line {"url":...,"pid":...} when listening; stops on SIGTERM.
 *
 *   node --import tsx bench/growth-server.ts <data-dir> [database-url]
 */
import { startGrantStore } from '../grant-store/http/server';

const [dataDir, databaseUrl] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: growth-server.ts <data-dir> [database-url]');
const running = await startGrantStore({ dataDir, port: 0, ...(databaseUrl ? { databaseUrl } : {}) });
process.stdout.write(`${JSON.stringify({ url: running.url, pid: process.pid })}\n`);
process.once('SIGTERM', () => {
  void running.close().then(() => process.exit(0));
});
