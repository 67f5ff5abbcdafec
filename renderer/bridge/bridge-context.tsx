import { createContext, useContext, type ReactNode } from 'react';
import type { ConsoleBridge } from './console-bridge';

const BridgeContext = createContext<ConsoleBridge | null>(null);

export function BridgeProvider({ bridge, children }: { bridge: ConsoleBridge; children: ReactNode }) {
  return <BridgeContext.Provider value={bridge}>{children}</BridgeContext.Provider>;
}

export function useBridge(): ConsoleBridge {
  const bridge = useContext(BridgeContext);
  if (!bridge) throw new Error('useBridge outside BridgeProvider');
  return bridge;
}
