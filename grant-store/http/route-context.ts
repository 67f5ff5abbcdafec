import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller, ServiceDeps } from '../service/service-deps';
import type { Sweeper } from '../jobs/expiry-sweeper';
import type { EventBus } from './event-bus';

/** What every route plugin gets. */
export interface RouteContext {
  deps: ServiceDeps;
  dataDir: string;
  bus: EventBus;
  sweeper: Sweeper;
  /** The authenticated caller of a request (the auth hook has run; throws if it has not). */
  caller(request: FastifyRequest): Caller;
}

export type RoutePlugin = (app: FastifyInstance, ctx: RouteContext) => void | Promise<void>;
