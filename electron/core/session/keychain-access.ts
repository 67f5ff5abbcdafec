import { AppError } from '../../../shared/errors';
import type { ConsoleLogger } from '../logger';
import { CredentialVault } from '../vault/credential-vault';

export interface KeychainStatus {
  available: boolean;
  /** Why not, in words the user can act on; null when available. */
  message: string | null;
}

/**
 * The OS keychain, opened on demand: the console keeps its API token and software key there and
 * nowhere else (no plain-file fallback). Probed again whenever it was unavailable, so starting a
 * Secret Service after the console is enough.
 */
export class KeychainAccess {
  private vault: CredentialVault | undefined;
  private current: KeychainStatus = { available: false, message: 'not checked yet' };

  constructor(
    private readonly open: () => Promise<CredentialVault>,
    private readonly logger: ConsoleLogger,
  ) {}

  get status(): KeychainStatus {
    return this.current;
  }

  /** The vault if the last probe found one (no new probe). */
  get opened(): CredentialVault | undefined {
    return this.vault;
  }

  async probe(): Promise<KeychainStatus> {
    try {
      this.vault = await this.open();
      this.current = { available: true, message: null };
    } catch (error) {
      this.vault = undefined;
      const message = error instanceof Error ? error.message : String(error);
      if (this.current.message !== message) this.logger.warn({ err: error }, 'no OS keychain available');
      this.current = { available: false, message };
    }
    return this.current;
  }

  /** The vault, probing again if needed; AppError('unavailable') saying why when there is none. */
  async require(): Promise<CredentialVault> {
    if (!this.vault) await this.probe();
    if (!this.vault) throw new AppError('unavailable', this.current.message ?? 'no OS keychain available');
    return this.vault;
  }
}
