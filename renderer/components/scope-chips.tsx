import type { Scope } from '../../shared/domain/common';

/** key=value chips in monospace; `wrap` on detail pages, clipped in dense rows. */
export function ScopeChips({ scope, wrap = false }: { scope: Scope; wrap?: boolean }) {
  const entries = Object.entries(scope);
  return (
    <span className={`chips${wrap ? ' wrap' : ''}`} aria-label={`scope ${entries.map(([k, v]) => `${k}=${v}`).join(', ')}`}>
      {entries.map(([k, v]) => (
        <span className="chip" key={k}>
          <span className="k">{k}=</span>
          {v}
        </span>
      ))}
    </span>
  );
}

export const scopeText = (scope: Scope) =>
  Object.entries(scope)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
