import { CredentialVault } from '../../../../electron/core/vault/credential-vault';
import type { SecretBackend } from '../../../../electron/core/vault/secret-backend';

/**
 * An in-process keychain backend for console-core tests that are about the store, SSE and the
 * ledger (the real gnome-keyring is covered by the vault tests and the e2e run).
 */
export function memoryKeychain(): { openVault: () => Promise<CredentialVault>; secrets: Map<string, string> } {
  const secrets = new Map<string, string>();
  const backend: SecretBackend = {
    getPassword: async (service, account) => secrets.get(`${service}/${account}`) ?? null,
    setPassword: async (service, account, password) => void secrets.set(`${service}/${account}`, password),
    deletePassword: async (service, account) => secrets.delete(`${service}/${account}`),
  };
  return { openVault: () => CredentialVault.open({ backend }), secrets };
}
