import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller, ServiceDeps } from '../service/service-deps';
import type { Sweeper } from '../jobs/expiry-sweeper';
import type { EventBus } from './event-bus';
import type { TransparencyLog } from '../ledger/transparency-log';

/** What every route plugin gets. */
export interface RouteContext {
  deps: ServiceDeps;
  dataDir: string;
  bus: EventBus;
  sweeper: Sweeper;
  /** The ledger as a transparency log (one per process: checkpoints, proofs; the digest reads its state). */
  log: TransparencyLog;
  /** How often the digest scheduler looks at the clock (tests with an injected clock pass a short one). */
  digestCheckIntervalMs?: number;
  /** The authenticated caller of a request (the auth hook has run; throws if it has not). */
  caller(request: FastifyRequest): Caller;
}

export type RoutePlugin = (app: FastifyInstance, ctx: RouteContext) => void | Promise<void>;
