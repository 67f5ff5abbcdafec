import type { FastifyInstance } from 'fastify';
import type { ServiceDeps } from '../service/service-deps';
import type { Sweeper } from '../jobs/expiry-sweeper';
import type { EventBus } from './event-bus';
import type { TransparencyLog } from '../ledger/transparency-log';
import type { CheckpointWitnesses } from '../ledger/checkpoint-witnesses';
import type { RouteRegistrar } from './register-route';
import type { RetryPolicy } from '../alerts/outbox';
import type { StoreLogger } from '../logger';

/** What every route plugin gets. */
export interface RouteContext {
  deps: ServiceDeps;
  dataDir: string;
  bus: EventBus;
  sweeper: Sweeper;
  /** The ledger as a transparency log (one per process: checkpoints, proofs; the digest reads its state). */
  log: TransparencyLog;
  /** The policy's witnesses: pushes checkpoints to them, keeps their cosignatures, serves checkpoints cosigned. */
  witnesses: CheckpointWitnesses;
  /** How often the digest scheduler looks at the clock (tests with an injected clock pass a short one). */
  digestCheckIntervalMs?: number;
  /** The environment startGrantStore read (secrets are named in the policy, read from here). */
  env: NodeJS.ProcessEnv;
  /** Alert delivery retries (BREAKGLASS_ALERT_* read by startGrantStore). */
  alertRetry: RetryPolicy;
  logger: StoreLogger;
  /** Registers a route of the contract table (shared/http/contract.ts) with its handler. */
  route: RouteRegistrar;
}

export type RoutePlugin = (app: FastifyInstance, ctx: RouteContext) => void | Promise<void>;
