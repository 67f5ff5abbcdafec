import { formatRemaining } from '../../shared/domain/ttl';
import { decisionSla } from '../lib/sla';
import { formatAge, formatUtc } from '../lib/time';
import { useNow } from './use-now';

/** Decision-SLA timer: grey while there is time, amber in the last third, red once overdue. */
export function SlaTimer({ createdAt, incidentRef, deadline }: { createdAt: string; incidentRef: string | null; deadline?: string }) {
  const now = useNow();
  const sla = decisionSla({ createdAt, incidentRef }, now);
  const dueAt = deadline ? new Date(deadline).getTime() : sla.dueAt;
  const remaining = dueAt - now;
  const level = remaining <= 0 ? 'red' : sla.level;
  const text = remaining <= 0 ? `overdue ${formatAge(-remaining)}` : `${formatRemaining(remaining)} left`;
  return (
    <span
      className={`sla sla-${level}`}
      title={`Decision due ${formatUtc(dueAt)} (${sla.incident ? '15 minutes for incident-flagged requests' : 'one business day'})`}
      aria-label={`decision due: ${text}`}
    >
      {text}
    </span>
  );
}

/** Live bypass countdown from the server's expiry time. */
export function Countdown({ expiresAt }: { expiresAt: string }) {
  const now = useNow();
  const remaining = new Date(expiresAt).getTime() - now;
  const LOW_MS = 5 * 60_000; // the last five minutes are shown in red
  return (
    <span className={`countdown${remaining < LOW_MS ? ' low' : ''}`} aria-label={`time left ${formatRemaining(remaining)}`} title={`Expires ${formatUtc(expiresAt)}`}>
      {formatRemaining(remaining)}
    </span>
  );
}

export function Age({ since }: { since: string }) {
  const now = useNow();
  return (
    <span className="mono nowrap" title={formatUtc(since)}>
      {formatAge(now - new Date(since).getTime())}
    </span>
  );
}
