import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { configPath, expandPath, readConfig, selectContext, writeConfig } from '../../../../grant-store/cli/config-file';
import { AppError } from '../../../../shared/errors';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bg-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('CLI config file', () => {
  test('lives under XDG_CONFIG_HOME, else ~/.config', () => {
    assert.equal(configPath({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/a' }), '/x/cfg/breakglass/config.yaml');
    assert.equal(configPath({ HOME: '/home/a' }), '/home/a/.config/breakglass/config.yaml');
    assert.equal(expandPath('~/k.pem', { HOME: '/home/a' }, '/x'), '/home/a/k.pem');
    assert.equal(expandPath('k.pem', { HOME: '/home/a' }, '/x/cfg'), '/x/cfg/k.pem');
  });

  test('a missing file is an empty config; a written one reads back (mode 0600), with defaults', async () => {
    const path = join(dir, 'a', 'config.yaml');
    assert.deepEqual(readConfig(path), { config: { contexts: {} }, exists: false });
    await writeConfig(path, { currentContext: 'prod', contexts: { prod: { store: 'https://bg.example.com', auth: 'login', decisionKey: '~/bob.pem' }, ci: { store: 'http://127.0.0.1:7410', auth: 'token' } } });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.match(await readFile(path, 'utf8'), /^# Breakglass CLI configuration/);
    const { config } = readConfig(path);
    assert.equal(config.currentContext, 'prod');
    assert.deepEqual(config.contexts.ci, { store: 'http://127.0.0.1:7410', auth: 'token' });
    await writeFile(path, 'contexts:\n  dev:\n    store: http://127.0.0.1:7410\n');
    assert.deepEqual(readConfig(path).config.contexts.dev, { store: 'http://127.0.0.1:7410', auth: 'login' }, 'auth defaults to login');
  });

  test('errors name the file and the field (or line) and what is wrong', async () => {
    const path = join(dir, 'bad.yaml');
    const message = async (text: string) => {
      await writeFile(path, text);
      try {
        readConfig(path);
      } catch (error) {
        assert.ok(error instanceof AppError);
        return error.message;
      }
      return 'no error';
    };
    assert.match(await message('contexts:\n  prod:\n    store: ftp://x\n'), /bad\.yaml: contexts\.prod\.store: must be an http\(s\) URL/);
    assert.match(await message('contexts:\n  prod:\n    store: https://x\n    stor: https://y\n'), /contexts\.prod/);
    assert.match(await message('currentContext: prod\ncontexts: {}\n'), /currentContext "prod" is not one of the contexts \(none\)/);
    assert.match(await message('contexts: [\n'), /bad\.yaml:\d+:\d+: YAML syntax error/);
    assert.match(await message('contexts:\n  prod:\n    store: https://x\n    auth: password\n'), /contexts\.prod\.auth/);
  });

  test('the context in force: --use-context, then BREAKGLASS_CONTEXT, then currentContext; an unknown name lists the known ones', () => {
    const config = { currentContext: 'prod', contexts: { prod: { store: 'https://p', auth: 'login' as const }, dev: { store: 'http://127.0.0.1:7410', auth: 'login' as const } } };
    assert.equal(selectContext(config, undefined, {}, 'c.yaml')?.name, 'prod');
    assert.equal(selectContext(config, undefined, { BREAKGLASS_CONTEXT: 'dev' }, 'c.yaml')?.source, 'BREAKGLASS_CONTEXT');
    assert.equal(selectContext(config, 'prod', { BREAKGLASS_CONTEXT: 'dev' }, 'c.yaml')?.source, '--use-context');
    assert.equal(selectContext({ contexts: {} }, undefined, {}, 'c.yaml'), undefined);
    assert.throws(() => selectContext(config, 'stage', {}, 'c.yaml'), /invalid --use-context: no context "stage" in c\.yaml \(contexts: prod, dev\)/);
  });
});
