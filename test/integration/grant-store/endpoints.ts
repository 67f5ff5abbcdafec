/**
 * Every grant store endpoint, for the table-driven bad-input and auth tests. `:req`, `:rev`,
 * `:tok`, `:principal`, `:key` are filled in by the test with real or unknown ids; `:gate` with
 * the policy's gate `ci-tests`.
 */
export interface Endpoint {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** Role that may call it (the test uses a token with only this role). */
  role: 'requester' | 'approver' | 'gate' | 'admin' | 'auditor' | 'any';
  /** A role that must get 403 (none where every authenticated role may call it). */
  forbiddenRole?: 'requester' | 'approver' | 'gate' | 'admin' | 'auditor';
  /** The endpoint takes a JSON body. */
  body?: boolean;
  /** Fields of the body / query for the wrong-type test, with the path expected in fieldErrors. */
  wrongTypes?: { value: unknown; path: string };
  /** A query string with a wrong type. */
  badQuery?: { query: string; path: string };
}

export const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: '/v1/whoami', role: 'any', badQuery: { query: 'x=1', path: 'x' } },
  { method: 'GET', path: '/v1/policy', role: 'any', badQuery: { query: 'x=1', path: 'x' } },
  { method: 'POST', path: '/v1/requests', role: 'requester', forbiddenRole: 'gate', body: true, wrongTypes: { value: { gate: 7, scope: { repo: 'x', branch: 'main' }, reason: 'r'.repeat(30), severity: 'sev3', ttl: '1h' }, path: 'gate' } },
  { method: 'GET', path: '/v1/requests', role: 'any', badQuery: { query: 'limit=abc', path: 'limit' } },
  { method: 'GET', path: '/v1/requests/:req', role: 'requester' },
  { method: 'POST', path: '/v1/requests/:req/reply', role: 'requester', forbiddenRole: 'gate', body: true, wrongTypes: { value: { message: 42 }, path: 'message' } },
  { method: 'POST', path: '/v1/requests/:req/cancel', role: 'requester', forbiddenRole: 'gate', body: true, wrongTypes: { value: { comment: ['x'] }, path: 'comment' } },
  { method: 'POST', path: '/v1/requests/:req/decisions', role: 'approver', forbiddenRole: 'requester', body: true, wrongTypes: { value: { bundle: 'not-a-bundle' }, path: 'bundle' } },
  { method: 'POST', path: '/v1/checks', role: 'gate', forbiddenRole: 'requester', body: true, wrongTypes: { value: { gate: 'ci-tests', subject: { repo: 5 } }, path: 'subject.repo' } },
  { method: 'GET', path: '/v1/reviews', role: 'approver', forbiddenRole: 'requester', badQuery: { query: 'state=bogus', path: 'state' } },
  { method: 'GET', path: '/v1/reviews/:rev', role: 'approver', forbiddenRole: 'requester' },
  { method: 'POST', path: '/v1/reviews/:rev/complete', role: 'approver', forbiddenRole: 'gate', body: true, wrongTypes: { value: { finding: 'great', note: 'a note that is long enough' }, path: 'finding' } },
  { method: 'GET', path: '/v1/history', role: 'approver', forbiddenRole: 'gate', badQuery: { query: 'requester=!!', path: 'requester' } },
  { method: 'GET', path: '/v1/ledger/entries', role: 'auditor', forbiddenRole: 'requester', badQuery: { query: 'from=-1', path: 'from' } },
  { method: 'GET', path: '/v1/events', role: 'any', badQuery: { query: 'lastEventId=abc', path: 'lastEventId' } },
  { method: 'POST', path: '/v1/admin/tokens', role: 'admin', forbiddenRole: 'auditor', body: true, wrongTypes: { value: { principal: 'zed', roles: ['superuser'] }, path: 'roles.0' } },
  { method: 'GET', path: '/v1/admin/tokens', role: 'admin', forbiddenRole: 'auditor' },
  { method: 'DELETE', path: '/v1/admin/tokens/:tok', role: 'admin', forbiddenRole: 'approver' },
  { method: 'POST', path: '/v1/admin/approvers/:principal/keys', role: 'admin', forbiddenRole: 'approver', body: true, wrongTypes: { value: { publicKeyPem: 'x'.repeat(60), hardwareBacked: 'yes' }, path: 'hardwareBacked' } },
  { method: 'GET', path: '/v1/admin/approvers/:principal/keys', role: 'admin', forbiddenRole: 'requester' },
  { method: 'DELETE', path: '/v1/admin/approvers/:principal/keys/:key', role: 'admin', forbiddenRole: 'approver' },
  { method: 'POST', path: '/v1/admin/policy/reload', role: 'admin', forbiddenRole: 'approver', body: true, wrongTypes: { value: { force: true }, path: 'force' } },
  { method: 'POST', path: '/v1/emergency/credentials', role: 'admin', forbiddenRole: 'approver', body: true, wrongTypes: { value: { gate: 7, scope: { repo: 'x' }, holders: ['alice'] }, path: 'gate' } },
  { method: 'GET', path: '/v1/emergency/credentials', role: 'admin', forbiddenRole: 'requester' },
  { method: 'POST', path: '/v1/emergency/open', role: 'requester', body: true, wrongTypes: { value: { credential: 5, reason: 'r'.repeat(30), incidentRef: 'INC-1' }, path: 'credential' } },
  { method: 'GET', path: '/v1/digest', role: 'approver', forbiddenRole: 'requester', badQuery: { query: 'week=2026-48', path: 'week' } },
  { method: 'POST', path: '/v1/digest/send', role: 'admin', forbiddenRole: 'approver', body: true, wrongTypes: { value: { week: 5 }, path: 'week' } },
  { method: 'POST', path: '/v1/admission/gatekeeper/:gate', role: 'gate', forbiddenRole: 'requester', body: true, wrongTypes: { value: { apiVersion: 'externaldata.gatekeeper.sh/v1beta1', kind: 'ProviderRequest', request: { keys: 'repo=x' } }, path: 'request.keys' } },
  { method: 'POST', path: '/v1/admission/kyverno/:gate', role: 'gate', forbiddenRole: 'approver', body: true, wrongTypes: { value: { namespace: 'prod', kind: 'Pod', object: [] }, path: 'object' } },
  { method: 'POST', path: '/v1/admission/review/:gate', role: 'gate', forbiddenRole: 'requester', body: true, wrongTypes: { value: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 7 } }, path: 'request.uid' } },
];

export const UNKNOWN_IDS = {
  req: 'req_0000000000000000000000dead',
  rev: 'rev_0000000000000000000000dead',
  tok: 'tok_0000000000000000000000dead',
  key: 'f'.repeat(64),
  /** Not an id: the admission routes' gate, one the example policy has. */
  gate: 'ci-tests',
};
