/**
 * The policy the TPM suites (CLI and console, AK-certificate and endorsement-key routes) start
 * their store with: one tier that needs an attested hardware key, one slow gate on it, the
 * approvers in their own team, and the attestation root the test itself made.
 */
export interface AttestedTierPolicy {
  /** The tier's name (the suites differ only in how they call it). */
  tier: string;
  /** Approvers, all in team platform; alice (team payments) is the requester. */
  approvers: readonly string[];
  root: { id: string; kind: 'tpm' | 'tpm-ek' | 'piv'; pem: string };
}

/** PEM lines indented to sit under `certificate: |` in the roots list. */
function underCertificate(pem: string): string {
  return pem
    .trimEnd()
    .split('\n')
    .map((line) => `        ${line}`)
    .join('\n');
}

export function attestedTierPolicy({ tier, approvers, root }: AttestedTierPolicy): string {
  const names = approvers.join(', ');
  return `version: 1
ttlChoices: [15m, 1h]
tiers:
  ${tier}: { approvals: 1, approverGroups: [leads], maxTtl: 1h, hardwareKeyRequired: true, attestationRequired: true }
gates:
  - { id: ci-tests, kind: slow, tier: ${tier}, scopeKeys: [repo, branch] }
teams:
  payments: { members: [alice] }
  platform: { members: [${names}] }
approvers:
  leads: [${names}]
attestation:
  roots:
    - id: ${root.id}
      kind: ${root.kind}
      certificate: |
${underCertificate(root.pem)}
`;
}
