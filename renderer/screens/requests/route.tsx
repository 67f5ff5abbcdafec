import type { ScreenRoute } from '../../app/screen-route';
import { RequestsScreen } from './requests-screen';

export const route: ScreenRoute = { id: 'requests', label: 'All requests', order: 15, nav: true, icon: 'requests', component: RequestsScreen };
