import { z } from 'zod';
import { PrincipalNameSchema, RequestIdSchema, ReviewIdSchema, SlugSchema } from '../domain/common';
import { DigestQuerySchema } from '../domain/digest';
import { EmergencyCredentialIdSchema } from '../domain/emergency';
import { PageLimitSchema, pageCursorSchema } from '../domain/page-cursor';
import { REPORT_KINDS } from '../domain/reports';
import { ReviewStateSchema } from '../domain/review';
import { MAX_LEDGER_PAGE, SeqSchema } from './ledger-routes';

// The ledger's query and path schemas live with the ledger routes (ledger-routes.ts).
export { ConsistencyProofQuerySchema, CosignatureSubmitSchema, LedgerExportQuerySchema, MAX_LEDGER_PAGE, TileParams1Schema, TileParams2Schema, TileParams3Schema, TileParams4Schema } from './ledger-routes';

/**
 * Path parameters and query strings of the grant store's routes that are not domain schemas of
 * their own. Query values arrive as strings: numbers are coerced.
 */

/** Routes that take no query string: an unknown parameter is a 400 naming it. */
export const NoQuerySchema = z.strictObject({});
/** Bodies that must be empty objects (e.g. policy reload); an absent body counts as `{}`. */
export const EmptyBodySchema = z.strictObject({});

export const RequestIdParamsSchema = z.strictObject({ id: RequestIdSchema });
export const ReviewIdParamsSchema = z.strictObject({ id: ReviewIdSchema });
export const TokenIdParamsSchema = z.strictObject({ id: z.string().regex(/^tok_[0-9a-z]{16,32}$/, 'must be a token id like tok_…') });
export const PrincipalParamsSchema = z.strictObject({ principal: PrincipalNameSchema });
export const KeyParamsSchema = z.strictObject({ principal: PrincipalNameSchema, keyId: z.string().regex(/^[0-9a-f]{64}$/, 'must be a key id (64 hex)') });

export const ReviewListQuerySchema = z.strictObject({
  state: ReviewStateSchema.optional(),
  /** Reviews per page (newest opened first). */
  limit: PageLimitSchema,
  /** Keyset paging: the reviews after this one, as a previous page's nextCursor names it (shared/domain/page-cursor.ts). */
  cursor: pageCursorSchema('reviews').optional(),
});
export type ReviewListQuery = z.infer<typeof ReviewListQuerySchema>;

/** Every report kind served at /v1/reports/:kind: the REPORT_KINDS plus `health` (all of them in one). */
export const REPORT_ROUTE_KINDS = [...REPORT_KINDS, 'health'] as const;
export const ReportParamsSchema = z.strictObject({ kind: z.enum(REPORT_ROUTE_KINDS) });

const EntryTypeListSchema = z.string().regex(/^[a-z_]+(,[a-z_]+)*$/, 'must be a comma-separated list of ledger entry types');

export const EventsQuerySchema = z.strictObject({
  /** Same as the Last-Event-ID header (for clients that cannot set headers). */
  lastEventId: z.coerce.number().int().min(-1).optional(),
  /** Only these ledger entry types (comma-separated), e.g. `request_created,decision`. */
  types: EntryTypeListSchema.optional(),
  /** Every type but these (comma-separated): an inbox passes `evaluation_under_bypass`, the bulk of a busy ledger. */
  excludeTypes: EntryTypeListSchema.optional(),
});

export const LedgerEntriesQuerySchema = z.strictObject({
  from: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_LEDGER_PAGE).default(1000),
});

export const InclusionProofQuerySchema = z.strictObject({
  seq: SeqSchema,
  /** Default: the latest checkpoint's size. */
  treeSize: SeqSchema.min(1).optional(),
});

export const DecisionBundleParamsSchema = z.strictObject({ seq: SeqSchema });

export const CredentialIdParamsSchema = z.strictObject({ id: EmergencyCredentialIdSchema });
export const IncidentSourceParamsSchema = z.strictObject({ source: SlugSchema });
export const DigestSendInputSchema = z.strictObject({ week: DigestQuerySchema.shape.week });

export const GateParamsSchema = z.strictObject({ gate: SlugSchema });

