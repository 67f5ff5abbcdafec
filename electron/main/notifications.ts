import type { Notification, NotificationConstructorOptions } from 'electron';
import type { ConsoleNotification } from '../core/notifier';

export interface NotificationDeps {
  Notification: (new (options: NotificationConstructorOptions) => Pick<Notification, 'on' | 'show'>) & { isSupported(): boolean };
  /** The request the notification is about, or null (a session notification: open the console). */
  onClick: (requestId: string | null) => void;
  icon?: string;
}

/** Show one native notification; clicking it opens the request in the console window. */
export function showRequestNotification(deps: NotificationDeps, notification: ConsoleNotification): boolean {
  if (!deps.Notification.isSupported()) return false;
  const native = new deps.Notification({
    title: notification.title,
    body: notification.body,
    urgency: notification.severity === 'sev1' ? 'critical' : 'normal',
    ...(deps.icon ? { icon: deps.icon } : {}),
  });
  native.on('click', () => deps.onClick(notification.requestId));
  native.show();
  return true;
}
