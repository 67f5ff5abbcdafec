import type { GateKind, Severity } from '../../shared/domain/common';
import type { SigningKeyKind } from '../../shared/ipc/contract';
import { keyHardwareLabel, type AttestationRef } from '../../shared/domain/identity';
import { SEVERITY_LABEL } from '../lib/severity';

export function SeverityBadge({ severity }: { severity: Severity }) {
  return (
    <span className={`badge sev sev-${severity}`} title={SEVERITY_LABEL[severity]} aria-label={`severity ${severity}`}>
      {severity}
    </span>
  );
}

/** A safety gate (signing, secrets, provenance) is marked loudly; a slow gate quietly. */
export function GateKindBadge({ kind }: { kind: GateKind }) {
  if (kind === 'safety') {
    return (
      <span className="badge gate-safety" aria-label="safety gate" title="Safety gate: it protects signing, secrets or provenance">
        ⚠ Safety gate
      </span>
    );
  }
  return (
    <span className="badge gate-slow" aria-label="slow gate" title="Slow gate: a long-running check">
      slow
    </span>
  );
}

export function TierBadge({ tier }: { tier: string }) {
  return (
    <span className="badge tier" aria-label={`tier ${tier}`}>
      tier {tier}
    </span>
  );
}

export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`badge state state-${state}`} aria-label={`state ${state.replace('_', ' ')}`}>
      {state.replace('_', ' ')}
    </span>
  );
}

/**
 * A key's hardware origin as the store knows it. Only an attested key gets the positive (green)
 * badge; a key that claims hardware without an attestation is a caution (amber, "claimed, not
 * attested"), since nothing proves the private key is on a token; a software key is neutral.
 */
export function KeyBadge({ hardwareBacked, kind, attestation }: { hardwareBacked: boolean; kind?: SigningKeyKind; attestation?: AttestationRef | null }) {
  if (kind === 'file') {
    return (
      <span className="badge warn-file" aria-label="software-file signer, not protected by the OS keychain" title="A key file on disk: not protected by the OS keychain (demo only)">
        software file · not in the OS keychain
      </span>
    );
  }
  const label = keyHardwareLabel({ hardwareBacked, attestation });
  if (attestation) {
    return (
      <span className="badge hw" aria-label={`hardware-backed key, ${label}`} title="The store verified the token's attestation of this key">
        hardware key · {label}
      </span>
    );
  }
  if (kind === 'tpm') {
    // Certified by the TPM, but the store has not verified (enrolled) that certification yet.
    return (
      <span className="badge hw-claimed" aria-label="TPM key, not attested by the store yet" title="Made in this machine's TPM and certified there; attested once the store verifies the certification at enrollment">
        TPM key · not attested by the store yet
      </span>
    );
  }
  if (hardwareBacked) {
    return (
      <span className="badge hw-claimed" aria-label={`hardware key ${label}: no attestation was verified`} title="Hardware by the admin's word only: no attestation was verified, so nothing proves the key cannot be copied">
        ⚠ hardware key · {label}
      </span>
    );
  }
  return (
    <span className="badge sw" aria-label="software key">
      software key
    </span>
  );
}
