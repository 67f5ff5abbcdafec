import type { AppError } from '../../shared/errors';
import { ErrorNotice } from '../components/error-notice';
import { SetupScreen } from '../screens/setup/setup-screen';
import { OfflineBanner, PausedBanner, PinPromptBar } from './banners';
import { routeById } from './routes';
import { Sidebar } from './sidebar';
import { useUi } from './ui-store';
import { useConsoleEvents } from './use-console-events';
import { useSession } from './use-session';

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

  if (session.isPending) return <div className="empty">Loading session…</div>;
  if (session.error && !session.data) return <FatalError error={session.error} />;
  const data = session.data!;
  if (!data.configured)
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
      <Sidebar session={data} />
      <div className="main">
        <OfflineBanner session={data} />
        <PausedBanner />
        <PinPromptBar />
        <main className={`content${route?.fill ? ' fill' : ''}`} aria-label={route?.label ?? 'content'}>
          {Screen ? <Screen /> : null}
        </main>
      </div>
    </div>
  );
}

export function StartupError({ error }: { error: AppError }) {
  return <FatalError error={error} />;
}
