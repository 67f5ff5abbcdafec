import type { BypassRequest } from '../../shared/domain/request';
import type { StoreFixture } from './grant-store-fixture';

/**
 * An active bypass on a low-tier gate of the example policy (one approval), filed by alice and
 * approved by bob with a freshly enrolled software key, through the store's real routes.
 * Returns the activated request.
 */
export async function activeBypass(f: StoreFixture, gate: string, scope: Record<string, string>, opts: { ttl?: string } = {}): Promise<BypassRequest> {
  const alice = await f.token('alice', ['requester']);
  const bob = await f.approver('bob');
  const created = await f.call('POST', '/v1/requests', {
    token: alice,
    body: { gate, scope, reason: 'integration suite is down and a hotfix for INC-1190 must ship', incidentRef: 'INC-1190', severity: 'sev3', ttl: opts.ttl ?? '1h' },
  });
  if (created.status !== 201) throw new Error(`request failed: ${created.text}`);
  const request = created.json.request as BypassRequest;
  const decided = await f.call('POST', `/v1/requests/${request.id}/decisions`, { token: bob.token, body: { bundle: await f.sign(request, 'bob', bob.signer, 'approve') } });
  if (decided.status !== 200 || decided.json.request.state !== 'active') throw new Error(`approval did not activate the bypass: ${decided.text}`);
  return decided.json.request as BypassRequest;
}
