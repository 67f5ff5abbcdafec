import { z } from 'zod';
import type { Scope } from '../../domain/common';
import { parseScopeText } from '../scope-text';

/**
 * Gatekeeper's external data protocol (externaldata.gatekeeper.sh): Gatekeeper POSTs a
 * ProviderRequest with the keys a constraint template passed to `external_data`, and the
 * provider answers a ProviderResponse with one item per key: {key, value} or {key, error}, or a
 * systemError for the whole request. Here each key is one subject in the scope text form
 * (`namespace=prod,workload=deployment/api,image=…`), built by the template (docs/integrations.md).
 */
export const GATEKEEPER_API_VERSIONS = ['externaldata.gatekeeper.sh/v1beta1', 'externaldata.gatekeeper.sh/v1alpha1'] as const;

/** Keys per request: a Pod has a handful of images; thousands would be a mistake or an attack. */
export const MAX_GATEKEEPER_KEYS = 256;

export const ProviderRequestSchema = z.strictObject({
  apiVersion: z.enum(GATEKEEPER_API_VERSIONS),
  kind: z.literal('ProviderRequest'),
  request: z.strictObject({ keys: z.array(z.string().max(2048)).max(MAX_GATEKEEPER_KEYS).default([]) }),
});
export type ProviderRequest = z.infer<typeof ProviderRequestSchema>;

/** What the store says about one key: the check's verdict, and the way out when it blocks. */
export interface GatekeeperItemValue {
  /** true: an active bypass covers this subject (the evaluation is in the ledger). */
  bypassed: boolean;
  verdict: 'block' | 'warn';
  message: string;
  /** On block: the request page, pre-filled; null under a bypass. */
  requestUrl: string | null;
  bypassId: string | null;
  expiresAt: string | null;
}

export type ProviderItem = { key: string; value: GatekeeperItemValue } | { key: string; error: string };

export interface ProviderResponse {
  apiVersion: (typeof GATEKEEPER_API_VERSIONS)[number];
  kind: 'ProviderResponse';
  response: { idempotent: boolean; items: ProviderItem[]; systemError?: string };
}

/** Each key as a subject, or the reason it is not one (answered as that item's error). */
export function subjectsOfKeys(keys: readonly string[]): ({ key: string; subject: Scope } | { key: string; error: string })[] {
  return keys.map((key) => {
    const parsed = parseScopeText(key, 'key');
    return 'scope' in parsed ? { key, subject: parsed.scope } : { key, error: parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ') };
  });
}

/**
 * The answer. Not idempotent: the same key can change its answer the moment a bypass is approved
 * or expires, and each answer under a bypass is recorded (docs: set Gatekeeper's
 * --external-data-provider-response-cache-ttl=0 so expiry is exact).
 */
export function providerResponse(apiVersion: ProviderResponse['apiVersion'], items: ProviderItem[]): ProviderResponse {
  return { apiVersion, kind: 'ProviderResponse', response: { idempotent: false, items } };
}

/** The whole request failed (bad document, unknown gate, store unavailable): Gatekeeper reports systemError. */
export function providerSystemError(apiVersion: ProviderResponse['apiVersion'], message: string): ProviderResponse {
  return { apiVersion, kind: 'ProviderResponse', response: { idempotent: false, items: [], systemError: message } };
}
