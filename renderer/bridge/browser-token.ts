/**
 * The browser host hands its secret token once, in the URL fragment (`#token=…`): fragments never
 * reach a server log or a Referer. We keep it in sessionStorage (this tab only, gone when it
 * closes) and strip it from the address bar so it is not bookmarked or shared by accident.
 */
const STORAGE_KEY = 'breakglass.hostToken';

/** The slices of window.location / history / sessionStorage used here (narrow, so tests pass plain objects). */
export interface TokenLocation {
  hash: string;
  pathname: string;
  search: string;
}
export interface TokenHistory {
  state: unknown;
  replaceState(state: unknown, unused: string, url: string): void;
}
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export function takeHostToken(location: TokenLocation, history: TokenHistory, storage: TokenStorage): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromHash = params.get('token');
  if (fromHash) {
    storage.setItem(STORAGE_KEY, fromHash);
    params.delete('token');
    const rest = params.toString();
    history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
    return fromHash;
  }
  return storage.getItem(STORAGE_KEY);
}
