import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { Notification } from '../../shared/domain/notification';
import type { Policy } from '../../shared/domain/policy';
import { emergencyAudience } from '../../shared/policy/emergency-rules';
import type { StoreReader } from '../storage/store';
import { isCriticalTier, tierOfGate } from './critical-tier';

interface RequestFacts {
  requester: string;
  gate: string | null;
  notify: readonly string[];
}

const REQUESTER_KINDS = new Set(['decision', 'bypass_activated', 'bypass_expired', 'bypass_revoked', 'request_lapsed', 'review_opened']);
const NOTIFY_LIST_KINDS = new Set(['request_created', 'bypass_activated']);

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
    else if (facts.notify.includes(principal) && NOTIFY_LIST_KINDS.has(entry.type)) because = 'notify_list';
    if (!because) continue;
    const { kind, decision, text } = describe(entry);
    out.push({ seq: entry.seq, time: entry.time, kind, because, requestId: entry.target, gate: entry.gate, decision, actor: entry.actor, text });
  }
  return out;
}

/** Lifecycle entries read per page while collecting notifications. */
const NOTIFICATION_PAGE = 500;

/**
 * `principal`'s notifications after ledger seq `since`, at most `limit`, oldest first: read
 * page by page from the lifecycle entries (a partial index that leaves out the warns, 99% of a
 * busy ledger) and stopping at `limit`, with the requests they mention read by id.
 */
export async function notificationsFromStore(store: Pick<StoreReader, 'lifecycleEntries' | 'getRequests'>, principal: string, policy: Policy, since: number, limit: number): Promise<Notification[]> {
  const out: Notification[] = [];
  let after = since;
  while (out.length < limit) {
    const entries = await store.lifecycleEntries(after, NOTIFICATION_PAGE);
    if (entries.length === 0) break;
    const ids = [...new Set(entries.filter((e) => e.target.startsWith('req_')).map((e) => e.target))];
    const known = new Map((await store.getRequests(ids)).map((r) => [r.id, { requester: r.requester, gate: r.gate }]));
    out.push(...notificationsFor(principal, entries, policy, since, known));
    after = entries[entries.length - 1]!.seq;
  }
  return out.slice(0, limit);
}
