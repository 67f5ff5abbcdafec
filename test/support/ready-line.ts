import type { ChildProcess } from 'node:child_process';

export interface ReadyLineOptions {
  /** Names the child in errors ("serve", "instance b", "the e2e stack"). */
  what: string;
  timeoutMs: number;
  /** Extra test on a `{`-line (e.g. it must carry "url"); any `{`-line by default. */
  accept?: (line: string) => boolean;
  /** Appended to the timeout / early-exit errors: the child's output so far, or where its log is. */
  diagnostics?: () => string;
}

/**
 * Waits for a child that announces readiness with one JSON line on stdout (`breakglass serve
 * --json`, the e2e stack) and resolves with that line. Rejects if the child exits first or stays
 * silent past `timeoutMs`; the caller must still stop the child in that case.
 */
export function waitForReadyLine(child: ChildProcess, options: ReadyLineOptions): Promise<string> {
  const { what, timeoutMs, accept = () => true, diagnostics = () => '' } = options;
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{') && accept(l));
      if (line) {
        settle();
        resolve(line);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      settle();
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready${diagnostics()}`));
    };
    const timer = setTimeout(() => {
      settle();
      reject(new Error(`${what} did not start within ${timeoutMs} ms${diagnostics()}`));
    }, timeoutMs);
    function settle(): void {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    }
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}
