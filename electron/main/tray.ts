import type { MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import { join } from 'node:path';
import type { ConnectionState, InboxItem } from '../../shared/ipc/contract';

/** Requests listed in the tray menu (most urgent first: severity, then decision due soonest). */
export const TRAY_MENU_REQUESTS = 5;
/** "Pause notifications for 1 h". */
export const TRAY_PAUSE_MINUTES = 60;

export interface TrayDeps {
  createTray: (icon: NativeImage) => Pick<Tray, 'setImage' | 'setToolTip' | 'setContextMenu' | 'on' | 'destroy'> & Partial<Pick<Tray, 'setTitle'>>;
  buildMenu: (template: MenuItemConstructorOptions[]) => Electron.Menu;
  loadImage: (path: string) => NativeImage;
  /** build/icons/tray (inside the asar when packaged). */
  iconDir: string;
  onOpenConsole: () => void;
  onOpenRequest: (id: string) => void;
  onPause: (minutes: number) => void;
  onQuit: () => void;
}

/** Session states the tray marks as an error (greyed shield, red "!"): nothing reaches the approver. */
const ERROR_STATES = new Set<ConnectionState['status']>(['offline', 'token_rejected', 'log_halted']);

/** tray.png for none waiting, tray-<n>.png for 1-9, tray-many.png beyond, tray-error.png when the session is in trouble (each with @2x/@3x). */
export function trayIconPath(iconDir: string, count: number, status: ConnectionState['status'] = 'connected'): string {
  const name = ERROR_STATES.has(status) ? 'tray-error' : count <= 0 ? 'tray' : count <= 9 ? `tray-${count}` : 'tray-many';
  return join(iconDir, `${name}.png`);
}

/** Most urgent first: severity (sev1 first), then the decision due soonest (slaDeadline, shared/policy/sla.ts). */
export function byUrgency(a: InboxItem, b: InboxItem): number {
  return a.request.severity.localeCompare(b.request.severity) || a.slaDeadline.localeCompare(b.slaDeadline) || a.request.createdAt.localeCompare(b.request.createdAt);
}

export function trayMenuTemplate(
  items: InboxItem[],
  count: number,
  deps: Pick<TrayDeps, 'onOpenConsole' | 'onOpenRequest' | 'onPause' | 'onQuit'>,
  connection?: Pick<ConnectionState, 'status' | 'statusText'>,
): MenuItemConstructorOptions[] {
  const urgent = [...items].sort(byUrgency).slice(0, TRAY_MENU_REQUESTS);
  const requestItems: MenuItemConstructorOptions[] = urgent.map((item) => ({
    label: `${item.request.severity === 'sev1' ? '‼ ' : ''}${item.request.severity.toUpperCase()} ${item.request.gate}: ${item.request.requester}${item.request.gateKind === 'safety' ? ' (safety)' : ''}`,
    click: () => deps.onOpenRequest(item.request.id),
  }));
  const state: MenuItemConstructorOptions[] = connection && connection.status !== 'connected' ? [{ label: connection.statusText, enabled: false }, { type: 'separator' }] : [];
  return [
    ...state,
    { label: count === 0 ? 'Nothing waiting for you' : `${count} waiting for you`, enabled: false },
    ...requestItems,
    { type: 'separator' },
    { label: 'Open console', click: () => deps.onOpenConsole() },
    { label: 'Pause notifications for 1 h', click: () => deps.onPause(TRAY_PAUSE_MINUTES) },
    { type: 'separator' },
    { label: 'Quit', click: () => deps.onQuit() },
  ];
}

/** The tray icon: count badge or error state, tooltip with the session state, menu of the most urgent requests waiting for me. */
export class ConsoleTray {
  private readonly tray: ReturnType<TrayDeps['createTray']>;
  private connection: Pick<ConnectionState, 'status' | 'statusText'> = { status: 'connected', statusText: 'Connected' };
  private last: { items: InboxItem[]; count: number } = { items: [], count: 0 };

  constructor(private readonly deps: TrayDeps) {
    this.tray = deps.createTray(deps.loadImage(trayIconPath(deps.iconDir, 0)));
    this.tray.on('click', () => deps.onOpenConsole());
    this.update([], 0);
  }

  update(items: InboxItem[], count: number): void {
    this.last = { items, count };
    const { status, statusText } = this.connection;
    this.tray.setImage(this.deps.loadImage(trayIconPath(this.deps.iconDir, count, status)));
    const waiting = count === 0 ? 'nothing waiting' : `${count} request${count === 1 ? '' : 's'} waiting for you`;
    this.tray.setToolTip(status === 'connected' ? `Breakglass: ${waiting}` : `Breakglass: ${statusText} · ${waiting}`);
    this.tray.setTitle?.(ERROR_STATES.has(status) ? '!' : count > 0 ? String(count) : '');
    this.tray.setContextMenu(this.deps.buildMenu(trayMenuTemplate(items, count, this.deps, this.connection)));
  }

  /** The session state changed (connection-changed): icon, tooltip and menu say it. */
  setConnection(connection: Pick<ConnectionState, 'status' | 'statusText'>): void {
    this.connection = { status: connection.status, statusText: connection.statusText };
    this.update(this.last.items, this.last.count);
  }

  destroy(): void {
    this.tray.destroy();
  }
}
