import { z } from 'zod';

/**
 * Kyverno's `apiCall` with `service:` POSTs a JSON object built from the policy's `data` list
 * (each {key, value}, values after variable substitution) and stores the JSON answer in the
 * rule's context. The documented policy (docs/integrations.md) sends the object under admission
 * and its namespace; the store reads the subjects from the object (workload-subject.ts) and
 * answers whether every one is covered by an active bypass.
 */
export const KyvernoCheckRequestSchema = z.strictObject({
  /** `{{ request.namespace }}`: empty for cluster-scoped objects. */
  namespace: z.string().max(253).default(''),
  /** `{{ request.kind.kind }}`: Pod, Deployment, CronJob… */
  kind: z.string().min(1).max(63),
  /** `{{ request.object }}`: the object being admitted. */
  object: z.record(z.string(), z.unknown()),
  /** `{{ request.dryRun }}`: a dry run is answered but not recorded. */
  dryRun: z.union([z.boolean(), z.enum(['true', 'false'])]).optional(),
  /** What the Kyverno rule enforces (policy/rule), shown on the request page. */
  rule: z.string().max(200).optional(),
});
export type KyvernoCheckRequest = z.infer<typeof KyvernoCheckRequestSchema>;

/** The answer a policy reads as `{{ breakglass.bypassed }}`, `{{ breakglass.message }}`… */
export interface KyvernoCheckResponse {
  /** true when an active bypass covers every subject of the object (each evaluation recorded). */
  bypassed: boolean;
  verdict: 'block' | 'warn';
  /** For the policy's deny message: names the gate, the uncovered subject and the request page. */
  message: string;
  requestUrl: string | null;
  /** The bypasses that covered the object, e.g. for an audit annotation. */
  bypasses: { id: string; requestId: string; expiresAt: string }[];
  subjects: Record<string, string>[];
}
