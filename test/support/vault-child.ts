// Child process for vault tests that need a fresh process (libsecret keeps its first D-Bus
// connection per process). Usage: node --import tsx test/support/vault-child.ts <action> [args...]
// Prints one JSON line: { ok: true, value } or { ok: false, code, message }.
import { CredentialVault } from '../../electron/core/vault/credential-vault';
import { AppError } from '../../shared/errors';

const [action, storeUrl = 'http://127.0.0.1:7410', principal = 'bob', secret = ''] = process.argv.slice(2);

try {
  const vault = await CredentialVault.open({ timeoutMs: 5000 });
  let value: unknown = null;
  if (action === 'set-token') value = await vault.setToken(storeUrl, principal, secret);
  else if (action === 'get-token') value = await vault.getToken(storeUrl, principal);
  else if (action === 'open') value = 'opened';
  else throw new Error(`unknown action ${action}`);
  console.log(JSON.stringify({ ok: true, value: value ?? null }));
} catch (error) {
  const e = error as AppError;
  console.log(JSON.stringify({ ok: false, code: e.code ?? 'thrown', message: e.message }));
}
