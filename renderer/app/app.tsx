import { useEffect, useState } from 'react';
import type { AppError } from '../../shared/errors';
import { useBridge } from '../bridge/bridge-context';
import { useChannel } from '../bridge/queries';
import { ErrorNotice } from '../components/error-notice';
import { SetupScreen } from '../screens/setup/setup-screen';
import { InboxAnnouncer } from './announcer';
import { EmergencyBanner, PausedBanner, PinPromptBar, SessionBanner } from './banners';
import { routeById } from './routes';
import { Sidebar } from './sidebar';
import { useUi } from './ui-store';
import { useConsoleEvents } from './use-console-events';
import { useSession } from './use-session';

/** The browser host no longer accepts this page's link: a plain page saying what to do, not a developer error. */
export function LinkInvalidPage() {
  return (
    <div className="setup-wrap" role="main" aria-label="console link no longer valid">
      <div className="row" style={{ marginBottom: 6 }}>
        <div className="nav-brand-mark" aria-hidden="true">
          B
        </div>
        <h1>This console link is no longer valid</h1>
      </div>
      <div className="panel">
        <div className="panel-body stack" style={{ gap: 10 }}>
          <p style={{ margin: 0 }}>The console host was restarted (or printed a new link), so this tab cannot talk to it any more. Nothing you signed is lost.</p>
          <p style={{ margin: 0 }}>
            <strong>Open the new link</strong> the console host printed in its terminal (it ends in <code>#token=…</code>). You can paste it into this tab: it picks it up by itself.
          </p>
        </div>
      </div>
    </div>
  );
}

/** "(3) Breakglass console": the tab says how many requests wait, and "(!)" when the session is in trouble. */
function useTitleBadge(count: number | undefined, trouble: boolean): void {
  useEffect(() => {
    const prefix = trouble ? '(!) ' : count ? `(${count}) ` : '';
    document.title = `${prefix}Breakglass console`;
  }, [count, trouble]);
}

function useLinkInvalid(): boolean {
  const bridge = useBridge();
  const [invalid, setInvalid] = useState(false);
  useEffect(() => bridge.onLinkInvalid?.(() => setInvalid(true)), [bridge]);
  return invalid;
}

function FatalError({ error }: { error: AppError }) {
  return (
    <div className="setup-wrap">
      <h1 style={{ marginBottom: 12 }}>Breakglass console</h1>
      <ErrorNotice error={error} title="The console cannot start" />
    </div>
  );
}

export function App() {
  useConsoleEvents();
  const session = useSession();
  const screen = useUi((s) => s.screen);
  const enrolling = useUi((s) => s.enrolling);
  const linkInvalid = useLinkInvalid();
  const waiting = useChannel('console:main:list-inbox', {}, { enabled: Boolean(session.data?.configured) }).data?.items.length;
  const status = session.data?.connection.status;
  useTitleBadge(session.data?.configured ? waiting : undefined, status === 'offline' || status === 'token_rejected' || status === 'log_halted');

  if (linkInvalid) return <LinkInvalidPage />;
  if (session.isPending) return <div className="empty">Loading session…</div>;
  if (session.error && !session.data) return <FatalError error={session.error} />;
  const data = session.data!;
  // The enrollment step stays until the user moves on, even though setup already configured the session.
  if (!data.configured || enrolling)
    return (
      <>
        <PinPromptBar />
        <SetupScreen />
      </>
    );

  const route = routeById(screen) ?? routeById('inbox');
  const Screen = route?.component;
  return (
    <div className="shell">
      <a
        className="skip-link"
        href="#main-content"
        onClick={(e) => {
          // The fragment carries the browser host's link token: move focus without touching it.
          e.preventDefault();
          document.getElementById('main-content')?.focus();
        }}
      >
        Skip to content
      </a>
      <Sidebar session={data} />
      <div className="main">
        <SessionBanner session={data} />
        <EmergencyBanner />
        <PausedBanner />
        <PinPromptBar />
        <main id="main-content" tabIndex={-1} className={`content${route?.fill ? ' fill' : ''}`} aria-label={route?.label ?? 'content'}>
          {Screen ? <Screen /> : null}
        </main>
      </div>
      <InboxAnnouncer />
    </div>
  );
}

export function StartupError({ error }: { error: AppError }) {
  return <FatalError error={error} />;
}
