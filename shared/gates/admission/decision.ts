import { linkScope, type CheckResult } from '../../domain/check';
import { requestLink } from '../request-link';
import { scopeToText } from '../scope-text';

/**
 * One admission answer from the checks of an object's subjects (one per image): it passes only
 * when an active bypass covers every subject; otherwise it is blocked on the first uncovered
 * subject, with the request page for exactly that subject. Shared by the Gatekeeper, Kyverno
 * and AdmissionReview endpoints so the three say the same thing.
 */
export interface AdmissionDecision {
  bypassed: boolean;
  /** On block: names the gate, the uncovered subject and the request page. Under bypass: a summary. */
  message: string;
  requestUrl: string | null;
  /** Under bypass: one line per bypass that covered the object (kubectl prints them as warnings). */
  warnings: string[];
  bypasses: { id: string; requestId: string; expiresAt: string; approvers: string[] }[];
}

/** What the decision reads of a check: a CheckResult, or a dry run's (no evaluation recorded, so no seq). */
export type AdmissionCheck = Pick<CheckResult, 'verdict' | 'subject' | 'message' | 'requestCommand' | 'requestScope'> & {
  bypass: (Omit<NonNullable<CheckResult['bypass']>, 'evaluationSeq'> & { evaluationSeq: number | null }) | null;
};

export interface DecisionInput {
  gate: string;
  /** The store's public base URL, for the request link. */
  storeUrl: string;
  /** What the admission policy enforces (a constraint, a Kyverno rule), for the request page. */
  rule?: string;
  /** Context for the request page (who asked, the operation…): never a credential. */
  context?: Record<string, string>;
  results: readonly AdmissionCheck[];
  /** Parts of the object that could not become a subject (workload-subject.ts): they block. */
  problems?: readonly string[];
}

export function admissionDecision(input: DecisionInput): AdmissionDecision {
  // Fail closed: what cannot be checked cannot be bypassed, and no subject at all is not a pass.
  if ((input.problems?.length ?? 0) > 0 || input.results.length === 0) {
    const why = input.problems?.length ? input.problems.join('; ') : 'the object names no namespace, workload or image to check';
    return { bypassed: false, message: `BLOCKED by gate ${input.gate} (fail closed): ${why}`, requestUrl: null, warnings: [], bypasses: [] };
  }
  const blocked = input.results.find((r) => r.verdict !== 'warn' || !r.bypass);
  if (blocked) {
    // The store's message ends with the CLI command; here the link is the way out (none when no bypass can be requested).
    const reason = blocked.requestCommand ? blocked.message.replace(blocked.requestCommand, '').replace(/\s*(To ask for one|To request a bypass):?\s*$/i, '').trim() : blocked.message;
    const scope = linkScope(blocked);
    if (!scope) return { bypassed: false, message: reason, requestUrl: null, warnings: [], bypasses: [] };
    const url = requestLink(input.storeUrl, { gate: input.gate, scope, rule: input.rule, context: input.context });
    return { bypassed: false, message: `${reason} Request a bypass: ${url}`, requestUrl: url, warnings: [], bypasses: [] };
  }
  const bypasses = new Map<string, AdmissionDecision['bypasses'][number]>();
  for (const r of input.results) {
    const b = r.bypass as NonNullable<AdmissionCheck['bypass']>;
    if (!bypasses.has(b.id)) bypasses.set(b.id, { id: b.id, requestId: b.requestId, expiresAt: b.expiresAt, approvers: b.approvers });
  }
  const warnings = [...bypasses.values()].map(
    (b) => `breakglass: gate ${input.gate} passes under bypass ${b.id} (request ${b.requestId}, approved by ${b.approvers.join(', ') || 'a standing scope'}) until ${b.expiresAt}; recorded in the ledger`,
  );
  const subjects = input.results.map((r) => scopeToText(r.subject)).join('; ');
  return { bypassed: true, message: `gate ${input.gate} passes under bypass for ${subjects}`, requestUrl: null, warnings, bypasses: [...bypasses.values()] };
}
