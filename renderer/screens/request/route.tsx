import type { ScreenRoute } from '../../app/screen-route';
import { RequestScreen } from './request-screen';

export const route: ScreenRoute = { id: 'request', label: 'Request', order: 100, nav: false, component: RequestScreen };
