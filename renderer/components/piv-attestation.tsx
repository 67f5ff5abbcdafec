import { useChannelMutation } from '../bridge/queries';
import { CopyButton } from './copy-button';
import { ErrorNotice } from './error-notice';

/**
 * A PKCS#11 key's PIV attestation, for the admin: main reads it from the token on request
 * (ykcs11: the YubiKey makes the key attestation certificate when it is read) and checks it
 * certifies this key; shown as the two PEM files and the command that enrolls them, or the plain
 * reason there is none (any other token), or why it was refused.
 */
export function PivAttestation() {
  const read = useChannelMutation('console:main:read-piv-attestation', []);
  const result = read.data;
  return (
    <div aria-label="PIV attestation" style={{ marginTop: 12 }}>
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <span className="label">Attestation from the token</span>
        <button type="button" className="btn small" onClick={() => read.mutate({})} disabled={read.isPending}>
          {read.isPending ? 'Reading…' : 'Read attestation'}
        </button>
      </div>
      <ErrorNotice error={read.error} title="The attestation was not handed out" />
      {result && !result.available ? (
        <p className="muted" aria-label="PIV attestation unavailable">
          {result.reason}
        </p>
      ) : null}
      {result?.available ? (
        <>
          {result.attestation.certificates.map((pem, i) => (
            <div key={i}>
              <div className="row" style={{ justifyContent: 'space-between', margin: '8px 0 6px' }}>
                <span className="label">
                  {i === 0 ? `Key attestation (slot ${result.slot})` : 'Device attestation (slot f9)'}: save as <span className="mono">{result.files[i]}</span>
                </span>
                <CopyButton text={pem} label={`Copy ${result.files[i]}`} />
              </div>
              <pre className="pem" style={{ maxHeight: 140 }}>
                {pem.trim()}
              </pre>
            </div>
          ))}
          <div className="row" style={{ justifyContent: 'space-between', margin: '8px 0 6px' }}>
            <span className="label">Enroll command with the attestation</span>
            <CopyButton text={result.enrollCommand} label="Copy attested enroll command" />
          </div>
          <pre className="pem" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
            {result.enrollCommand}
          </pre>
        </>
      ) : null}
    </div>
  );
}
