import type { DecisionStatement } from '../../shared/domain/decision';
import type { Role } from '../../shared/domain/common';
import type { PolicyHolder } from '../policy/policy-holder';
import type { CheckHotPath } from '../checks/check-hot-path';
import type { Store, StoreReader, StoredToken } from '../storage/store';
import type { IdentityServices } from '../identity/identity-services';
import type { WorkloadCaller } from '../identity/workload-authenticator';

/** Server clock. Every timestamp and every expiry comes from here, never from a client. */
export type Clock = () => Date;

/** The signing helper's verifyDecisionBundle (shared/node/signing/verify-decision.ts), injected. */
export type DecisionVerifier = (
  bundle: unknown,
  keys: (keyId: string) => { publicKeyPem: string } | undefined,
) => Promise<{ statement: DecisionStatement; keyId: string; signatureDigest: string }>;

export interface ServiceDeps {
  store: Store;
  policies: PolicyHolder;
  clock: Clock;
  verifyDecision: DecisionVerifier;
  /**
   * In-memory index of active bypasses (grant-store/checks): when set, a check finds its bypass
   * and counts a block without a database round trip; only a warn writes (its evaluation).
   */
  checks?: CheckHotPath;
  /** Token lookups for authentication, cached (grant-store/checks/token-cache.ts); default: the store. */
  tokens?: Pick<StoreReader, 'getTokenByHash'> & { peekBearer?(bearer: string, hashOf: (bearer: string) => string): StoredToken | undefined };
  /** Sign-in sessions and CI workload identity (grant-store/identity); without it only admin-minted tokens authenticate. */
  identity?: IdentityServices;
  /**
   * The ledger's tamper guard (grant-store/ledger/ledger-guard.ts): while it is halted every
   * check blocks naming the halt and decisions and new requests are refused.
   */
  ledgerGuard?: LedgerGate;
}

/** What the services ask the ledger guard. */
export interface LedgerGate {
  /** "log halted since … at seq N: why", or null while the ledger governs normally. */
  describe(): string | null;
  /** Throws 503 naming the halt when the ledger is halted. */
  assertGranting(action: string): void;
}

/** The authenticated caller of a service operation. */
export interface Caller {
  principal: string;
  roles: readonly Role[];
  /** Socket address the call came from (recorded in the ledger). */
  sourceAddress: string | null;
  /** Set when the bearer is a sign-in session (bgs_...): its id, so the holder can end it. */
  sessionId?: string;
  /** Set when a CI job authenticated with its OIDC ID token (POST /v1/checks/workload). */
  workload?: WorkloadCaller;
}

/** The store acting by itself (expiry, lapse, review opening). */
export const SYSTEM_CALLER: Caller = { principal: 'system', roles: [], sourceAddress: null };
