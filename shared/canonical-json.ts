/**
 * Canonical JSON (RFC 8785 style for the values we use): object keys sorted by UTF-16 code
 * units, no insignificant whitespace, strings escaped as JSON.stringify does, only finite
 * numbers. Signed statements, request digests and ledger leaves are computed over these bytes,
 * so two implementations that agree on the value agree on the hash.
 */
export function canonicalJson(value: unknown): string {
  try {
    return serialize(value);
  } catch (error) {
    // Only a value that cannot be encoded gets here: walk it again to name where (the fast path
    // above builds no path strings, which on a verifier's million entries is most of its cost).
    if (error instanceof CanonicalJsonError) throw new TypeError(`canonical JSON: ${error.message} at ${pathOf(value, error.bad) ?? '$'}`);
    throw error;
  }
}

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

class CanonicalJsonError extends Error {
  constructor(
    message: string,
    readonly bad: unknown,
  ) {
    super(message);
  }
}

function serialize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError('non-finite number', value);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + serialize(value[i]);
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const v = record[k];
        if (v === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(k)}:${serialize(v)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new CanonicalJsonError(`cannot encode ${typeof value}`, value);
  }
}

/** The JSON path of `bad` inside `value` (first occurrence, depth first), for the error message. */
function pathOf(value: unknown, bad: unknown, path = '$'): string | undefined {
  if (value === bad || (typeof bad === 'number' && Number.isNaN(bad) && Number.isNaN(value))) return path;
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = pathOf(value[i], bad, `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  for (const k of Object.keys(record).sort()) {
    if (record[k] === undefined) continue;
    const found = pathOf(record[k], bad, `${path}.${k}`);
    if (found) return found;
  }
  return undefined;
}

/**
 * Whether `text` is exactly the canonical JSON of `parsed` (= JSON.parse(text)). Same answer as
 * `canonicalJson(parsed) === text`, faster on the common case: the engine's own JSON.stringify
 * keeps the keys in the order the text had them, so if it reproduces the text and every
 * object's keys are already sorted, the text is canonical. Anything else (integer-like keys the
 * engine reorders, duplicate keys) takes the full re-serialisation.
 */
export function isCanonicalJsonText(text: string, parsed: unknown): boolean {
  if (JSON.stringify(parsed) === text && keysSorted(parsed)) return true;
  return canonicalJson(parsed) === text;
}

function keysSorted(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!keysSorted(item)) return false;
    return true;
  }
  let previous: string | undefined;
  for (const key in value) {
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    if (!keysSorted((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}
