import { useCallback, useEffect, useState } from 'react';
import type { WhoAmI } from '../shared/domain/identity';
import type { Policy } from '../shared/domain/policy';
import { AppError } from '../shared/errors';
import { parseRequestLink, type RequestLink } from '../shared/gates/request-link';
import { ErrorNotice } from '../renderer/components/error-notice';
import { RequestForm } from './request-form';
import { SignIn } from './sign-in';
import { StatusView } from './status-view';
import { api, tokenStore } from './store-api';

/** What the address bar says: a block link (gate, scope, rule, ctx.*) or a filed request (?id=req_…). */
type Target = { kind: 'link'; link: RequestLink } | { kind: 'status'; id: string } | { kind: 'bad'; error: AppError };

function targetOf(search: string): Target {
  const id = new URLSearchParams(search).get('id');
  if (id) return /^req_[A-Za-z0-9]{1,64}$/.test(id) ? { kind: 'status', id } : { kind: 'bad', error: new AppError('invalid_input', `"${id}" is not a request id`) };
  try {
    return { kind: 'link', link: parseRequestLink(search) };
  } catch (error) {
    const fieldErrors = (error as { issues?: { path: PropertyKey[]; message: string }[] }).issues?.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    return { kind: 'bad', error: new AppError('invalid_input', 'this request link is incomplete or damaged: ask for a new one from the gate that blocked you', { fieldErrors }) };
  }
}

/**
 * What the store's single sign-on left in the fragment: `#session=<store session>` after a
 * sign-in, `#sign-in-error=<why>` after a refused one. Read once and stripped from the address
 * bar (and from history) before anything else runs.
 */
function takeFragment(): AppError | null {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const session = fragment.get('session');
  const failed = fragment.get('sign-in-error');
  if (session === null && failed === null) return null;
  history.replaceState(null, '', location.pathname + location.search);
  if (session) tokenStore.set(session);
  return failed ? new AppError('unauthenticated', failed) : null;
}

/** The whole page: sign in, then the pre-filled form, then the live status of what was filed. */
export function RequestPageApp() {
  const [signInError] = useState<AppError | null>(() => takeFragment());
  const [target, setTarget] = useState<Target>(() => targetOf(location.search));
  const [me, setMe] = useState<WhoAmI | null>(null);
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [error, setError] = useState<AppError | null>(signInError);
  const [checking, setChecking] = useState(() => tokenStore.get() !== null);

  const load = useCallback(async () => {
    setChecking(true);
    setError(null);
    try {
      const [who, p] = await Promise.all([api<WhoAmI>('GET', '/v1/whoami'), api<{ policy: Policy }>('GET', '/v1/policy')]);
      setMe(who);
      setPolicy(p.policy);
    } catch (e) {
      if (e instanceof AppError && e.code === 'unauthenticated') tokenStore.clear();
      setError(e instanceof AppError ? e : new AppError('internal', String(e)));
      setMe(null);
    } finally {
      setChecking(false);
    }
  }, []);

  useEffect(() => {
    if (tokenStore.get()) void load();
  }, [load]);

  const signOut = () => {
    tokenStore.clear();
    setMe(null);
    setPolicy(null);
  };

  const filed = (id: string) => {
    history.pushState(null, '', `?id=${encodeURIComponent(id)}`);
    setTarget({ kind: 'status', id });
  };

  return (
    <div className="rp-shell">
      <header className="rp-top">
        <span className="nav-brand-mark" aria-hidden="true">
          B
        </span>
        <span className="nav-brand-name">Breakglass</span>
        <span className="nav-brand-sub">{target.kind === 'status' ? 'your request' : 'request a bypass'}</span>
        <span className="spacer" />
        {me && (
          <span className="who">
            signed in as <strong>{me.principal}</strong>
            {me.team ? ` (team ${me.team})` : ''}{' '}
            <button type="button" className="btn link" onClick={signOut}>
              sign out
            </button>
          </span>
        )}
      </header>
      <main className="rp-main">
        {target.kind === 'bad' ? (
          // A refused sign-in whose page is unknown lands on bare /request: say why it failed, not "damaged link".
          <ErrorNotice error={signInError ?? target.error} title={signInError ? 'Sign-in failed' : undefined} />
        ) : !me || !policy ? (
          <SignIn busy={checking} error={error} onToken={(token) => (tokenStore.set(token), void load())} link={target.kind === 'link' ? target.link : null} />
        ) : target.kind === 'link' ? (
          <RequestForm link={target.link} me={me} policy={policy} onFiled={filed} />
        ) : (
          <StatusView id={target.id} policy={policy} />
        )}
      </main>
    </div>
  );
}
