import { useEffect, useRef, useState } from 'react';
import { useChannel } from '../bridge/queries';

/**
 * A polite live region that says when requests arrive in the inbox ("New request: sev1
 * deploy-prod from alice"), so a screen-reader user hears them without leaving the page. The
 * first load is not announced; only requests that were not there before are.
 */
export function InboxAnnouncer() {
  const inbox = useChannel('console:main:list-inbox', {});
  const seen = useRef<Set<string> | null>(null);
  const [message, setMessage] = useState('');
  useEffect(() => {
    const items = inbox.data?.items;
    if (!items) return;
    const ids = new Set(items.map((i) => i.request.id));
    const before = seen.current;
    seen.current = ids;
    if (!before) return;
    const fresh = items.filter((i) => !before.has(i.request.id));
    if (!fresh.length) return;
    const first = fresh[0]!.request;
    setMessage(
      fresh.length === 1
        ? `New request: ${first.severity} ${first.gate} from ${first.requester}.`
        : `${fresh.length} new requests, the first: ${first.severity} ${first.gate} from ${first.requester}.`,
    );
  }, [inbox.data]);
  return (
    <div className="sr-only" role="status" aria-live="polite" aria-label="announcements">
      {message}
    </div>
  );
}
