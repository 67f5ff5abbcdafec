/**
 * An incident reference becomes a link only when it is an https URL on an allow-listed host
 * (the policy's incidentLinkHosts). Parsed with `new URL`, never matched with startsWith, so
 * `https://good.example.evil.test` or `https://good.example@evil.test` do not pass.
 */
/** Short label for dense rows: a URL reference shows its last path segment ("…/INC-4240" → "INC-4240"). */
export function incidentLabel(ref: string): string {
  try {
    const url = new URL(ref);
    return url.pathname.split('/').filter(Boolean).pop() ?? url.hostname;
  } catch {
    return ref;
  }
}

export function allowedIncidentUrl(ref: string | null, hosts: readonly string[]): string | null {
  if (!ref) return null;
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.port) return null;
  return hosts.includes(url.hostname.toLowerCase()) ? url.href : null;
}
