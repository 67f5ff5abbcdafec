import type { ConsoleClock } from '../clock';
import type { ConsoleLogger } from '../logger';
import type { IdpSignIn } from './idp-sign-in';
import type { SessionService } from './session-service';

/** How often the console looks at its IdP session (renewed when less than a minute is left: shared/node/oidc/sign-in-manager.ts). */
export const IDP_RENEW_CHECK_MS = 30_000;

/**
 * Keeps a console signed in through the IdP signed in: every IDP_RENEW_CHECK_MS (and at start)
 * it asks for the current store session, which the IdP's refresh token renews shortly before it
 * lapses, and hands a renewed one to the session service (store client and event stream switch
 * to it). A console set up with an admin token has no IdP session: nothing happens. A renewal the
 * IdP refuses is logged; the store then rejects the old session and the console says to sign in again.
 */
export class IdpSessionRenewal {
  private cancel: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly deps: {
      idp: Pick<IdpSignIn, 'currentToken'>;
      session: Pick<SessionService, 'active' | 'replaceToken'>;
      clock: ConsoleClock;
      logger: ConsoleLogger;
      intervalMs?: number;
    },
  ) {}

  start(): void {
    this.stopped = false;
    this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    this.cancel = undefined;
    await this.running;
  }

  /** Look now (also what the timer does). */
  async check(): Promise<boolean> {
    const active = this.deps.session.active;
    if (!active) return false;
    const { storeUrl, principal } = active.profile;
    try {
      const current = await this.deps.idp.currentToken(storeUrl);
      // Only the person this console is set up for: a sign-in left in the vault by someone else is not theirs.
      if (!current?.renewed || current.info.principal !== principal || this.deps.session.active !== active) return false;
      await this.deps.session.replaceToken(current.token);
      this.deps.logger.info({ storeUrl, principal, expiresAt: current.info.expiresAt }, 'store session renewed from the identity provider');
      return true;
    } catch (error) {
      this.deps.logger.warn({ err: error, storeUrl, principal }, 'the store session could not be renewed from the identity provider');
      return false;
    }
  }

  private run(): void {
    if (this.stopped) return;
    this.running = this.check().then(() => {
      if (!this.stopped) this.cancel = this.deps.clock.after(this.deps.intervalMs ?? IDP_RENEW_CHECK_MS, () => this.run());
    });
  }
}
