import type { FastifyInstance } from 'fastify';
import type { GrantStoreServices } from '../compose-grant-store';
import type { RouteRegistrar } from './register-route';

/**
 * What every route plugin gets: the services composeGrantStore built (routes build none) and
 * the registrar of the contract table's routes.
 */
export type RouteContext = Pick<GrantStoreServices, 'deps' | 'bus' | 'sweeper' | 'log' | 'witnesses' | 'logger' | 'ledgerGuard' | 'digestDeps' | 'incidentDeps' | 'metrics' | 'pageSignIn'> & {
  /** Registers a route of the contract table (shared/http/contract.ts) with its handler. */
  route: RouteRegistrar;
};

export type RoutePlugin = (app: FastifyInstance, ctx: RouteContext) => void | Promise<void>;
