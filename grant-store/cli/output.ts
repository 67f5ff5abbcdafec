import { once } from 'node:events';
import { displayScope, displayText } from '../../shared/domain/display-text';
import type { AppError } from '../../shared/errors';

/** Where a verb writes: results on stdout, diagnostics on stderr (tests pass their own). */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /**
   * Resolves once stdout can take more without queueing in memory (a long export writes a page,
   * then waits here). Absent: stdout never backs up (tests collect it in a string).
   */
  stdoutReady?(): Promise<void>;
}

export const processIO: CliIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdoutReady: () => (process.stdout.writableNeedDrain ? once(process.stdout, 'drain').then(() => undefined) : Promise.resolve()),
};

/** `breakglass ... | head` closes the pipe early: that is the reader's choice, not a failure. */
let brokenPipeHandled = false;
export function exitQuietlyOnBrokenPipe(): void {
  if (brokenPipeHandled) return;
  brokenPipeHandled = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

/** Left-aligned columns separated by two spaces, like `kubectl get`. Empty rows print a note. */
export function formatTable(headers: string[], rows: string[][], empty = 'nothing to show'): string {
  if (rows.length === 0) return `${empty}\n`;
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return `${[tableLine(headers, widths), ...rows.map((r) => tableLine(r, widths))].join('\n')}\n`;
}

function tableLine(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
    .join('  ')
    .trimEnd();
}

/**
 * formatTable for rows that arrive in batches (a long listing printed as it is fetched): the
 * header and the first batch are laid out as formatTable lays them out; a column only widens
 * for a later value longer than any before it. A single batch gives formatTable's text.
 */
export function streamTable(headers: string[]): { rows(rows: readonly string[][]): string; end(empty?: string): string } {
  let widths: number[] | undefined;
  return {
    rows(rows) {
      if (rows.length === 0) return '';
      const head = widths === undefined;
      widths = headers.map((h, i) => Math.max(widths?.[i] ?? h.length, ...rows.map((r) => (r[i] ?? '').length)));
      const lines = rows.map((r) => tableLine(r, widths!));
      if (head) lines.unshift(tableLine(headers, widths));
      return `${lines.join('\n')}\n`;
    },
    end: (empty = 'nothing to show') => (widths === undefined ? `${empty}\n` : ''),
  };
}

/**
 * `{ "<key>": [ … ] }` for items that arrive in batches: the concatenated pieces are exactly
 * `JSON.stringify({ [key]: items }, null, 2)` and a newline (what `--json` prints for a whole
 * list), each item indented as it sits in that document.
 */
export function streamJsonList(key: string): { items(items: readonly unknown[]): string; end(): string } {
  let count = 0;
  const open = `{\n  ${JSON.stringify(key)}: [\n`;
  return {
    items: (items) => items.map((item) => `${count++ === 0 ? open : ',\n'}${JSON.stringify(item, null, 2).replace(/^/gm, '    ')}`).join(''),
    end: () => (count === 0 ? `{\n  ${JSON.stringify(key)}: []\n}\n` : '\n  ]\n}\n'),
  };
}

/**
 * `repo=payments-api,branch=main`: the same syntax the flags take, for a person to read: any
 * invisible or control character in a value shows as a <U+XXXX> marker.
 */
export function formatScope(scope: Record<string, string>): string {
  return displayScope(scope);
}

/** One field of free text on one line, controls and bidi shown as <U+XXXX> markers (newlines too). */
export function oneLine(text: string): string {
  return displayText(text, 'line');
}

/**
 * Free text that may span lines, shown under a label: controls and bidi as <U+XXXX> markers, and
 * every further line indented by `indent` spaces, so a reason cannot start a line that looks
 * like one of the tool's own fields ("  approvals: 2/2 ...").
 */
export function textBlock(text: string, indent: number): string {
  return displayText(text, 'multiline').replace(/\n/g, `\n${' '.repeat(indent)}`);
}

/** Quote a value for a copy-pasteable shell command line. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Human rendering of an AppError: the message, one line per field, and a hint where one helps. */
export function formatError(error: AppError): string {
  const lines = [`error: ${error.message}`];
  // parseOrThrow already lists the fields in the message; add the ones it did not.
  for (const f of error.fieldErrors ?? []) {
    if (!error.message.includes(f.message)) lines.push(`  ${f.path || '(input)'}: ${f.message}`);
  }
  if (error.currentState) lines.push(`  current state: ${error.currentState}`);
  const hint = HINTS[error.code];
  if (hint) lines.push(`hint: ${hint}`);
  return `${lines.join('\n')}\n`;
}

const HINTS: Partial<Record<AppError['code'], string>> = {
  unauthenticated: 'pass a valid token with --token or BREAKGLASS_TOKEN (an admin creates one with `breakglass admin token create`)',
  store_unreachable: 'start a store with `breakglass serve` or point --store / BREAKGLASS_STORE at one',
};
