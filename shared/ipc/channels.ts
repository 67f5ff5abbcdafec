/**
 * Channel names only (no zod), so the sandboxed preload can bundle them without the schemas.
 * shared/ipc/contract.ts holds the schemas and checks at compile time that these names match.
 */

/** Method names on `window.breakglass`, one per main channel. */
export const MAIN_METHODS = {
  getSession: 'console:main:get-session',
  setup: 'console:main:setup',
  signInIdp: 'console:main:sign-in-idp',
  signOut: 'console:main:sign-out',
  changeKey: 'console:main:change-key',
  getTpmStatus: 'console:main:get-tpm-status',
  certifyTpmKey: 'console:main:certify-tpm-key',
  readPivAttestation: 'console:main:read-piv-attestation',
  listInbox: 'console:main:list-inbox',
  listRequests: 'console:main:list-requests',
  getRequest: 'console:main:get-request',
  approve: 'console:main:approve',
  deny: 'console:main:deny',
  ask: 'console:main:ask',
  revoke: 'console:main:revoke',
  listActive: 'console:main:list-active',
  listReviews: 'console:main:list-reviews',
  completeReview: 'console:main:complete-review',
  getHealth: 'console:main:get-health',
  queryLedger: 'console:main:query-ledger',
  syncLedger: 'console:main:sync-ledger',
  getWitnessKey: 'console:main:get-witness-key',
  getSettings: 'console:main:get-settings',
  updateSettings: 'console:main:update-settings',
  pauseNotifications: 'console:main:pause-notifications',
  openExternal: 'console:main:open-external',
} as const;
export type MainMethod = keyof typeof MAIN_METHODS;

/** Main → renderer event names. */
export const RENDERER_EVENT_NAMES = [
  'console:renderer:inbox-changed',
  'console:renderer:open-request',
  'console:renderer:connection-changed',
  'console:renderer:pin-required',
  'console:renderer:pin-settled',
  'console:renderer:notification',
] as const;
