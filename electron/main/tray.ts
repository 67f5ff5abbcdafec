import type { MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import { join } from 'node:path';
import type { InboxItem } from '../../shared/ipc/contract';

/** Requests listed in the tray menu (newest first). */
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

/** tray.png for none waiting, tray-<n>.png for 1-9, tray-many.png beyond (each with @2x/@3x). */
export function trayIconPath(iconDir: string, count: number): string {
  const name = count <= 0 ? 'tray' : count <= 9 ? `tray-${count}` : 'tray-many';
  return join(iconDir, `${name}.png`);
}

export function trayMenuTemplate(items: InboxItem[], count: number, deps: Pick<TrayDeps, 'onOpenConsole' | 'onOpenRequest' | 'onPause' | 'onQuit'>): MenuItemConstructorOptions[] {
  const newest = [...items].sort((a, b) => b.request.createdAt.localeCompare(a.request.createdAt)).slice(0, TRAY_MENU_REQUESTS);
  const requestItems: MenuItemConstructorOptions[] = newest.map((item) => ({
    label: `${item.request.severity.toUpperCase()} ${item.request.gate}: ${item.request.requester}${item.request.gateKind === 'safety' ? ' (safety)' : ''}`,
    click: () => deps.onOpenRequest(item.request.id),
  }));
  return [
    { label: count === 0 ? 'Nothing waiting for you' : `${count} waiting for you`, enabled: false },
    ...requestItems,
    { type: 'separator' },
    { label: 'Open console', click: () => deps.onOpenConsole() },
    { label: 'Pause notifications for 1 h', click: () => deps.onPause(TRAY_PAUSE_MINUTES) },
    { type: 'separator' },
    { label: 'Quit', click: () => deps.onQuit() },
  ];
}

/** The tray icon: count badge, tooltip, menu of the newest requests waiting for me. */
export class ConsoleTray {
  private readonly tray: ReturnType<TrayDeps['createTray']>;

  constructor(private readonly deps: TrayDeps) {
    this.tray = deps.createTray(deps.loadImage(trayIconPath(deps.iconDir, 0)));
    this.tray.on('click', () => deps.onOpenConsole());
    this.update([], 0);
  }

  update(items: InboxItem[], count: number): void {
    this.tray.setImage(this.deps.loadImage(trayIconPath(this.deps.iconDir, count)));
    this.tray.setToolTip(count === 0 ? 'Breakglass: nothing waiting' : `Breakglass: ${count} request${count === 1 ? '' : 's'} waiting for you`);
    this.tray.setTitle?.(count > 0 ? String(count) : '');
    this.tray.setContextMenu(this.deps.buildMenu(trayMenuTemplate(items, count, this.deps)));
  }

  destroy(): void {
    this.tray.destroy();
  }
}
