import type { ReactNode } from 'react';

/**
 * Sidebar icons (16 px line drawings, currentColor). Decorative: the button they sit in carries
 * the screen's name, which the collapsed rail also shows as a tooltip on hover and focus.
 */
function Icon({ children }: { children: ReactNode }) {
  return (
    <svg className="nav-icon" width="18" height="18" viewBox="0 0 16 16" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" focusable="false">
      {children}
    </svg>
  );
}

export const NAV_ICONS = {
  inbox: (
    <Icon>
      <path d="M2 9.5 3.8 3h8.4L14 9.5V13H2z" />
      <path d="M2 9.5h3.5l1 1.5h3l1-1.5H14" />
    </Icon>
  ),
  requests: (
    <Icon>
      <path d="M5.5 4h8M5.5 8h8M5.5 12h8" />
      <circle cx="2.5" cy="4" r=".6" />
      <circle cx="2.5" cy="8" r=".6" />
      <circle cx="2.5" cy="12" r=".6" />
    </Icon>
  ),
  active: (
    <Icon>
      <circle cx="8" cy="8.5" r="5.5" />
      <path d="M8 5.5v3l2 1.5M6.5 1.5h3" />
    </Icon>
  ),
  reviews: (
    <Icon>
      <path d="M4 1.5h6l3 3v10H4z" />
      <path d="m6.5 9.5 1.5 1.5 3-3.5" />
    </Icon>
  ),
  'gate-health': (
    <Icon>
      <path d="M1.5 8.5h3l1.5-4 3 8 1.5-4h4" />
    </Icon>
  ),
  ledger: (
    <Icon>
      <rect x="2.5" y="1.5" width="11" height="13" rx="1" />
      <path d="M5 5h6M5 8h6M5 11h4" />
    </Icon>
  ),
  settings: (
    <Icon>
      <circle cx="8" cy="8" r="2" />
      <path d="M8 1.5v2M8 12.5v2M1.5 8h2M12.5 8h2M3.4 3.4l1.4 1.4M11.2 11.2l1.4 1.4M3.4 12.6l1.4-1.4M11.2 4.8l1.4-1.4" />
    </Icon>
  ),
} as const;

export type NavIconName = keyof typeof NAV_ICONS;
