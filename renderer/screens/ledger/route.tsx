import type { ScreenRoute } from '../../app/screen-route';
import { LedgerScreen } from './ledger-screen';

export const route: ScreenRoute = { id: 'ledger', label: 'Ledger', order: 40, nav: true, icon: 'ledger', fill: true, component: LedgerScreen };
