import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import type { Session } from '../../shared/ipc/contract';
import { useBridge } from '../bridge/bridge-context';
import { channelKey } from '../bridge/queries';
import { useUi } from './ui-store';

const PIN_POPUP_FEATURES = 'popup=yes,width=440,height=420';
/**
 * A burst of store events (a script filing hundreds of requests, a sweep expiring many bypasses)
 * becomes one refetch per window instead of one per event.
 */
const REFRESH_COALESCE_MS = 400;

/**
 * The reads a store event can change (main emits inbox-changed after each coalesced refresh, for
 * every ledger entry but CI evaluations). Only the queries on screen refetch; the rest go stale.
 * A paged list refetches the pages it shows, from the newest, so a new row appears at the top.
 */
const REFRESHED_BY_STORE_EVENTS = [
  'console:main:list-inbox',
  'console:main:list-requests',
  'console:main:list-active',
  'console:main:list-reviews',
  'console:main:get-request',
  'console:main:query-ledger',
] as const;

/** Main → renderer events: refresh what changed, follow notification clicks, show PIN prompts. */
export function useConsoleEvents() {
  const bridge = useBridge();
  const client = useQueryClient();
  useEffect(() => {
    let pending: ReturnType<typeof setTimeout> | null = null;
    const refreshDecisions = () => {
      if (pending) return;
      pending = setTimeout(() => {
        pending = null;
        for (const channel of REFRESHED_BY_STORE_EVENTS) {
          void client.invalidateQueries({ queryKey: [channel] });
        }
      }, REFRESH_COALESCE_MS);
    };
    const offs = [
      bridge.on('console:renderer:inbox-changed', refreshDecisions),
      bridge.on('console:renderer:open-request', ({ id }) => useUi.getState().openRequest(id, 'inbox')),
      bridge.on('console:renderer:connection-changed', (connection) => {
        const key = channelKey('console:main:get-session', {});
        const before = client.getQueryData<Session>(key);
        if (before) client.setQueryData<Session>(key, { ...before, connection });
        if (connection.online && before && !before.connection.online) void client.invalidateQueries();
        // Enrollment, a rejected token, a halted log: what may be done changed, so re-read the session and the open request.
        else if (before && before.connection.status !== connection.status) {
          void client.invalidateQueries({ queryKey: ['console:main:get-session'] });
          void client.invalidateQueries({ queryKey: ['console:main:get-request'] });
        }
      }),
      bridge.on('console:renderer:pin-required', (prompt) => {
        // The PIN page belongs to the host, not to this app: the PIN never enters React.
        const popup = window.open(prompt.url, `breakglass-pin-${prompt.promptId}`, PIN_POPUP_FEATURES);
        useUi.getState().addPinPrompt({ ...prompt, popupBlocked: !popup });
      }),
      bridge.on('console:renderer:pin-settled', ({ promptId }) => useUi.getState().settlePinPrompt(promptId)),
      // Browser host: notifications through the Web Notifications API once the user allowed them
      // (Settings asks, from a click). Electron shows them natively from main, so not here.
      bridge.on('console:renderer:notification', (notification) => {
        if (bridge.transport !== 'browser' || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
        const shown = new Notification(notification.title, { body: notification.body, tag: `${notification.kind}:${notification.requestId ?? 'session'}` });
        shown.onclick = () => {
          window.focus();
          if (notification.requestId) useUi.getState().openRequest(notification.requestId, 'inbox');
        };
      }),
    ];
    return () => {
      if (pending) clearTimeout(pending);
      offs.forEach((off) => off());
    };
  }, [bridge, client]);
}
