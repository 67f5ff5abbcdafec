import { LedgerEntryTypeSchema, type LedgerEntry } from '../../../shared/domain/ledger-entry';
import { AppError } from '../../../shared/errors';
import { EntryVisibility } from '../../service/entry-visibility';
import type { RoutePlugin } from '../route-context';

/** Comment line sent this often so proxies and clients know the stream is alive. */
const HEARTBEAT_MS = 15_000;
/** Entries read per page while replaying after Last-Event-ID. */
const REPLAY_PAGE = 500;

/** The entry types a subscriber asked for (?types= / ?excludeTypes=); unknown names are refused. */
function entryTypeFilter(types: string | undefined, excludeTypes: string | undefined): (type: string) => boolean {
  const parse = (list: string | undefined, field: string): Set<string> | undefined => {
    if (list === undefined) return undefined;
    const names = list.split(',');
    const unknown = names.filter((n) => !LedgerEntryTypeSchema.safeParse(n).success);
    if (unknown.length > 0) throw new AppError('invalid_input', `unknown ledger entry type: ${unknown.join(', ')}`, { fieldErrors: [{ path: field, message: `unknown ledger entry type ${unknown.join(', ')}; one of: ${LedgerEntryTypeSchema.options.join(', ')}` }] });
    return new Set(names);
  };
  const only = parse(types, 'types');
  const except = parse(excludeTypes, 'excludeTypes');
  return (type) => (!only || only.has(type)) && (!except || !except.has(type));
}

/** The Last-Event-ID header as a ledger seq: -1 (from the start) or a non-negative integer. */
function lastEventIdHeader(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || !/^(-1|\d{1,15})$/.test(text)) {
    throw new AppError('invalid_input', 'Last-Event-ID must be a ledger seq (-1 or a non-negative integer)', { fieldErrors: [{ path: 'Last-Event-ID', message: 'must be -1 (from the start) or a non-negative integer ledger seq' }] });
  }
  return Number(text);
}

/**
 * A resume point past the ledger's last entry names an event this ledger never sent: refused, since
 * the stream would otherwise wait silently for entries that may never come (seqs are 0-based).
 */
function checkResumeBound(resumeFrom: number, ledgerSize: number, field: string): void {
  if (resumeFrom < ledgerSize) return;
  const message = `is ${resumeFrom}, but the ledger's last seq is ${ledgerSize - 1}`;
  throw new AppError('invalid_input', `${field} ${message}`, { fieldErrors: [{ path: field, message }] });
}

/**
 * GET /v1/events: server-sent events, one per committed ledger entry the caller may see
 * (`id:` = ledger seq, `event: ledger`, `data:` = the entry JSON). Resuming with Last-Event-ID
 * replays from the ledger, then continues live, with no gap and no duplicate.
 */
export const registerEventRoutes: RoutePlugin = (app, { route, deps, bus }) => {
  const open = new Set<() => void>();
  // preClose, not onClose: the server waits for open connections before onClose runs, and an
  // event stream never ends by itself.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  route('events', async ({ caller, query, request, reply }) => {
    const fromHeader = lastEventIdHeader(request.headers['last-event-id']);
    const resumeFrom = fromHeader ?? query.lastEventId;
    const store = deps.store;
    const ledgerSize = await store.ledgerSize();
    if (resumeFrom !== undefined) checkResumeBound(resumeFrom, ledgerSize, fromHeader !== undefined ? 'Last-Event-ID' : 'lastEventId');
    const wanted = entryTypeFilter(query.types, query.excludeTypes);
    // Without the warns, a replay reads only the lifecycle entries (a partial index).
    const lifecycleOnly = !wanted('evaluation_under_bypass');

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': breakglass event stream\n\n');

    // The visibility rule (shared/policy/visibility.ts): entries the caller may not see are not sent.
    const visibility = new EntryVisibility(store, () => deps.policies.policy, caller);

    let lastSent = resumeFrom ?? ledgerSize - 1;
    let closed = false;
    let queue: LedgerEntry[] = [];
    let draining = false;
    let replaying = true;

    const send = async (entries: readonly LedgerEntry[]) => {
      const candidates = entries.filter((e) => e.seq > lastSent && wanted(e.type));
      const flags = await visibility.visible(candidates);
      const shown = new Set(candidates.filter((_, i) => flags[i]));
      for (const entry of entries) {
        if (closed || entry.seq <= lastSent) continue;
        lastSent = entry.seq;
        if (shown.has(entry)) res.write(`id: ${entry.seq}\nevent: ledger\ndata: ${JSON.stringify(entry)}\n\n`);
      }
    };
    const drain = async () => {
      if (draining || replaying) return;
      draining = true;
      try {
        while (queue.length > 0 && !closed) {
          const batch = queue;
          queue = [];
          await send(batch);
        }
      } finally {
        draining = false;
      }
    };

    // Subscribe before replaying so nothing committed meanwhile is missed; seq de-duplicates.
    const unsubscribe = bus.subscribe((entries) => {
      for (const entry of entries) if (wanted(entry.type)) queue.push(entry);
      if (queue.length > 0) void drain();
    });
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const end = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(end);
      res.end();
    };
    open.add(end);
    // The response (not the request) closes when the client goes away.
    res.on('close', end);

    try {
      for (;;) {
        const page = lifecycleOnly ? await store.lifecycleEntries(lastSent, REPLAY_PAGE) : await store.getLedgerEntries(lastSent + 1, REPLAY_PAGE);
        if (page.length === 0 || closed) break;
        await send(page);
      }
    } catch (error) {
      request.log.error({ err: error }, 'event replay failed');
      end();
      return reply;
    }
    replaying = false;
    await drain();
    return reply;
  });
};
