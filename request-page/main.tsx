import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { z } from 'zod';
import '../renderer/styles/app.css';
import './request-page.css';
import { RequestPageApp } from './request-page-app';

// The CSP forbids eval: zod must not probe for it.
z.config({ jitless: true });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RequestPageApp />
  </StrictMode>,
);
