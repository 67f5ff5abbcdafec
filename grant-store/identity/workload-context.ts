import { MAX_CONTEXT_KEY_LENGTH, MAX_CONTEXT_VALUE_LENGTH } from '../../shared/domain/check';
import type { WorkloadFormat } from '../../shared/domain/policy-identity';
import { claimText, type Claims } from '../../shared/identity/workload-subject';

/** Context keys the store writes from a verified workload token; a job cannot send keys with this prefix. */
export const WORKLOAD_CONTEXT_PREFIX = 'oidc.';

/** The claims worth keeping with an evaluation, per format: where the job ran, on which commit, started by whom. */
const CONTEXT_CLAIMS: Record<WorkloadFormat, readonly string[]> = {
  'github-actions': ['sub', 'repository', 'ref', 'sha', 'environment', 'workflow_ref', 'job_workflow_ref', 'run_id', 'run_attempt', 'event_name', 'actor', 'runner_environment'],
  'gitlab-ci': ['sub', 'project_path', 'ref', 'ref_type', 'sha', 'environment', 'pipeline_id', 'job_id', 'pipeline_source', 'user_login', 'ci_config_ref_uri', 'runner_environment'],
  custom: ['sub'],
};

/**
 * The trusted part of a check's context: `oidc.iss`, `oidc.jti` and the format's claims, each as
 * `oidc.<claim>`, recorded with an evaluation under a bypass next to what the job itself sent.
 */
export function workloadContext(format: WorkloadFormat, claims: Claims): Record<string, string> {
  const out: Record<string, string> = {};
  for (const claim of ['iss', 'jti', ...CONTEXT_CLAIMS[format]]) {
    const value = claimText(claims, claim);
    const key = `${WORKLOAD_CONTEXT_PREFIX}${claim}`;
    if (value !== undefined && value !== '' && key.length <= MAX_CONTEXT_KEY_LENGTH) out[key] = value.slice(0, MAX_CONTEXT_VALUE_LENGTH);
  }
  return out;
}
