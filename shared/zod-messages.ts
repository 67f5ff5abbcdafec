import type { z } from 'zod';

/**
 * Field error messages a person can act on. zod's English defaults name its own vocabulary
 * ("Invalid input", "Invalid option: expected one of \"a\"|\"b\"", "Too small: expected string to
 * have >=3 characters"); every boundary (HTTP 400s, CLI flags, IPC, policy files) reports field
 * errors through fieldErrorsFromZod, which passes each issue through here. Our schemas' own
 * messages ("the reason must be at least 20 characters: ...") are kept as written: only zod's
 * defaults are rewritten, recognised by their fixed English openings.
 */
const ZOD_DEFAULT = /^(Invalid |Too (small|big)|Expected )/;

/** Longest list of allowed values spelled out; past it the message gives the first ones and a count. */
const MAX_LISTED_VALUES = 12;

type Issue = z.core.$ZodIssue;

const show = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'bigint' ? value.toString() : JSON.stringify(value));

function oneOf(values: readonly unknown[]): string {
  const unique = [...new Set(values.map(show))];
  if (unique.length === 1) return `must be ${unique[0]}`;
  const listed = unique.length > MAX_LISTED_VALUES ? [...unique.slice(0, MAX_LISTED_VALUES), `… (${unique.length} values)`] : unique;
  return `must be one of: ${listed.join(', ')}`;
}

const ARTICLE: Record<string, string> = { array: 'a list', object: 'an object', integer: 'a whole number', int: 'a whole number', number: 'a number', string: 'text', boolean: 'true or false', date: 'a date' };

function units(origin: string, count: number | bigint): string {
  const n = Number(count);
  if (origin === 'string') return `${n} character${n === 1 ? '' : 's'}`;
  if (origin === 'array' || origin === 'set') return `${n} item${n === 1 ? '' : 's'}`;
  if (origin === 'file') return `${n} byte${n === 1 ? '' : 's'}`;
  return String(count);
}

/** The friendly message for a union: what each branch accepts, listed once. */
function unionMessage(issue: Extract<Issue, { code: 'invalid_union' }>): string {
  const values: unknown[] = [];
  const others: string[] = [];
  for (const branch of issue.errors) {
    // A branch fails at the value itself (path []) or inside it; only the former describes what is allowed.
    const own = branch.filter((i) => i.path.length === 0);
    if (own.length > 0 && own.every((i) => i.code === 'invalid_value')) {
      for (const i of own) values.push(...(i as Extract<Issue, { code: 'invalid_value' }>).values);
      continue;
    }
    const first = own[0] ?? branch[0];
    if (first) others.push(friendlyMessage(first));
  }
  const parts = [...new Set(others)];
  if (values.length > 0) parts.push(oneOf(values));
  if (parts.length === 0) return 'is not one of the accepted forms';
  return parts.join(', or ');
}

/** The message for one zod issue: zod's default rewritten, our own kept. */
export function friendlyMessage(issue: Issue): string {
  if (!ZOD_DEFAULT.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_value':
      return oneOf(issue.values);
    case 'invalid_union':
      return unionMessage(issue);
    case 'invalid_type': {
      const received = (issue as { received?: string }).received ?? /received (\w+)/.exec(issue.message)?.[1];
      if (received === 'undefined') return 'is required';
      const expected = ARTICLE[issue.expected] ?? issue.expected;
      if (received === 'NaN') return `must be ${ARTICLE.number}`;
      return received ? `must be ${expected} (got ${received === 'null' ? 'null' : `${/^[aeiou]/.test(received) ? 'an' : 'a'} ${received}`})` : `must be ${expected}`;
    }
    case 'too_small': {
      const n = issue.minimum;
      if (issue.origin === 'string' && Number(n) === 1 && issue.inclusive !== false) return 'must not be empty';
      if (issue.origin === 'array' && Number(n) === 1 && issue.inclusive !== false) return 'needs at least 1 item';
      return issue.inclusive === false ? `must be more than ${units(issue.origin, n)}` : `must be at least ${units(issue.origin, n)}`;
    }
    case 'too_big': {
      const n = issue.maximum;
      return issue.inclusive === false ? `must be less than ${units(issue.origin, n)}` : `must be at most ${units(issue.origin, n)}`;
    }
    case 'invalid_format':
      switch (issue.format) {
        case 'regex':
          return 'has characters or a shape that is not allowed here';
        case 'url':
          return 'must be a URL';
        case 'datetime':
          return 'must be a UTC timestamp like 2026-01-31T12:00:00Z';
        case 'date':
          return 'must be a date like 2026-01-31';
        case 'email':
          return 'must be an email address';
        default:
          return `must be a valid ${issue.format}`;
      }
    case 'not_multiple_of':
      return `must be a multiple of ${show(issue.divisor)}`;
    case 'invalid_key':
      return 'has a key that is not allowed';
    case 'invalid_element':
      return 'has an element that is not allowed';
    default:
      return issue.message;
  }
}
