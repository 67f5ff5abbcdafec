import { codePointLabel } from './unicode-names';

/**
 * Output escaping for text shown to a person (the CLI's human output, the console): the input
 * rule (text-hygiene.ts) keeps new text clean, but records written before it, ledger entries
 * and whatever a future bug lets through must still not be able to move the cursor, clear a
 * line, reorder text or hide characters on an approver's screen. Every character the input
 * rule would refuse is shown as a visible `<U+XXXX>` marker instead:
 *
 * - `multiline` text keeps its newlines (U+000A); everything else that is a control, a bidi
 *   control or isolate, a lone surrogate, a noncharacter or a line/paragraph separator is
 *   replaced;
 * - `line` text also replaces newlines (one field, one line);
 * - `identifier` text (scope values, ids) also replaces whitespace (a space included) and
 *   every zero-width, format or default-ignorable character.
 *
 * Clean text comes back unchanged (and fast: the common case is one regex test).
 */
export type DisplayKind = 'multiline' | 'line' | 'identifier';

const UNSAFE_ALWAYS = '\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\u2028\\u2029\\p{Cs}\\p{Noncharacter_Code_Point}';
const UNSAFE: Record<DisplayKind, RegExp> = {
  multiline: new RegExp(`[${UNSAFE_ALWAYS}]`, 'gu'),
  line: new RegExp(`[${UNSAFE_ALWAYS}\\n]`, 'gu'),
  identifier: new RegExp(`[${UNSAFE_ALWAYS}\\s\\p{Cf}\\p{Default_Ignorable_Code_Point}\\u2800]`, 'gu'),
};

/** `text` with every unsafe character replaced by a visible `<U+XXXX>` marker. */
export function displayText(text: string, kind: DisplayKind = 'line'): string {
  const pattern = UNSAFE[kind];
  pattern.lastIndex = 0;
  if (!pattern.test(text)) return text;
  pattern.lastIndex = 0;
  return text.replace(pattern, (ch) => `<${codePointLabel(ch.codePointAt(0)!)}>`);
}

/** Every string value of a scope shown safely, as `key=value` pairs joined by commas. */
export function displayScope(scope: Record<string, string>): string {
  return Object.entries(scope)
    .map(([key, value]) => `${displayText(key, 'identifier')}=${displayText(value, 'identifier')}`)
    .join(',');
}
