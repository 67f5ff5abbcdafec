import { create } from 'zustand';
import type { Severity } from '../../shared/domain/common';
import type { LedgerEntryType } from '../../shared/domain/ledger-entry';
import type { RendererEventPayload } from '../../shared/ipc/contract';

export interface LedgerFilters {
  search: string;
  gate: string;
  team: string;
  actor: string;
  type: LedgerEntryType | '';
}

export const EMPTY_LEDGER_FILTERS: LedgerFilters = { search: '', gate: '', team: '', actor: '', type: '' };

export interface InboxFilters {
  text: string;
  severity: Severity | '';
  safetyOnly: boolean;
}

export const EMPTY_INBOX_FILTERS: InboxFilters = { text: '', severity: '', safetyOnly: false };

export type PinPrompt = RendererEventPayload<'console:renderer:pin-required'> & { popupBlocked: boolean };

/** UI state only (what is selected, typed, open). Remote data lives in react-query. */
interface UiState {
  screen: string;
  /** Request shown by the `request` screen, and where "back" goes. */
  requestId: string | null;
  returnTo: string;
  ledgerFilters: LedgerFilters;
  inboxFilters: InboxFilters;
  pinPrompts: PinPrompt[];
  /** Setup created the key and shows it for enrollment: stay on that screen until the user moves on. */
  enrolling: boolean;
  setEnrolling(enrolling: boolean): void;
  navigate(screen: string): void;
  openRequest(id: string, from?: string): void;
  setLedgerFilters(patch: Partial<LedgerFilters>): void;
  setInboxFilters(patch: Partial<InboxFilters>): void;
  addPinPrompt(prompt: PinPrompt): void;
  settlePinPrompt(promptId: string): void;
}

export const useUi = create<UiState>((set, get) => ({
  screen: 'inbox',
  requestId: null,
  returnTo: 'inbox',
  ledgerFilters: EMPTY_LEDGER_FILTERS,
  inboxFilters: EMPTY_INBOX_FILTERS,
  pinPrompts: [],
  enrolling: false,
  setEnrolling: (enrolling) => set({ enrolling }),
  navigate: (screen) => set({ screen }),
  openRequest: (id, from) => set({ screen: 'request', requestId: id, returnTo: from ?? (get().screen === 'request' ? get().returnTo : get().screen) }),
  setLedgerFilters: (patch) => set({ ledgerFilters: { ...get().ledgerFilters, ...patch } }),
  setInboxFilters: (patch) => set({ inboxFilters: { ...get().inboxFilters, ...patch } }),
  addPinPrompt: (prompt) => set({ pinPrompts: [...get().pinPrompts.filter((p) => p.promptId !== prompt.promptId), prompt] }),
  settlePinPrompt: (promptId) => set({ pinPrompts: get().pinPrompts.filter((p) => p.promptId !== promptId) }),
}));
