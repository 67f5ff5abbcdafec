import type { ComponentType } from 'react';
import type { NavIconName } from '../components/nav-icons';

/**
 * One screen of the console. Each `screens/<name>/route.tsx` exports `route: ScreenRoute` and
 * the shell discovers it (import.meta.glob), so adding a screen is adding one folder: no
 * registry to edit, no switch to extend.
 */
export interface ScreenRoute {
  id: string;
  label: string;
  /** Sidebar position (ascending). */
  order: number;
  /** Shown in the sidebar; detail screens (a request) are reached from lists instead. */
  nav: boolean;
  /** The sidebar icon (the collapsed rail below 1200 px shows only it, with the label as a tooltip). */
  icon?: NavIconName;
  component: ComponentType;
  /** The screen scrolls its own body (virtualized lists) instead of the page scrolling. */
  fill?: boolean;
  /** Sidebar counter (called as a hook on every render of the sidebar). */
  useBadge?: () => {
    count: number;
    urgent?: boolean;
    /** There are more than `count` (a list read a page at a time): shown as `count+`. */
    more?: boolean;
  } | null;
}
