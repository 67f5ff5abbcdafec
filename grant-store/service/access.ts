import type { Role } from '../../shared/domain/common';
import { AppError } from '../../shared/errors';
import type { Caller } from './service-deps';

export function hasRole(caller: Caller, ...roles: Role[]): boolean {
  return roles.some((role) => caller.roles.includes(role));
}

/** Throw AppError('forbidden') unless the caller holds one of `roles`. */
export function requireRole(caller: Caller, ...roles: Role[]): void {
  if (!hasRole(caller, ...roles)) {
    throw new AppError('forbidden', `${caller.principal} needs one of the roles ${roles.join(', ')} (has: ${caller.roles.join(', ') || 'none'})`);
  }
}

/** The role recorded as actorRole in the ledger: the first of `preferred` the caller holds. */
export function actingRole(caller: Caller, ...preferred: Role[]): Role | 'system' {
  if (caller.principal === 'system') return 'system';
  return preferred.find((role) => caller.roles.includes(role)) ?? caller.roles[0] ?? 'system';
}
