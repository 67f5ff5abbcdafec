import { ScopeSchema, type Scope } from '../domain/common';
import { fieldErrorsFromZod, type FieldError } from '../errors';

/**
 * `repo=payments-api,branch=main`: the one text form of a scope, as the CLI's flags, the
 * Action's inputs and the request link write it. Commas or newlines separate attributes
 * (values cannot hold either). Errors name `<what>` or `<what> <key>`. An empty text is an
 * error unless `allowEmpty` (then the scope is {}).
 */
export function parseScopeText(text: string, what = 'scope', options: { allowEmpty?: boolean } = {}): { scope: Scope } | { errors: FieldError[] } {
  const scope: Record<string, string> = {};
  const errors: FieldError[] = [];
  for (const item of text.split(/[,\n]/)) {
    const part = item.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      errors.push({ path: what, message: `"${part}" is not key=value (e.g. repo=payments-api,branch=main)` });
      continue;
    }
    const key = part.slice(0, eq).trim();
    if (key in scope) errors.push({ path: `${what} ${key}`, message: 'given twice' });
    scope[key] = part.slice(eq + 1).trim();
  }
  if (errors.length > 0) return { errors };
  if (options.allowEmpty && Object.keys(scope).length === 0) return { scope };
  const result = ScopeSchema.safeParse(scope);
  if (!result.success) return { errors: fieldErrorsFromZod(result.error).map((f) => ({ path: f.path ? `${what} ${f.path}` : what, message: f.message })) };
  return { scope: result.data };
}

export { scopeToText } from './link-text';
