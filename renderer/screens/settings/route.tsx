import type { ScreenRoute } from '../../app/screen-route';
import { SettingsScreen } from './settings-screen';

export const route: ScreenRoute = { id: 'settings', label: 'Settings', order: 90, nav: true, icon: 'settings', component: SettingsScreen };
