import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { ESLint } from 'eslint';

/**
 * The lint rule against silently swallowed errors in grant-store/ and electron/core/
 * (eslint.config.js, "No silent swallowing"), run through ESLint with the repository's own
 * config on snippets placed at a path it covers: each swallowing shape is refused with its
 * message, each handled or explained one passes, and code elsewhere is not held to it.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

async function silentErrorMessages(code: string, file = 'grant-store/jobs/example.ts'): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport {};\n`, { filePath: join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax' || m.ruleId === 'no-empty').map((m) => m.message);
}

const PRELUDE = `declare const work: Promise<number>;
declare const socket: { on(event: string, fn: (...args: unknown[]) => void): void; once(event: string, fn: (...args: unknown[]) => void): void };
declare const logger: { debug(o: unknown, m: string): void };
`;

describe('lint: no silently swallowed errors in grant-store/ and electron/core/', () => {
  const refused: [string, string, RegExp][] = [
    ['.catch(() => undefined)', 'void work.catch(() => undefined);', /A \.catch that ignores its error/],
    ['an empty .catch callback', 'void work.catch((_e: unknown) => {});', /An empty \.catch callback/],
    ['.then(ok, () => undefined)', 'void work.then((n) => n + 1, () => undefined);', /A \.then\(ok, onRejected\) whose handler ignores its error/],
    ['.then(ok, () => 0) (swallowed into a value)', 'void work.then((n) => n, () => 0);', /A \.then\(ok, onRejected\) whose handler ignores its error/],
    ['.then(ok, function () {})', 'void work.then((n) => n, function () {});', /ignores its error/],
    ['an empty .then rejection handler', 'void work.then((n) => n, (_e: unknown) => {});', /An empty \.then\(ok, onRejected\) handler/],
    [".on('error', () => undefined)", "socket.on('error', () => undefined);", /An 'error' listener that ignores its error/],
    [".once('error', (_e) => {})", "socket.once('error', (_e) => {});", /An empty 'error' listener/],
  ];
  for (const [what, code, message] of refused) {
    test(`refuses ${what}`, async () => {
      const messages = await silentErrorMessages(PRELUDE + code);
      assert.ok(messages.some((m) => message.test(m)), `not refused: ${code}\n${messages.join('\n')}`);
    });
  }

  test('refuses the same in electron/core/', async () => {
    const messages = await silentErrorMessages(`${PRELUDE}void work.then((n) => n, () => undefined);`, 'electron/core/example.ts');
    assert.ok(messages.some((m) => /ignores its error/.test(m)), messages.join('\n'));
  });

  test('passes handlers that log the error or name it under a comment saying why', async () => {
    const code = `${PRELUDE}
void work.catch((error: unknown) => logger.debug({ err: error }, 'why it is fine'));
void work.then((n) => n, (error: unknown) => logger.debug({ err: error }, 'why it is fine'));
// The failure reaches the caller through \`work\`; this chain only waits for it.
void work.then(() => undefined, (_reportedToTheCaller: unknown) => undefined);
void work.then(() => undefined);
socket.on('error', (error) => logger.debug({ err: error }, 'why it is fine'));
socket.on('close', () => undefined);
`;
    assert.deepEqual(await silentErrorMessages(code), []);
  });

  test('code outside grant-store/ and electron/core/ is not held to it', async () => {
    assert.deepEqual(await silentErrorMessages(`${PRELUDE}void work.then((n) => n, () => undefined);`, 'scripts/example.ts'), []);
  });
});
