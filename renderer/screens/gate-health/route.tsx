import type { ScreenRoute } from '../../app/screen-route';
import { GateHealthScreen } from './gate-health-screen';
import { useHealth } from './use-health';

/** Sidebar badge: the number of deviance findings ("fix the gate"), shown as urgent. */
function useFindingsBadge() {
  const count = useHealth().data?.report.findings.findings.length ?? 0;
  return count > 0 ? { count, urgent: true } : null;
}

export const route: ScreenRoute = { id: 'gate-health', label: 'Gate health', order: 35, nav: true, icon: 'gate-health', component: GateHealthScreen, useBadge: useFindingsBadge };
