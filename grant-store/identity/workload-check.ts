import type { CheckInput } from '../../shared/domain/check';
import { WorkloadCheckInputSchema } from '../../shared/domain/workload-check';
import { AppError, parseOrThrow, type FieldError } from '../../shared/errors';
import { reconcileSubject } from '../../shared/identity/workload-subject';
import type { WorkloadCaller } from './workload-authenticator';
import { WORKLOAD_CONTEXT_PREFIX } from './workload-context';

/**
 * The check a workload may run: its gate must be one the principal rule allows, its subject is
 * the token's (plus allowed extra attributes), and its context gets the token's claims as
 * `oidc.*` (a job cannot send those keys itself). Every refusal happens here, before the check
 * counts a block or writes an evaluation.
 */
export function workloadCheckInput(caller: WorkloadCaller, body: unknown): CheckInput {
  const input = parseOrThrow(WorkloadCheckInputSchema, body, 'check');
  if (caller.gates !== null && !caller.gates.includes(input.gate)) {
    throw new AppError('forbidden', `${caller.principal} may check only ${caller.gates.join(', ')} (identity.workloads.principals), not ${input.gate}`, { fieldErrors: [{ path: 'gate', message: `not a gate of ${caller.principal}` }] });
  }
  const reserved: FieldError[] = Object.keys(input.context ?? {})
    .filter((key) => key.startsWith(WORKLOAD_CONTEXT_PREFIX))
    .map((key) => ({ path: `context.${key}`, message: `keys starting with ${WORKLOAD_CONTEXT_PREFIX} are written by the store from the workload token` }));
  if (reserved.length > 0) throw new AppError('invalid_input', `invalid check: ${reserved.map((f) => `${f.path}: ${f.message}`).join('; ')}`, { fieldErrors: reserved });
  const reconciled = reconcileSubject(caller.derived, input.subject, caller.extraKeys);
  if ('errors' in reconciled) {
    throw new AppError('forbidden', `the subject does not match the workload token: ${reconciled.errors.map((f) => `${f.path}: ${f.message}`).join('; ')}`, { fieldErrors: reconciled.errors });
  }
  return { gate: input.gate, subject: reconciled.subject, context: { ...(input.context ?? {}), ...caller.context } };
}
