import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../../shared/domain/request';

export interface Corrected {
  request: BypassRequest;
  /** The newest ledger time the page now reflects (the copy's own time when nothing newer applied). */
  asOf: string;
  /** Ledger seqs applied on top of the copy, oldest first. */
  applied: number[];
}

/**
 * An offline copy of a request page corrected by what the ledger mirror learned after the copy was
 * taken: activation, expiry, revocation, cancellation, lapse, denial, a question and its answer.
 * Then, since the clock does not stop offline, an active bypass whose expiry has passed is shown
 * expired (the store's sweep ends it on time whether or not we hear about it).
 */
export function correctFromLedger(request: BypassRequest, entries: readonly LedgerEntry[], copiedAt: string, now: Date): Corrected {
  let r: BypassRequest = { ...request };
  let asOf = copiedAt;
  const applied: number[] = [];
  const newer = entries.filter((e) => e.target === request.id && e.time > copiedAt).sort((a, b) => a.seq - b.seq);
  for (const e of newer) {
    const closed = { closedAt: e.time, closedBy: e.actor === 'system' ? r.closedBy : e.actor };
    const before = r.state;
    switch (e.type) {
      case 'bypass_activated':
        r = { ...r, state: 'active', activatedAt: e.time, expiresAt: e.expiresAt ?? r.expiresAt };
        break;
      case 'bypass_expired':
        r = { ...r, state: 'expired', closedAt: e.time };
        break;
      case 'bypass_revoked':
        r = { ...r, state: 'revoked', ...closed };
        break;
      case 'request_cancelled':
        r = { ...r, state: 'cancelled', ...closed };
        break;
      case 'request_lapsed':
        r = { ...r, state: 'lapsed', closedAt: e.time };
        break;
      case 'info_requested':
        r = { ...r, state: 'needs_info' };
        break;
      case 'info_provided':
        r = { ...r, state: 'pending' };
        break;
      case 'decision':
        if ((e.data as { decision?: unknown }).decision === 'deny') r = { ...r, state: 'denied', ...closed };
        break;
      default:
        break;
    }
    if (r.state !== before || e.type === 'bypass_activated') {
      applied.push(e.seq);
      asOf = e.time;
    }
  }
  if (r.state === 'active' && r.expiresAt && Date.parse(r.expiresAt) <= now.getTime()) r = { ...r, state: 'expired', closedAt: r.expiresAt };
  return { request: r, asOf, applied };
}
