import type { ScreenRoute } from '../../app/screen-route';
import { useChannel } from '../../bridge/queries';
import { InboxScreen } from './inbox-screen';

function useInboxBadge() {
  const inbox = useChannel('console:main:list-inbox', {}, { refetchInterval: 30_000 });
  const items = inbox.data?.items ?? [];
  return { count: items.length, urgent: items.some((i) => i.incidentFlagged || i.request.severity === 'sev1') };
}

export const route: ScreenRoute = { id: 'inbox', label: 'Inbox', order: 10, nav: true, icon: 'inbox', fill: true, component: InboxScreen, useBadge: useInboxBadge };
