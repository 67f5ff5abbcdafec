// Module resolution hooks for hide-modules.mjs.
let hidden = [];

export function initialize(data) {
  hidden = data?.hidden ?? [];
}

export async function resolve(specifier, context, nextResolve) {
  if (hidden.includes(specifier)) {
    const error = new Error(`Cannot find package '${specifier}' (hidden by test/support/hide-modules.mjs)`);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return nextResolve(specifier, context);
}
