import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { z } from 'zod';
import { AppError } from '../shared/errors';
import { App, StartupError } from './app/app';
import { BridgeProvider } from './bridge/bridge-context';
import { createBridge } from './bridge/get-bridge';
import './styles/app.css';

// The CSP forbids eval; tell zod not to probe for it (its JIT would trip a CSP violation report).
z.config({ jitless: true });

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Errors are shown as data; a refused call (forbidden, invalid) must not be silently retried.
      retry: (count, error) => count < 1 && error instanceof AppError && error.code === 'store_unreachable',
      refetchOnWindowFocus: true,
      staleTime: 2_000,
    },
    mutations: { retry: false },
  },
});

const bridge = createBridge();
const root = createRoot(document.getElementById('root')!);
root.render(
  <StrictMode>
    {bridge instanceof AppError ? (
      <StartupError error={bridge} />
    ) : (
      <BridgeProvider bridge={bridge}>
        <QueryClientProvider client={queryClient}>
          <App />
        </QueryClientProvider>
      </BridgeProvider>
    )}
  </StrictMode>,
);
