import { z } from 'zod';
import { PrincipalNameSchema, RequestIdSchema, ReviewIdSchema, SlugSchema } from '../domain/common';
import { DigestQuerySchema } from '../domain/digest';
import { EmergencyCredentialIdSchema } from '../domain/emergency';
import { REPORT_KINDS } from '../domain/reports';
import { ReviewStateSchema } from '../domain/review';

/**
 * Path parameters and query strings of the grant store's routes that are not domain schemas of
 * their own. Query values arrive as strings: numbers are coerced.
 */

/** Routes that take no query string: an unknown parameter is a 400 naming it. */
export const NoQuerySchema = z.strictObject({});
/** Bodies that must be empty objects (e.g. policy reload); an absent body counts as `{}`. */
export const EmptyBodySchema = z.strictObject({});

/** A witness hands back its cosignature: the checkpoint it cosigned (signed note or body) and its signature line. */
export const CosignatureSubmitSchema = z.strictObject({
  checkpoint: z.string().min(1).max(16_384),
  /** One C2SP cosignature/v1 signature line: "— <witness name> <base64>". */
  cosignature: z.string().min(1).max(1024),
});

export const RequestIdParamsSchema = z.strictObject({ id: RequestIdSchema });
export const ReviewIdParamsSchema = z.strictObject({ id: ReviewIdSchema });
export const TokenIdParamsSchema = z.strictObject({ id: z.string().regex(/^tok_[0-9a-z]{16,32}$/, 'must be a token id like tok_…') });
export const PrincipalParamsSchema = z.strictObject({ principal: PrincipalNameSchema });
export const KeyParamsSchema = z.strictObject({ principal: PrincipalNameSchema, keyId: z.string().regex(/^[0-9a-f]{64}$/, 'must be a key id (64 hex)') });

export const ReviewListQuerySchema = z.strictObject({ state: ReviewStateSchema.optional() });

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

/** Largest page of ledger entries one call returns. */
export const MAX_LEDGER_PAGE = 5000;

export const LedgerEntriesQuerySchema = z.strictObject({
  from: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_LEDGER_PAGE).default(1000),
});

const SeqSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const InclusionProofQuerySchema = z.strictObject({
  seq: SeqSchema,
  /** Default: the latest checkpoint's size. */
  treeSize: SeqSchema.min(1).optional(),
});

export const ConsistencyProofQuerySchema = z
  .strictObject({ from: SeqSchema, to: SeqSchema.optional() })
  .refine((q) => q.to === undefined || q.from <= q.to, { path: ['from'], message: 'must be at most `to`' });

export const LedgerExportQuerySchema = z.strictObject({
  /** Pin the export to the checkpoint of this size (default: the latest). */
  treeSize: SeqSchema.optional(),
  from: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_LEDGER_PAGE).default(1000),
  /**
   * Whether the first page lists every signed checkpoint up to treeSize (`checkpoints`). A
   * verifier needs only the latest one; the history only narrows down where a mismatch is, so
   * `ledger verify` asks for it (`include`) only after a mismatch.
   */
  history: z.enum(['include', 'omit']).default('include'),
  /**
   * Whether the page carries the leaf hashes the log recorded (`leafHashes`). A verifier
   * recomputes every leaf; the recorded ones only name the first altered entry once a root does
   * not match, so `ledger verify` asks for them (`include`) only then.
   */
  leaves: z.enum(['include', 'omit']).default('include'),
});

export const DecisionBundleParamsSchema = z.strictObject({ seq: SeqSchema });

export const CredentialIdParamsSchema = z.strictObject({ id: EmergencyCredentialIdSchema });
export const IncidentSourceParamsSchema = z.strictObject({ source: SlugSchema });
export const DigestSendInputSchema = z.strictObject({ week: DigestQuerySchema.shape.week });

export const GateParamsSchema = z.strictObject({ gate: SlugSchema });

/** One path segment of a C2SP tlog-tiles URL (checked against the spec by the handler: a bad one is a 404). */
const TileSegmentSchema = z.string().max(8);
/** tile/<level>/<N…>: the index path of 1 to 4 segments (its last two may be `NNN.p` and the width). */
export const TileParams1Schema = z.strictObject({ level: TileSegmentSchema, a: TileSegmentSchema });
export const TileParams2Schema = z.strictObject({ level: TileSegmentSchema, a: TileSegmentSchema, b: TileSegmentSchema });
export const TileParams3Schema = z.strictObject({ level: TileSegmentSchema, a: TileSegmentSchema, b: TileSegmentSchema, c: TileSegmentSchema });
export const TileParams4Schema = z.strictObject({ level: TileSegmentSchema, a: TileSegmentSchema, b: TileSegmentSchema, c: TileSegmentSchema, d: TileSegmentSchema });
