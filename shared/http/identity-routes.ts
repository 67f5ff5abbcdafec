import { WhoAmISchema } from '../domain/identity';
import { table } from './route-def';

/**
 * `whoami` of THE contract (shared/http/contract.ts names it in its place in ROUTES), apart so
 * that `ledger verify` (which asks whether the caller must see every entry in full) loads this
 * one schema, not every route's.
 */
export const IDENTITY_ROUTES = table({
  whoami: { method: 'GET', path: '/v1/whoami', summary: 'The calling principal: roles, team, approver groups and enrolled keys.', roles: 'authenticated', response: WhoAmISchema },
});
