import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { Notification } from '../../shared/domain/notification';
import type { Policy } from '../../shared/domain/policy';
import { emergencyAudience } from '../../shared/policy/emergency-rules';
import { NOTIFY_LIST_KINDS, REQUESTER_NOTIFICATION_KINDS, type NotificationScope } from '../storage/ledger-filter-sql';
import type { StoreReader } from '../storage/store';
import { isCriticalTier, tierOfGate } from './critical-tier';

interface RequestFacts {
  requester: string;
  gate: string | null;
  notify: readonly string[];
}

const REQUESTER_KINDS: ReadonlySet<string> = new Set(REQUESTER_NOTIFICATION_KINDS);
const NOTIFY_KINDS: ReadonlySet<string> = new Set(NOTIFY_LIST_KINDS);

function describe(entry: LedgerEntry): { kind: Notification['kind']; decision: string | null; text: string } {
  const gate = entry.gate ?? '?';
  switch (entry.type) {
    case 'decision': {
      const decision = String(entry.data['decision'] ?? '');
      const comment = String(entry.data['comment'] ?? '');
      return { kind: 'decision', decision, text: `${entry.actor} decided ${decision} on ${entry.target} (gate ${gate})${comment ? `: ${comment}` : ''}` };
    }
    case 'bypass_activated':
      return { kind: 'bypass_activated', decision: null, text: `${entry.target} is active: gate ${gate} is bypassed until ${entry.expiresAt ?? '?'}` };
    case 'bypass_expired':
      return { kind: 'bypass_expired', decision: null, text: `${entry.target} expired: gate ${gate} enforces again` };
    case 'bypass_revoked':
      return { kind: 'bypass_revoked', decision: null, text: `${entry.target} was revoked by ${entry.actor}: gate ${gate} enforces again` };
    case 'request_lapsed':
      return { kind: 'request_lapsed', decision: null, text: `${entry.target} lapsed: nobody decided in time` };
    case 'emergency_used':
      return { kind: 'emergency_used', decision: null, text: `EMERGENCY: ${entry.actor} opened gate ${gate} with a sealed emergency credential (${String(entry.data['credentialId'] ?? '?')}), no approver, until ${entry.expiresAt ?? '?'}${entry.incidentRef ? ` for ${entry.incidentRef}` : ''}. A review needing ${String(entry.data['reviewSignoffs'] ?? 2)} sign-offs from outside team ${String(entry.data['team'] ?? '?')} is open.` };
    case 'emergency_refused':
      return { kind: 'emergency_refused', decision: null, text: `EMERGENCY ALARM: ${entry.actor} presented ${entry.data['credentialId'] ? `emergency credential ${String(entry.data['credentialId'])}` : 'an unknown emergency credential'} and was refused (${String(entry.data['why'] ?? '?')})` };
    case 'review_opened':
      return { kind: 'review_opened', decision: null, text: `a post-bypass review opened for ${entry.target}: someone other than you completes it` };
    default:
      return { kind: 'critical_request', decision: null, text: `${entry.actor} asks to bypass critical gate ${gate} (${entry.target}): ${entry.reason ?? ''}` };
  }
}

/**
 * The notifications for `principal` in `entries` (seq order). Who filed each request comes from
 * `known` (the stored requests, see notificationsFromStore) or, without it, from the
 * request_created entries, which must then be among `entries`. Pure. The notify list is the
 * tier's in the current policy (who must be told now).
 */
export function notificationsFor(principal: string, entries: readonly LedgerEntry[], policy: Policy, since = -1, known?: ReadonlyMap<string, { requester: string; gate: string }>): Notification[] {
  const requests = new Map<string, RequestFacts>();
  const factsOf = (requester: string, gate: string | null): RequestFacts => {
    const tier = tierOfGate(policy, gate);
    return { requester, gate, notify: tier && isCriticalTier(tier.tier) ? tier.tier.notify : [] };
  };
  if (known) for (const [id, r] of known) requests.set(id, factsOf(r.requester, r.gate));
  const out: Notification[] = [];
  const audience = emergencyAudience(policy);
  for (const entry of entries) {
    if ((entry.type === 'emergency_used' || entry.type === 'emergency_refused') && entry.seq > since && (audience.includes(principal) || entry.actor === principal)) {
      const { kind, text } = describe(entry);
      out.push({ seq: entry.seq, time: entry.time, kind, because: audience.includes(principal) ? 'emergency' : 'requester', requestId: entry.target, gate: entry.gate, decision: null, actor: entry.actor, text, expiresAt: entry.expiresAt });
      continue;
    }
    if (!entry.target.startsWith('req_')) continue;
    if (entry.type === 'request_created' && !known) requests.set(entry.target, factsOf(entry.actor, entry.gate));
    const facts = requests.get(entry.target);
    if (!facts || entry.seq <= since) continue;
    let because: Notification['because'] | null = null;
    if (facts.requester === principal && REQUESTER_KINDS.has(entry.type)) because = 'requester';
    else if (facts.notify.includes(principal) && NOTIFY_KINDS.has(entry.type)) because = 'notify_list';
    if (!because) continue;
    const { kind, decision, text } = describe(entry);
    out.push({ seq: entry.seq, time: entry.time, kind, because, requestId: entry.target, gate: entry.gate, decision, actor: entry.actor, text });
  }
  return out;
}

/** Candidate entries read per page while collecting notifications. */
const NOTIFICATION_PAGE = 500;

/**
 * Where `principal`'s notifications can come from under `policy`, besides their own requests:
 * the gates whose critical tier notifies them, and whether they are told of every emergency.
 * Derived from the same helpers notificationsFor applies, so the store's indexed read
 * (notificationEntries) returns every entry the rule can pick.
 */
export function notificationScope(principal: string, policy: Policy): NotificationScope {
  const notifyGates = policy.gates
    .filter((g) => {
      const tier = tierOfGate(policy, g.id);
      return tier !== undefined && isCriticalTier(tier.tier) && tier.tier.notify.includes(principal);
    })
    .map((g) => g.id);
  return { notifyGates, emergencyAudience: emergencyAudience(policy).includes(principal) };
}

/**
 * `principal`'s notifications after ledger seq `since`, at most `limit`, oldest first: the
 * store reads only the entries that may notify them, from indexed ranges (the requester's
 * feed, the notify-list gates, the emergency entries; migration 12), page by page until `limit`,
 * with the requests they mention read by id; notificationsFor applies the rule.
 */
export async function notificationsFromStore(store: Pick<StoreReader, 'notificationEntries' | 'getRequests'>, principal: string, policy: Policy, since: number, limit: number): Promise<Notification[]> {
  const scope = notificationScope(principal, policy);
  const out: Notification[] = [];
  let after = since;
  while (out.length < limit) {
    // Read no more candidates than the answer still needs (most candidates notify): a requester
    // with thousands of requests costs `limit` entries and requests, not a full page of 500.
    const page = Math.min(NOTIFICATION_PAGE, limit - out.length);
    const entries = await store.notificationEntries(principal, scope, after, page);
    if (entries.length === 0) break;
    const ids = [...new Set(entries.filter((e) => e.target.startsWith('req_')).map((e) => e.target))];
    const known = new Map((await store.getRequests(ids)).map((r) => [r.id, { requester: r.requester, gate: r.gate }]));
    out.push(...notificationsFor(principal, entries, policy, since, known));
    if (entries.length < page) break;
    after = entries[entries.length - 1]!.seq;
  }
  return out.slice(0, limit);
}
