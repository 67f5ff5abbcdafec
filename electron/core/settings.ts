import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SETTINGS, SettingsSchema, type Settings } from '../../shared/ipc/contract';
import { parseOrThrow } from '../../shared/errors';

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
    let text: string | undefined;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
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

/** Write-then-rename so a crash never leaves a half-written file. */
export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  // Unique per call: concurrent writers must never share (and interleave in) one temp file.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  await rename(tmp, path);
}
