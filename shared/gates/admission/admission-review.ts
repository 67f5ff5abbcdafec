import { z } from 'zod';
import { workloadSubjects, type WorkloadSubjects } from './workload-subject';

/**
 * Kubernetes AdmissionReview v1 (admission.k8s.io/v1), as a ValidatingWebhookConfiguration
 * sends it. The answer must carry the request's uid; `allowed: false` with a status denies;
 * `warnings` are shown by kubectl and client-go ("Warning: …") on an allowed request.
 */
export const ADMISSION_REVIEW_API_VERSION = 'admission.k8s.io/v1';

/** Kubernetes: "Limit warnings to 120 characters if possible. Warnings over 256 characters … may be truncated." */
export const MAX_WARNING_LENGTH = 256;

const GroupVersionKindSchema = z.object({ group: z.string(), version: z.string(), kind: z.string() });
const GroupVersionResourceSchema = z.object({ group: z.string(), version: z.string(), resource: z.string() });

/** Strict at the top (a review is apiVersion, kind, request); the request itself takes fields later Kubernetes versions add. */
export const AdmissionReviewRequestSchema = z.strictObject({
  apiVersion: z.literal(ADMISSION_REVIEW_API_VERSION),
  kind: z.literal('AdmissionReview'),
  request: z.object({
    uid: z.string().min(1).max(128),
    kind: GroupVersionKindSchema,
    resource: GroupVersionResourceSchema,
    subResource: z.string().optional(),
    requestKind: GroupVersionKindSchema.optional(),
    requestResource: GroupVersionResourceSchema.optional(),
    requestSubResource: z.string().optional(),
    name: z.string().optional(),
    namespace: z.string().optional(),
    operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
    userInfo: z.object({ username: z.string().optional(), uid: z.string().optional(), groups: z.array(z.string()).optional(), extra: z.record(z.string(), z.array(z.string())).optional() }),
    object: z.record(z.string(), z.unknown()).nullable().optional(),
    oldObject: z.record(z.string(), z.unknown()).nullable().optional(),
    dryRun: z.boolean().optional(),
    options: z.record(z.string(), z.unknown()).nullable().optional(),
  }),
});
export type AdmissionReviewRequest = z.infer<typeof AdmissionReviewRequestSchema>;

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_REVIEW_API_VERSION;
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; message: string; reason?: string };
    warnings?: string[];
    auditAnnotations?: Record<string, string>;
  };
}

/** One line, printable, at most MAX_WARNING_LENGTH characters (clients print warnings raw). */
export function warningText(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach a terminal
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return line.length > MAX_WARNING_LENGTH ? `${line.slice(0, MAX_WARNING_LENGTH - 1)}…` : line;
}

export function allowed(uid: string, warnings: string[] = [], auditAnnotations?: Record<string, string>): AdmissionReviewResponse {
  const response: AdmissionReviewResponse['response'] = { uid, allowed: true };
  if (warnings.length > 0) response.warnings = warnings.map(warningText);
  if (auditAnnotations && Object.keys(auditAnnotations).length > 0) response.auditAnnotations = auditAnnotations;
  return { apiVersion: ADMISSION_REVIEW_API_VERSION, kind: 'AdmissionReview', response };
}

/** A denial: HTTP-style code 403 and the message kubectl shows ("admission webhook … denied the request: …"). */
export function denied(uid: string, message: string, code = 403): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_REVIEW_API_VERSION, kind: 'AdmissionReview', response: { uid, allowed: false, status: { code, message } } };
}

/** deployments → deployment: the lower-case kind a workload subject names. */
function singular(resource: string): string {
  return resource.endsWith('s') ? resource.slice(0, -1) : resource;
}

/**
 * The subjects of an AdmissionReview. A subresource (a Deployment's `scale`) carries no pod spec:
 * the subject is the parent workload, named by the resource and the request's name
 * (deployments/scale of my-deployment → workload=deployment/my-deployment). Anything else is
 * read from the object (workload-subject.ts).
 */
export function reviewSubjects(review: AdmissionReviewRequest): WorkloadSubjects {
  const r = review.request;
  if (r.subResource && r.name) {
    return workloadSubjects(singular(r.resource.resource).replace(/^./, (c) => c.toUpperCase()), { metadata: { name: r.name, namespace: r.namespace } }, r.namespace);
  }
  return workloadSubjects(r.kind.kind, r.object ?? {}, r.namespace);
}
