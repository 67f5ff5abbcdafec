export type Pkcs11KeyMode = 'generate' | 'select';

/**
 * The fields that name a key on a PKCS#11 token: module, token label, key label, and whether to
 * generate the key or use one already there. Setup and Settings' "Add hardware key" both ask
 * for it; `idPrefix` keeps their element ids apart.
 */
export function Pkcs11KeyFields(props: {
  idPrefix: string;
  modulePath: string;
  setModulePath: (value: string) => void;
  tokenLabel: string;
  setTokenLabel: (value: string) => void;
  keyLabel: string;
  setKeyLabel: (value: string) => void;
  mode: Pkcs11KeyMode;
  setMode: (mode: Pkcs11KeyMode) => void;
}) {
  const { idPrefix: p, mode, setMode } = props;
  return (
    <>
      <div className="field">
        <label htmlFor={`${p}module-path`}>PKCS#11 module</label>
        <input id={`${p}module-path`} className="input mono" value={props.modulePath} onChange={(e) => props.setModulePath(e.target.value)} required />
      </div>
      <div className="row" style={{ alignItems: 'flex-start' }}>
        <div className="field" style={{ flex: 1 }}>
          <label htmlFor={`${p}token-label`}>Token label</label>
          <input id={`${p}token-label`} className="input mono" value={props.tokenLabel} onChange={(e) => props.setTokenLabel(e.target.value)} required />
        </div>
        <div className="field" style={{ flex: 1 }}>
          <label htmlFor={`${p}key-label`}>Key label</label>
          <input id={`${p}key-label`} className="input mono" value={props.keyLabel} onChange={(e) => props.setKeyLabel(e.target.value)} required />
        </div>
      </div>
      <div className="row">
        <label className="row">
          <input type="radio" name={`${p}key-mode`} checked={mode === 'generate'} onChange={() => setMode('generate')} /> Generate a new key on the token
        </label>
        <label className="row">
          <input type="radio" name={`${p}key-mode`} checked={mode === 'select'} onChange={() => setMode('select')} /> Use an existing key with this label
        </label>
      </div>
    </>
  );
}
