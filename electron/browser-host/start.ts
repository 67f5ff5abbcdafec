import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConsoleClock } from '../core/clock';
import type { CredentialVault } from '../core/vault/credential-vault';
import { composeConsole, type ConsoleCore, type ConsoleOptions } from '../core/compose-console';
import type { ConsoleLogger } from '../core/logger';
import { EventHub } from '../core/event-hub';
import type { ConsoleNotification } from '../core/notifier';
import type { SignerProvider } from '../core/signer-provider';
import { BrowserPinPromptBroker } from './pin-prompt-broker';
import { startBrowserHost, type RunningBrowserHost } from './server';

/** renderer/dist next to this repo (the default for `npm start` and the e2e tests). */
export const DEFAULT_RENDERER_DIR = fileURLToPath(new URL('../../renderer/dist/', import.meta.url));

export interface ConsoleBrowserHostOptions {
  /** Console data dir (profile, settings, ledger mirror). Use a temp dir in tests. */
  dataDir: string;
  /** 0 = random port (tests); the CLI defaults to 7420. */
  port?: number;
  rendererDir?: string;
  token?: string;
  /** Defaults to the OS keychain via keytar (CredentialVault.open()). */
  openVault?: () => Promise<CredentialVault>;
  signers?: SignerProvider;
  /** Called for each notification the notifier rules let through (the browser host has no native ones). */
  onNotification?: (notification: ConsoleNotification) => void;
  sse?: ConsoleOptions['sse'];
  /** The store this console is launched for: the setup screen pre-fills it. */
  storeUrl?: string;
  /** Key files offered as a software-file signer while no OS keychain is usable (`npm start`'s demo keys). */
  softwareKeyFiles?: ConsoleOptions['softwareKeyFiles'];
  /** This machine's TPM (default: $TPM2TOOLS_TCTI, else /dev/tpmrm0); tests pass a software TPM's. */
  tpm?: ConsoleOptions['tpm'];
  /** Defaults to the console logger on stderr. */
  logger?: ConsoleLogger;
  /** Defaults to the system clock; the e2e stack passes one its tests can move forward. */
  clock?: ConsoleClock;
  /** Reviews per page (ConsoleOptions.reviewPageSize); the e2e stack passes a small one. */
  reviewPageSize?: number;
  /** Requests per page (ConsoleOptions.requestPageSize); the e2e stack passes a small one. */
  requestPageSize?: number;
}

export interface RunningConsoleBrowserHost extends RunningBrowserHost {
  service: ConsoleCore;
  /** Every notification fired since start (newest last): the e2e tests assert on these. */
  notifications: ConsoleNotification[];
}

/**
 * The console core behind the browser host, wired the same way Electron's main wires it, with PIN
 * prompts answered through the host's static /pin-prompt page. Used by `npm start` (fallback),
 * electron/browser-host/cli.ts and the Playwright tests.
 */
export async function startConsoleBrowserHost(options: ConsoleBrowserHostOptions): Promise<RunningConsoleBrowserHost> {
  const events = new EventHub();
  const pinBroker = new BrowserPinPromptBroker(events.emit);
  const notifications: ConsoleNotification[] = [];
  const service = composeConsole({
    dataDir: options.dataDir,
    host: 'browser',
    pinPrompt: pinBroker,
    events,
    openVault: options.openVault,
    signers: options.signers,
    sse: options.sse,
    storeUrl: options.storeUrl,
    softwareKeyFiles: options.softwareKeyFiles,
    tpm: options.tpm,
    logger: options.logger,
    clock: options.clock,
    reviewPageSize: options.reviewPageSize,
    requestPageSize: options.requestPageSize,
    notify: (notification) => {
      notifications.push(notification);
      options.onNotification?.(notification);
    },
  });
  await service.start();
  const host = await startBrowserHost({
    backend: service,
    rendererDir: options.rendererDir ?? DEFAULT_RENDERER_DIR,
    port: options.port,
    token: options.token,
    pinBroker,
  });
  return {
    ...host,
    service,
    notifications,
    async close() {
      await host.close();
      await service.stop();
    },
  };
}

export function defaultConsoleDataDir(): string {
  const base = process.env.XDG_DATA_HOME ?? join(process.env.HOME ?? '.', '.local', 'share');
  return join(base, 'breakglass-console');
}
