import { formatRemaining } from '../../shared/domain/ttl';
import { decisionSla } from '../../shared/policy/sla';
import { formatAge, formatUtc } from '../lib/time';
import { useNow } from './use-now';

/**
 * Decision-SLA timer: grey while there is time, amber in the last third of the window, red once
 * overdue. Text and colour come from one computation (shared/policy/sla.ts), the same rule main
 * uses for the inbox's deadline and its notifications.
 */
export function SlaTimer({ createdAt, incidentRef }: { createdAt: string; incidentRef: string | null }) {
  const now = useNow();
  const sla = decisionSla({ createdAt, incidentRef }, now);
  const text = sla.overdue ? `overdue ${formatAge(-sla.remainingMs)}` : `${formatRemaining(sla.remainingMs)} left`;
  return (
    <span
      className={`sla sla-${sla.level}`}
      title={`Decision due ${formatUtc(sla.dueAt)} (${sla.incident ? '15 minutes for incident-flagged requests' : 'one business day: 24 hours of UTC Monday-Friday'})`}
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
