import type { Role } from '../domain/common';
import type { LedgerEntry, LedgerEntryType } from '../domain/ledger-entry';
import type { Policy } from '../domain/policy';
import type { BypassRequest } from '../domain/request';
import { resolveGate } from './tier-resolution';

/**
 * THE visibility rule: what a principal may read. Every read route applies it (requests,
 * history, reviews, reports, digest, notifications, the event stream, ledger entries, the export,
 * decision bundles); the README's role table and docs/policy.md describe it.
 *
 * - Auditors and admins see everything.
 * - A requester sees their own requests (and everything recorded about them).
 * - An approver sees the requests of the tiers whose approver groups they are in (and their own),
 *   plus what concerns a gate of those tiers (its emergency credentials, its alert deliveries).
 * - A principal on a tier's `notify` list (a CISO told about every request on a kept safety
 *   gate) sees that tier's requests, whatever their roles: they are sent each one, so they may
 *   open it. Reading is all it gives: deciding, revoking and reviewing stay with the tier's
 *   approvers (canActOnRequest), so such a principal gets 403 there, not 404.
 * - Anyone sees what is recorded about themselves (their tokens, keys, sessions).
 * - Approvers also see the ledger entries every approver needs to check the rest: policy loads
 *   (the policy is readable by everyone), key enrollments and revocations (public keys, also in
 *   the trusted root) and incident events (the organisation's incidents, which pre-approve bypasses).
 *
 * A ledger entry outside this is served to ledger readers as a redacted entry (its leaf hash only).
 */

/** Who is reading: a principal and its roles (a store Caller fits). */
export interface Viewer {
  principal: string;
  roles: readonly Role[];
}

/** The parts of a request visibility depends on. */
export type RequestRef = Pick<BypassRequest, 'requester' | 'gate'>;

/** Auditors and admins read everything (it is their job to). */
export function seesEverything(viewer: Viewer): boolean {
  return viewer.roles.includes('admin') || viewer.roles.includes('auditor');
}

/** Whether `viewer` approves for the tier of `gate` (a gate that left the policy: every approver, so history stays readable). */
function approvesGate(policy: Policy, viewer: Viewer, gate: string): boolean {
  if (!viewer.roles.includes('approver')) return false;
  const resolved = resolveGate(policy, gate);
  if (!resolved) return true;
  return resolved.tier.approverGroups.some((group) => policy.approvers[group]?.includes(viewer.principal));
}

/** Whether `viewer` is on the notify list of `gate`'s tier (told about every request on it). */
export function isNotifiedOfGate(policy: Policy, viewer: Pick<Viewer, 'principal'>, gate: string): boolean {
  return resolveGate(policy, gate)?.tier.notify.includes(viewer.principal) ?? false;
}

/**
 * Whether `viewer` may act on `request` as one of its deciders or reviewers would: auditors,
 * admins, its requester and the approvers of its tier. What a decision or sign-off also needs
 * (eligibility, separation of duties) is checked by the action itself.
 */
export function canActOnRequest(policy: Policy, viewer: Viewer, request: RequestRef): boolean {
  if (seesEverything(viewer)) return true;
  if (request.requester === viewer.principal) return true;
  return approvesGate(policy, viewer, request.gate);
}

/**
 * Whether `viewer` can see no request but their own (so a list may ask the database for theirs
 * only): not an auditor, admin or approver, and on no tier's notify list.
 */
export function seesOnlyOwnRequests(policy: Policy, viewer: Viewer): boolean {
  if (seesEverything(viewer) || viewer.roles.includes('approver')) return false;
  return !Object.values(policy.tiers).some((tier) => tier.notify.includes(viewer.principal));
}

/** Whether `viewer` may read `request` (and everything about it: decisions, review, ledger entries). */
export function canSeeRequest(policy: Policy, viewer: Viewer, request: RequestRef): boolean {
  return canActOnRequest(policy, viewer, request) || isNotifiedOfGate(policy, viewer, request.gate);
}

/** Entry types every approver may read in full: what checking the rest of the ledger needs, nothing about a request. */
const APPROVER_READABLE_TYPES: ReadonlySet<LedgerEntryType> = new Set(['policy_loaded', 'key_enrolled', 'key_revoked', 'incident_event']);

/** The request a ledger entry is about (its target, or `data.requestId`), or null. */
export function entryRequestId(entry: Pick<LedgerEntry, 'target' | 'data'>): string | null {
  if (entry.target.startsWith('req_')) return entry.target;
  const id = entry.data.requestId;
  return typeof id === 'string' && id.startsWith('req_') ? id : null;
}

/**
 * Whether `viewer` may read `entry` in full. `request` is the request the entry is about
 * (entryRequestId), looked up by the caller; undefined when it is about none, or the request is
 * unknown (then only auditors and admins see it: fail closed).
 */
export function canSeeLedgerEntry(policy: Policy, viewer: Viewer, entry: LedgerEntry, request: RequestRef | undefined): boolean {
  if (seesEverything(viewer)) return true;
  if (entryRequestId(entry) !== null) return request !== undefined && canSeeRequest(policy, viewer, request);
  if (entry.target === viewer.principal || entry.actor === viewer.principal || entry.data.principal === viewer.principal) return true;
  if (!viewer.roles.includes('approver')) return false;
  if (APPROVER_READABLE_TYPES.has(entry.type)) return true;
  return entry.gate !== null && approvesGate(policy, viewer, entry.gate);
}
