/**
 * Rows per page of the stack's console lists (ConsoleOptions.reviewPageSize and requestPageSize):
 * a handful shows the Reviews and Requests screens' Show more.
 */
export const E2E_LIST_PAGE = 5;

/** What the e2e stack (stack.ts) prints once it is ready; the tests read it from BG_E2E_STACK. */
export interface StackInfo {
  storeUrl: string;
  storeDataDir: string;
  adminToken: string;
  /** Bearer tokens by principal: alice, dave (requesters), bob (the console's approver), carol (CLI approver), ci (gate). */
  tokens: Record<string, string>;
  /** Browser host base URL and its secret (the tests call /ipc directly for refusals). */
  consoleUrl: string;
  consoleToken: string;
  /** Base URL + #token=… (hand-over in the fragment). */
  openUrl: string;
  /**
   * stack.ts control API: POST /store/stop, POST /store/start, GET /notifications,
   * POST /host/restart?token=new|original, POST /clock/jump?ms=N (the console's clock moves N ms
   * ahead and fires the timers due), POST /clock/reset (back to real time).
   */
  controlUrl: string;
  /** The console's reviews per page (E2E_LIST_PAGE). */
  reviewPageSize: number;
  /** The console's requests per page (E2E_LIST_PAGE). */
  requestPageSize: number;
  softhsm: { modulePath: string; tokenLabel: string; userPin: string };
  /** Environment for CLI runs (no keychain secrets; tokens are passed per call). */
  cliEnv: Record<string, string>;
}
