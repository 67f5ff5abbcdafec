import { parseArgs } from 'node:util';
import { BROWSER_HOST_DEFAULT_PORT } from '../../shared/ipc/contract';
import { defaultConsoleDataDir, startConsoleBrowserHost } from './start';

const USAGE = `Usage: node --import tsx electron/browser-host/cli.ts [--port N] [--data-dir DIR] [--renderer-dir DIR]

Serves the approver console to a local browser on 127.0.0.1 (default port ${BROWSER_HOST_DEFAULT_PORT}; 0 = random).
Open the printed URL: it hands the browser a one-time secret in the #token fragment.

Example:
  node --import tsx electron/browser-host/cli.ts --port 7420 --data-dir ~/.local/share/breakglass-console`;

/** Run the browser host until SIGINT/SIGTERM. Returns the exit code. */
export async function runBrowserHostCli(argv: string[]): Promise<number> {
  let values: { port?: string; 'data-dir'?: string; 'renderer-dir'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, 'renderer-dir': { type: 'string' }, help: { type: 'boolean' } },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = values.port === undefined ? BROWSER_HOST_DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`--port must be 0-65535, got ${values.port}\n`);
    return 2;
  }
  const host = await startConsoleBrowserHost({
    dataDir: values['data-dir'] ?? process.env.BREAKGLASS_CONSOLE_DATA_DIR ?? defaultConsoleDataDir(),
    storeUrl: process.env.BREAKGLASS_STORE || undefined,
    port,
    rendererDir: values['renderer-dir'],
    onNotification: (n) => process.stdout.write(`[notification] ${n.title}: ${n.body}\n`),
  });
  process.stdout.write(`Breakglass console (browser host) listening on ${host.url}\nOpen: ${host.openUrl}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await host.close();
  return 0;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runBrowserHostCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
