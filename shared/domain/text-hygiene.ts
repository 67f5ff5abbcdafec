import { z } from 'zod';
import { describeCodePoint } from './unicode-names';

/**
 * One rule for every piece of free text that crosses a boundary (reasons, comments, replies,
 * review notes, key labels, scope values, policy descriptions): text an approver later reads
 * in a terminal or the console must show what it says. So, after Unicode NFC:
 *
 * - everywhere: C0 and C1 controls (NUL, BEL, ESC, CR, ...), DEL, bidi controls and isolates
 *   (U+202A-U+202E, U+2066-U+2069, LRM, RLM, ALM), lone surrogates, noncharacters and the
 *   line/paragraph separators are refused: they rewrite or reorder what a terminal shows,
 *   and PostgreSQL's jsonb cannot even store NUL or a lone surrogate;
 * - `long` text (reason, comment, reply, note) may contain newlines (U+000A only);
 * - `line` text (a key label) is one line;
 * - `identifier` text (scope values) also refuses whitespace, zero-width and every other
 *   format or default-ignorable character: two values that look the same must be the same;
 * - minimum lengths count visible characters, so 25 zero-width spaces are not a reason.
 *
 * The error names the code point: "U+202E (RIGHT-TO-LEFT OVERRIDE) is not allowed (character 12)";
 * parseOrThrow puts the field path in front of it.
 */
export type TextKind = 'long' | 'line' | 'identifier';

/** Bidi formatting controls: embeddings, overrides, isolates and the directional marks. */
const BIDI_CONTROLS = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
/** Refused whatever the kind (newline is decided per kind): controls, separators, surrogates, noncharacters. */
const ALWAYS = `\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f\\u2028\\u2029\\p{Cs}\\p{Noncharacter_Code_Point}${BIDI_CONTROLS}`;
/** Refused in identifiers on top of the above: anything invisible or spacing. */
const INVISIBLE_OR_SPACE = '\\s\\p{Cf}\\p{Default_Ignorable_Code_Point}\\u2800';
const REFUSED: Record<TextKind, RegExp> = {
  long: new RegExp(`[${ALWAYS}]`, 'u'),
  line: new RegExp(`[${ALWAYS}\\n]`, 'u'),
  identifier: new RegExp(`[${ALWAYS}${INVISIBLE_OR_SPACE}]`, 'u'),
};
const ALWAYS_REFUSED = new RegExp(`[${ALWAYS}\\n]`, 'u');
/** Not counted as visible: spacing, controls, formatting, combining marks, fillers. */
const INVISIBLE = /[\s\p{Cc}\p{Cf}\p{Cs}\p{Mn}\p{Me}\p{Default_Ignorable_Code_Point}\u2800]/u;

/**
 * Why `value` breaks the text rule for `kind` (naming the first offending code point and its
 * 1-based position in code points), or undefined when it is clean. `value` should be NFC already.
 */
export function textIssue(value: string, kind: TextKind): string | undefined {
  const found = REFUSED[kind].exec(value);
  if (!found) return undefined;
  const ch = found[0];
  const position = [...value.slice(0, found.index)].length + 1;
  const where = kind === 'identifier' && !ALWAYS_REFUSED.test(ch) ? ' in an identifier or scope value' : '';
  return `${describeCodePoint(ch.codePointAt(0)!)} is not allowed${where} (character ${position})`;
}

/** Characters a reader actually sees: no whitespace, controls, format characters, combining marks or fillers. */
export function visibleLength(value: string): number {
  let count = 0;
  for (const ch of value) if (!INVISIBLE.test(ch)) count++;
  return count;
}

export interface TextFieldOptions {
  kind: TextKind;
  /** Longest value, in UTF-16 code units after trimming and NFC. */
  max: number;
  /** Fewest visible characters (see visibleLength). */
  min?: number;
  /** Message when there are fewer than `min` visible characters. */
  minMessage?: string;
  /** Trim surrounding whitespace first (default: true, except for identifiers). */
  trim?: boolean;
}

/**
 * A zod string that applies the text rule: trimmed (by default), NFC, at most `max` long,
 * clean for its kind, and at least `min` visible characters. Still a ZodString, so callers can
 * chain `.optional()`, `.default()` or a stricter `.min()`.
 */
export function textField(options: TextFieldOptions): z.ZodString {
  const trim = options.trim ?? options.kind !== 'identifier';
  const base = trim ? z.string().trim() : z.string();
  return base
    .normalize('NFC')
    .max(options.max)
    .superRefine((value, ctx) => {
      const issue = textIssue(value, options.kind);
      if (issue) {
        ctx.addIssue({ code: 'custom', message: issue });
        return;
      }
      if (options.min !== undefined && visibleLength(value) < options.min) {
        ctx.addIssue({ code: 'custom', message: options.minMessage ?? `needs at least ${options.min} visible characters` });
      }
    });
}

/**
 * The same rule for text that is signed as is (a decision statement's comment): it must
 * already be NFC, since normalizing it here would change the bytes the signature covers. The
 * signer normalizes before signing (shared/signing/decision-statement.ts).
 */
export function signedTextField(options: TextFieldOptions): z.ZodString {
  return z
    .string()
    .max(options.max)
    .superRefine((value, ctx) => {
      if (value !== value.normalize('NFC')) {
        ctx.addIssue({ code: 'custom', message: 'must be in Unicode NFC (normalize the text before signing it)' });
        return;
      }
      if ((options.trim ?? true) && value !== value.trim()) {
        ctx.addIssue({ code: 'custom', message: 'must not start or end with whitespace (trim the text before signing it)' });
        return;
      }
      const issue = textIssue(value, options.kind);
      if (issue) {
        ctx.addIssue({ code: 'custom', message: issue });
        return;
      }
      if (options.min !== undefined && visibleLength(value) < options.min) {
        ctx.addIssue({ code: 'custom', message: options.minMessage ?? `needs at least ${options.min} visible characters` });
      }
    });
}
