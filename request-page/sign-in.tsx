import { useState } from 'react';
import type { AppError } from '../shared/errors';
import type { RequestLink } from '../shared/gates/request-link';
import { ErrorNotice } from '../renderer/components/error-notice';
import { ScopeChips } from '../renderer/components/scope-chips';

/**
 * Sign in to the store from this tab: paste a Breakglass token or a session (`breakglass login`
 * prints where it keeps one). It stays in this tab's sessionStorage, sent only to this store.
 */
export function SignIn({ busy, error, onToken, link }: { busy: boolean; error: AppError | null; onToken: (token: string) => void; link: RequestLink | null }) {
  const [token, setToken] = useState('');
  return (
    <div className="setup-wrap stack">
      <div className="page-head">
        <div>
          <h1>Sign in to request a bypass</h1>
          {link ? (
            <p>
              Gate <strong className="mono">{link.gate}</strong> blocked <ScopeChips scope={link.scope} />
            </p>
          ) : (
            <p>Sign in to follow your request.</p>
          )}
        </div>
      </div>
      <form
        className="panel"
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) onToken(token.trim());
        }}
      >
        <div className="panel-head">
          <h2>Your Breakglass token</h2>
        </div>
        <div className="panel-body">
          <div className="field">
            <label htmlFor="token">Token or session</label>
            <input id="token" className="input mono" type="password" autoComplete="off" spellCheck={false} value={token} onChange={(e) => setToken(e.target.value)} placeholder="bgt_… or bgs_…" />
            <span className="hint">Kept in this browser tab only and sent only to this store. An admin creates one with <code>breakglass admin token create</code>.</span>
          </div>
          <ErrorNotice error={error} title="Sign-in failed" />
          <div className="row" style={{ marginTop: 12 }}>
            <button type="submit" className="btn primary" disabled={busy || token.trim() === ''}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
          </div>
        </div>
      </form>
    </div>
  );
}
