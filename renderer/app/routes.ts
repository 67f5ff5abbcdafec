import type { ScreenRoute } from './screen-route';

const modules = import.meta.glob<ScreenRoute>('../screens/*/route.tsx', { eager: true, import: 'route' });

/** Every screen, sidebar order. */
export const ROUTES: readonly ScreenRoute[] = Object.values(modules).sort((a, b) => a.order - b.order);

export const routeById = (id: string): ScreenRoute | undefined => ROUTES.find((r) => r.id === id);
