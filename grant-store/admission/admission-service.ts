import type { Scope } from '../../shared/domain/common';
import { AppError } from '../../shared/errors';
import { admissionDecision, type AdmissionCheck, type AdmissionDecision } from '../../shared/gates/admission/decision';
import { allowed, denied, reviewSubjects, type AdmissionReviewRequest, type AdmissionReviewResponse } from '../../shared/gates/admission/admission-review';
import { providerResponse, providerSystemError, subjectsOfKeys, type ProviderItem, type ProviderRequest, type ProviderResponse } from '../../shared/gates/admission/gatekeeper';
import type { KyvernoCheckRequest, KyvernoCheckResponse } from '../../shared/gates/admission/kyverno';
import { workloadSubjects } from '../../shared/gates/admission/workload-subject';
import { answerCheck, peekCheck } from '../service/check-service';
import type { Caller, ServiceDeps } from '../service/service-deps';

/**
 * Kubernetes admission on the store: Gatekeeper's external data provider, Kyverno's
 * apiCall and a ValidatingWebhookConfiguration's AdmissionReview, all answering "is there an
 * active bypass for this gate on this workload / namespace / image digest" through the same
 * check as every other gate (check-service.ts), so a bypass means the same thing everywhere.
 *
 * An object passes only when a bypass covers every one of its subjects (one per image). The
 * subjects are first looked at without side effects; only when all are covered is each one
 * checked for real, which records its evaluation_under_bypass entry (with the admission
 * context). An object that is refused records no evaluation, and its first uncovered subject is
 * checked for real so the block is counted like any gate's. A dry run records and counts nothing.
 */
export interface AdmissionCall {
  deps: ServiceDeps;
  caller: Caller;
  /** The gate this endpoint enforces (from the path: one Provider / policy / webhook per gate). */
  gate: string;
  /** The store's public base URL, for request links. */
  storeUrl: string;
}

/** Context keys and values as the check takes them (CheckInputSchema: one line, ≤ 512 characters). */
const MAX_CONTEXT_VALUE = 512;
function contextOf(entries: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries)) {
    // eslint-disable-next-line no-control-regex -- a context value is one printable line
    const line = value?.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
    if (line) out[key] = line.slice(0, MAX_CONTEXT_VALUE);
  }
  return out;
}

async function checkSubjects(call: AdmissionCall, subjects: readonly Scope[], context: Record<string, string>, dryRun: boolean): Promise<AdmissionCheck[]> {
  const body = (subject: Scope) => ({ gate: call.gate, subject, ...(Object.keys(context).length > 0 ? { context } : {}) });
  const peeked: AdmissionCheck[] = [];
  for (const subject of subjects) peeked.push(await peekCheck(call.deps, call.caller, body(subject)));
  if (dryRun) return peeked;
  const firstBlocked = peeked.findIndex((r) => r.verdict !== 'warn');
  if (firstBlocked >= 0) {
    // Counted as a block like any gate's (and the real answer, should a bypass have appeared meanwhile).
    peeked[firstBlocked] = await answerCheck(call.deps, call.caller, body(subjects[firstBlocked]!));
    return peeked;
  }
  // Every subject covered: check each for real, which records its evaluation. A bypass that ended
  // in between makes that answer a block, and the object is refused.
  const results: AdmissionCheck[] = [];
  for (const subject of subjects) results.push(await answerCheck(call.deps, call.caller, body(subject)));
  return results;
}

function decide(call: AdmissionCall, results: AdmissionCheck[], rule: string | undefined, context: Record<string, string>, problems: string[] = []): AdmissionDecision {
  return admissionDecision({ gate: call.gate, storeUrl: call.storeUrl, rule, context, results, problems });
}

/** Gatekeeper external data: each key is a subject; one item per key, an error per unusable key. */
export async function gatekeeperProvider(call: AdmissionCall, request: ProviderRequest): Promise<ProviderResponse> {
  const items: ProviderItem[] = [];
  try {
    for (const entry of subjectsOfKeys(request.request.keys)) {
      if ('error' in entry) {
        items.push({ key: entry.key, error: entry.error });
        continue;
      }
      const context = contextOf({ admission: 'gatekeeper' });
      const [result] = await checkSubjects(call, [entry.subject], context, false);
      const decision = decide(call, [result!], undefined, {});
      const bypass = result!.bypass;
      items.push({
        key: entry.key,
        value: { bypassed: decision.bypassed, verdict: decision.bypassed ? 'warn' : 'block', message: decision.bypassed ? result!.message : decision.message, requestUrl: decision.requestUrl, bypassId: bypass?.id ?? null, expiresAt: bypass?.expiresAt ?? null },
      });
    }
  } catch (error) {
    // The whole request cannot be answered (an unknown gate, a refused role): Gatekeeper reports systemError.
    if (error instanceof AppError) return providerSystemError(request.apiVersion, `breakglass: ${error.message}`);
    throw error;
  }
  return providerResponse(request.apiVersion, items);
}

/** Kyverno apiCall: the object's subjects, one answer for the policy to read. */
export async function kyvernoCheck(call: AdmissionCall, request: KyvernoCheckRequest): Promise<KyvernoCheckResponse> {
  const found = workloadSubjects(request.kind, request.object, request.namespace || undefined);
  const dryRun = request.dryRun === true || request.dryRun === 'true';
  const context = contextOf({ admission: 'kyverno', kind: request.kind, namespace: request.namespace, rule: request.rule });
  const results = found.problems.length > 0 ? [] : await checkSubjects(call, found.subjects, context, dryRun);
  const decision = decide(call, results, request.rule, contextOf({ kind: request.kind, namespace: request.namespace, workload: found.workload }), found.problems);
  return {
    bypassed: decision.bypassed,
    verdict: decision.bypassed ? 'warn' : 'block',
    message: decision.message,
    requestUrl: decision.requestUrl,
    bypasses: decision.bypasses.map((b) => ({ id: b.id, requestId: b.requestId, expiresAt: b.expiresAt })),
    subjects: found.subjects,
  };
}

/**
 * A ValidatingWebhookConfiguration's AdmissionReview: allowed with warnings (and an audit
 * annotation naming the bypasses) when a bypass covers the object, denied (403) with the way out
 * otherwise. DELETE and CONNECT are not gated: removing a workload never needs a bypass.
 */
export async function admissionReview(call: AdmissionCall, review: AdmissionReviewRequest): Promise<AdmissionReviewResponse> {
  const r = review.request;
  if (r.operation === 'DELETE' || r.operation === 'CONNECT') return allowed(r.uid);
  const found = reviewSubjects(review);
  const context = contextOf({ admission: 'admission-review', uid: r.uid, operation: r.operation, user: r.userInfo.username, kind: r.kind.kind, name: r.name, namespace: r.namespace });
  let decision: AdmissionDecision;
  try {
    const results = found.problems.length > 0 ? [] : await checkSubjects(call, found.subjects, context, r.dryRun === true);
    decision = decide(call, results, undefined, contextOf({ operation: r.operation, user: r.userInfo.username, workload: found.workload }), found.problems);
  } catch (error) {
    // Fail closed with the reason in kubectl's output (an unknown gate, a token without the gate role).
    if (error instanceof AppError) return denied(r.uid, `breakglass: ${error.message}`, error.status);
    throw error;
  }
  if (!decision.bypassed) return denied(r.uid, decision.message);
  return allowed(r.uid, decision.warnings, { bypasses: decision.bypasses.map((b) => b.id).join(','), gate: call.gate });
}
