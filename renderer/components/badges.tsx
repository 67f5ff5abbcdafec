import type { GateKind, Severity } from '../../shared/domain/common';
import type { SigningKeyKind } from '../../shared/ipc/contract';
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

export function KeyBadge({ hardwareBacked, kind }: { hardwareBacked: boolean; kind?: SigningKeyKind }) {
  if (kind === 'file') {
    return (
      <span className="badge warn-file" aria-label="software-file signer, not protected by the OS keychain" title="A key file on disk: not protected by the OS keychain (demo only)">
        software file · not in the OS keychain
      </span>
    );
  }
  return hardwareBacked ? (
    <span className="badge hw" aria-label="hardware-backed key">
      hardware key
    </span>
  ) : (
    <span className="badge sw" aria-label="software key">
      software key
    </span>
  );
}
