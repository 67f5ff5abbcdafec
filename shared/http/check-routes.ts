import { CheckInputSchema, CheckResultSchema } from '../domain/check';
import { WorkloadCheckInputSchema } from '../domain/workload-check';
import { CHECK_PATHS } from './check-paths';
import { table } from './route-def';

/**
 * The gate's routes of THE contract (shared/http/contract.ts spreads them into ROUTES): apart so
 * that `breakglass check` loads these two schemas, not every route's (a gate's cold start).
 */
export const CHECK_ROUTES = table({
  check: {
    method: 'POST',
    path: CHECK_PATHS.check,
    summary: 'A gate asks whether (gate, subject) is under an active bypass: block or warn.',
    roles: ['gate', 'admin'],
    body: CheckInputSchema,
    bodyName: 'check',
    response: CheckResultSchema,
  },

  workloadCheck: {
    method: 'POST',
    path: CHECK_PATHS.workloadCheck,
    summary: "A gate's check authenticated by its CI job's OIDC ID token; the subject comes from the token's claims.",
    roles: ['gate'],
    bearer: 'workload',
    body: WorkloadCheckInputSchema,
    bodyName: 'check',
    response: CheckResultSchema,
  },
});
