import { useEffect, useState } from 'react';
import type { AuthConfig } from '../shared/domain/session';
import type { AppError } from '../shared/errors';
import type { RequestLink } from '../shared/gates/request-link';
import { ErrorNotice } from '../renderer/components/error-notice';
import { ScopeChips } from '../renderer/components/scope-chips';
import { api } from './store-api';

/**
 * Sign in to the store from this tab: with the organisation's IdP when the store has single
 * sign-on (GET /v1/auth/config), or by pasting a Breakglass token (automation, bootstrap, a store
 * without SSO). Either way the store session or token stays in this tab's sessionStorage.
 */
export function SignIn({ busy, error, onToken, link }: { busy: boolean; error: AppError | null; onToken: (token: string) => void; link: RequestLink | null }) {
  const [token, setToken] = useState('');
  const [sso, setSso] = useState<AuthConfig['oidc']>(null);
  useEffect(() => {
    api<AuthConfig>('GET', '/v1/auth/config').then(
      (config) => setSso(config.oidc),
      // Without the config the token form still works; nothing to show for it.
      () => setSso(null),
    );
  }, []);
  const ssoHref = `/request/sign-in?return=${encodeURIComponent(location.pathname + location.search)}`;
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
      {sso ? (
        <section className="panel" aria-label="single sign-on">
          <div className="panel-body row">
            <a className="btn primary" href={ssoHref}>
              Sign in with your organisation
            </a>
            <span className="muted">
              through <span className="mono">{new URL(sso.issuer).host}</span>; your team and roles come from it.
            </span>
          </div>
        </section>
      ) : null}
      {sso ? <ErrorNotice error={error} title="Sign-in failed" /> : null}
      <form
        className="panel"
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) onToken(token.trim());
        }}
      >
        <div className="panel-head">
          <h2>{sso ? 'Or paste a Breakglass token' : 'Your Breakglass token'}</h2>
        </div>
        <div className="panel-body">
          <div className="field">
            <label htmlFor="token">Token or session</label>
            <input id="token" className="input mono" type="password" autoComplete="off" spellCheck={false} value={token} onChange={(e) => setToken(e.target.value)} placeholder="bgt_… or bgs_…" />
            <span className="hint">Kept in this browser tab only and sent only to this store. An admin creates one with <code>breakglass admin token create</code>.</span>
          </div>
          {sso ? null : <ErrorNotice error={error} title="Sign-in failed" />}
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
