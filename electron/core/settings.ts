import { join } from 'node:path';
import { DEFAULT_SETTINGS, SettingsSchema, type Settings } from '../../shared/ipc/contract';
import { parseOrThrow } from '../../shared/errors';
import { readTextIfExists, writeJsonAtomic } from './files';

export const SETTINGS_FILE = 'settings.json';

/**
 * Non-secret settings as JSON in the console data dir (secrets live in the keychain only).
 * A missing file means defaults; a broken one is reported, not silently replaced.
 */
export class SettingsStore {
  private cached: Settings | undefined;

  constructor(private readonly dataDir: string) {}

  get path(): string {
    return join(this.dataDir, SETTINGS_FILE);
  }

  async get(): Promise<Settings> {
    if (this.cached) return this.cached;
    const text = await readTextIfExists(this.path);
    this.cached = text === undefined ? structuredClone(DEFAULT_SETTINGS) : parseOrThrow(SettingsSchema, { ...DEFAULT_SETTINGS, ...JSON.parse(text) }, this.path);
    return this.cached;
  }

  async update(patch: Partial<Settings>): Promise<Settings> {
    const current = await this.get();
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const next = parseOrThrow(SettingsSchema, { ...current, ...defined }, 'settings');
    await writeJsonAtomic(this.path, next);
    this.cached = next;
    return next;
  }
}
