import type { ScreenRoute } from '../../app/screen-route';
import { useChannel } from '../../bridge/queries';
import { ActiveScreen } from './active-screen';

function useActiveBadge() {
  const active = useChannel('console:main:list-active', {}, { refetchInterval: 15_000 });
  return { count: active.data?.requests.length ?? 0 };
}

export const route: ScreenRoute = { id: 'active', label: 'Active bypasses', order: 20, nav: true, icon: 'active', component: ActiveScreen, useBadge: useActiveBadge };
