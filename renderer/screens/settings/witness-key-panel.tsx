import type { ReactNode } from 'react';
import type { ConsoleWitnessKey } from '../../../shared/ipc/contract';

/**
 * Settings → this console as a ledger witness: its C2SP vkey, which an admin adds to the policy's
 * `witnesses:` so the console's cosignatures of the checkpoints it verified count towards the
 * quorum. `witness` null: no keychain (or not signed in), so the console does not witness.
 * `copy(text)`: the screen's copy button (kept out of this file so it renders without a DOM).
 */
export function WitnessKeyPanel({ witness, copy }: { witness: ConsoleWitnessKey | null | undefined; copy: (text: string) => ReactNode }) {
  return (
    <section className="panel" aria-label="witness key">
      <div className="panel-head">
        <h3>Ledger witness</h3>
      </div>
      <div className="panel-body">
        {witness ? (
          <dl className="facts">
            <dt>Witness name</dt>
            <dd className="mono" aria-label="witness name">
              {witness.name}
            </dd>
            <dt>Verifier key</dt>
            <dd>
              <code className="mono" aria-label="witness vkey" style={{ wordBreak: 'break-all' }}>
                {witness.vkey}
              </code>{' '}
              {copy(witness.vkey)}
              <div className="muted">After each verified sync this console cosigns the checkpoint. Ask an admin to list this key under the policy&apos;s witnesses: so its cosignatures count.</div>
            </dd>
          </dl>
        ) : witness === null ? (
          <span className="muted">This console does not witness the ledger: it needs the OS keychain to hold its witness key.</span>
        ) : (
          <span className="muted">Loading…</span>
        )}
      </div>
    </section>
  );
}
