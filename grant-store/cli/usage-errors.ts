import type { CommanderError } from 'commander';
import type { AppErrorBody } from '../../shared/errors';

/**
 * A commander usage error (unknown option, missing required option, missing argument...) as the
 * one error body every boundary uses, so `--json` callers parse argument errors like any
 * other: code `invalid_input`, the message, and a field error naming the flag or argument.
 */
export function usageErrorBody(error: CommanderError): AppErrorBody {
  const message = error.message.replace(/^error:\s*/, '');
  // commander quotes what was wrong: '--gate <id>', '--frob', 'id', 'frobnicate'.
  const quoted = /'([^']+)'/.exec(message)?.[1];
  const path =
    error.code === 'commander.unknownCommand'
      ? 'command'
      : error.code === 'commander.excessArguments'
        ? '(arguments)'
        : (quoted?.split(/[\s,]/)[0] ?? '(arguments)');
  return { code: 'invalid_input', message, fieldErrors: [{ path, message }] };
}
