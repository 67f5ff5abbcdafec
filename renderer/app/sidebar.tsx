import { useState, type KeyboardEvent } from 'react';
import type { Session } from '../../shared/ipc/contract';
import { NAV_ICONS } from '../components/nav-icons';
import { ROUTES } from './routes';
import type { ScreenRoute } from './screen-route';
import { useUi } from './ui-store';

/**
 * In the collapsed rail the label is a tooltip shown on hover and keyboard focus. It goes away
 * when the item is clicked (the pointer may rest there), on Escape, on blur and pointer leave (CSS),
 * and when the screen changes by any other way (a focused item keeps its focus); the next hover
 * or focus shows it again.
 */
function useQuietTooltip() {
  const screen = useUi((s) => s.screen);
  const [quiet, setQuiet] = useState(false);
  const [seenScreen, setSeenScreen] = useState(screen);
  if (seenScreen !== screen) {
    setSeenScreen(screen);
    setQuiet(true);
  }
  return {
    'data-tooltip': quiet ? 'hidden' : undefined,
    // A new hover or a new focus (Tab, or the pointer press before a click) may show it again;
    // leaving or blurring hides it by CSS, and must not bring it back while the pointer rests.
    onPointerEnter: () => setQuiet(false),
    onFocus: () => setQuiet(false),
    onKeyDown: (e: KeyboardEvent) => {
      if (e.key === 'Escape') setQuiet(true);
    },
    quiet: () => setQuiet(true),
  };
}

function NavItem({ route, current }: { route: ScreenRoute; current: boolean }) {
  const navigate = useUi((s) => s.navigate);
  const badge = route.useBadge?.();
  const { quiet, ...tooltip } = useQuietTooltip();
  return (
    <li>
      <button
        type="button"
        className="nav-item"
        aria-current={current ? 'page' : undefined}
        {...tooltip}
        onClick={() => {
          quiet();
          navigate(route.id);
        }}
      >
        {route.icon ? NAV_ICONS[route.icon] : null}
        {/* The accessible name; in the collapsed rail it is the tooltip shown on hover and focus. */}
        <span className="nav-label">{route.label}</span>
        {badge && badge.count > 0 ? (
          <span className={`nav-count${badge.urgent ? ' urgent' : ''}`} aria-label={`${badge.count}${badge.more ? '+' : ''} ${route.label.toLowerCase()}`}>
            {badge.count}
            {badge.more ? '+' : ''}
          </span>
        ) : null}
      </button>
    </li>
  );
}

export function Sidebar({ session }: { session: Session }) {
  const screen = useUi((s) => s.screen);
  const returnTo = useUi((s) => s.returnTo);
  const active = screen === 'request' ? returnTo : screen;
  const { status, statusText } = session.connection;
  const dot = status === 'connected' ? 'ok' : status === 'reconnecting' || status === 'key_not_enrolled' ? 'warn' : 'bad';
  const word = { connected: 'connected', reconnecting: 'reconnecting', offline: 'offline', token_rejected: 'token rejected', log_halted: 'log halted', key_not_enrolled: 'key not enrolled' }[status];
  return (
    <nav className="nav" aria-label="Main navigation">
      <div className="nav-brand">
        <div className="nav-brand-mark" aria-hidden="true">
          B
        </div>
        <div className="nav-brand-text">
          <div className="nav-brand-name">Breakglass</div>
          <div className="nav-brand-sub">approver console</div>
        </div>
      </div>
      <ul className="nav-list">
        {ROUTES.filter((r) => r.nav).map((route) => (
          <NavItem key={route.id} route={route} current={route.id === active} />
        ))}
      </ul>
      <div className="nav-footer">
        <div className="who">{session.principal ?? 'not signed in'}</div>
        <div className="nav-team">
          {session.team ? `team ${session.team}` : 'no team'}
          {session.approverGroups.length ? ` · ${session.approverGroups.join(', ')}` : ''}
        </div>
        <div className="status" role="status" aria-label={`session ${word}`} title={`${statusText} · ${session.storeUrl ?? 'no store'}`}>
          <span className={`dot ${dot}`} aria-hidden="true" />
          <span className="mono">{word}</span>
        </div>
        {/* The store on its own line, wrapped rather than cut: it says which store this console trusts. */}
        <div className="store mono">{session.storeUrl?.replace(/^https?:\/\//, '') ?? 'no store'}</div>
      </div>
    </nav>
  );
}
