import { z } from 'zod';
import { table } from './route-def';

/**
 * The routes `breakglass ledger verify` calls, with their query, path and answer schemas: part
 * of THE contract (shared/http/contract.ts names each one in its place in ROUTES), apart so that
 * the verifier loads these schemas alone, not every route's and every domain schema (a good
 * part of an incremental verify's start-up). Nothing here imports the domain.
 */

const LEDGER_READERS = ['approver', 'auditor', 'admin'] as const;
const TILE_CONTENT = { 'application/octet-stream': 'the tile: 32-byte hashes concatenated, or an entry bundle (2-byte big-endian length + entry, per entry)' } as const;

/** A witness hands back its cosignature: the checkpoint it cosigned (signed note or body) and its signature line. */
export const CosignatureSubmitSchema = z.strictObject({
  checkpoint: z.string().min(1).max(16_384),
  /** One C2SP cosignature/v1 signature line: "— <witness name> <base64>". */
  cosignature: z.string().min(1).max(1024),
});

/** Largest page of ledger entries one call returns. */
export const MAX_LEDGER_PAGE = 5000;

/** A ledger position (seq or tree size) in a query or path: coerced from its text. */
export const SeqSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

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

/** One path segment of a C2SP tlog-tiles URL (checked against the spec by the handler: a bad one is a 404). */
const TileSegmentSchema = z.string().max(8);
/** tile/<level>/<N…>: the index path of 1 to 4 segments (its last two may be `NNN.p` and the width). */
export const TileParams1Schema = z.strictObject({ level: TileSegmentSchema, a: TileSegmentSchema });
export const TileParams2Schema = z.strictObject({ level: TileSegmentSchema, a: TileSegmentSchema, b: TileSegmentSchema });
export const TileParams3Schema = z.strictObject({ level: TileSegmentSchema, a: TileSegmentSchema, b: TileSegmentSchema, c: TileSegmentSchema });
export const TileParams4Schema = z.strictObject({ level: TileSegmentSchema, a: TileSegmentSchema, b: TileSegmentSchema, c: TileSegmentSchema, d: TileSegmentSchema });

/**
 * Most full entry bundles one read of `/v1/ledger/entry-bundles` returns: 16 bundles are 4,096
 * entries, ~2 MB. Per request the client and the store each pay a fixed cost (routing, the token,
 * the socket round) that one bundle at a time was a good part of a verify's CPU (docs/ledger.md, Speed).
 */
export const MAX_ENTRY_BUNDLES_PER_READ = 16;

/** `start`: the index N of the first full entry bundle (tile/entries/<N>); `count`: how many, 1..MAX_ENTRY_BUNDLES_PER_READ. */
export const EntryBundlesQuerySchema = z.strictObject({
  start: SeqSchema,
  count: z.coerce.number().int().min(1).max(MAX_ENTRY_BUNDLES_PER_READ),
});

export const CosignatureStoredSchema = z.strictObject({
  treeSize: z.number().int().nonnegative(),
  witness: z.string(),
  /** False when this witness's cosignature of that checkpoint was already kept. */
  stored: z.boolean(),
  /** Listed witnesses whose cosignature of that checkpoint the store now holds. */
  cosignatures: z.number().int().nonnegative(),
  quorum: z.number().int(),
});

export const Base64Schema = z.string();
export const SizeSchema = z.number().int().nonnegative();

/** Why the ledger is halted (a tamper alarm): every gate check blocks until the store is restored. */
export const LedgerHaltSchema = z.strictObject({
  since: z.string(),
  seq: z.number().int().min(0).nullable(),
  table: z.string(),
  reason: z.string(),
});
export type LedgerHalt = z.infer<typeof LedgerHaltSchema>;

export const LedgerCheckpointSchema = z.strictObject({
  origin: z.string(),
  treeSize: SizeSchema,
  rootHash: Base64Schema.nullable(),
  /** The signed C2SP checkpoint note; null before the first one is signed. */
  checkpoint: z.string().nullable(),
  signedAt: z.string().nullable(),
  /**
   * Null while the ledger governs normally. A tamper alarm (grant-store/ledger/ledger-guard.ts)
   * is structured: since when, the first bad seq, the table and why (the console's banner and
   * `ledger verify` show it); a log without the guard says why it stopped signing in a sentence.
   */
  halted: z.union([LedgerHaltSchema, z.string()]).nullable(),
});
export type LedgerCheckpoint = z.infer<typeof LedgerCheckpointSchema>;

export const ConsistencyProofSchema = z.strictObject({ from: SizeSchema, to: SizeSchema, fromRoot: Base64Schema, toRoot: Base64Schema, hashes: z.array(Base64Schema) });
export type ConsistencyProof = z.infer<typeof ConsistencyProofSchema>;

export const LogPublicKeySchema = z.strictObject({ origin: z.string(), publicKeyPem: z.string(), keyHint: Base64Schema, logId: Base64Schema });
export type LogPublicKey = z.infer<typeof LogPublicKeySchema>;

/** A Sigstore trusted root (trustedroot+json) and the approvers' keys, as the verifiers read them. */
export const TrustedRootJsonSchema = z.record(z.string(), z.unknown());
export const ApproverKeysJsonSchema = z.record(z.string(), z.record(z.string(), z.unknown()));

export const LedgerExportPageSchema = z.strictObject({
  origin: z.string(),
  publicKeyPem: z.string(),
  treeSize: SizeSchema,
  checkpoint: z.string(),
  from: SizeSchema,
  /**
   * The entries' exact stored JSON texts (the leaves hash these bytes); an entry the caller may
   * not see is the canonical JSON text of its redacted entry (RedactedLedgerEntrySchema) instead.
   */
  entries: z.array(z.string()),
  /** The leaf hashes the log recorded, aligned with `entries`; empty when asked with `leaves=omit`. */
  leafHashes: z.array(Base64Schema),
  /** First page only: every signed checkpoint up to treeSize, the trusted root and the approvers' keys. */
  checkpoints: z.array(z.string()).optional(),
  trustedRoot: TrustedRootJsonSchema.optional(),
  publicKeys: ApproverKeysJsonSchema.optional(),
});
export type LedgerExportPage = z.infer<typeof LedgerExportPageSchema>;

export const LEDGER_ROUTES = table({
  ledgerCheckpoint: { method: 'GET', path: '/v1/ledger/checkpoint', summary: 'The latest signed C2SP checkpoint (and why the log halted, if it did).', roles: LEDGER_READERS, response: LedgerCheckpointSchema },
  consistencyProof: { method: 'GET', path: '/v1/ledger/proof/consistency', summary: 'RFC 9162 consistency proof between two tree sizes.', roles: LEDGER_READERS, query: ConsistencyProofQuerySchema, response: ConsistencyProofSchema },
  submitCosignature: {
    method: 'POST',
    path: '/v1/ledger/cosignatures',
    summary: "A witness's C2SP cosignature/v1 line on a checkpoint this log signed; kept (append-only) only if the witness is in the policy's witnesses: and it verifies. Checkpoints are then served with it appended.",
    roles: LEDGER_READERS,
    body: CosignatureSubmitSchema,
    bodyName: 'cosignature',
    response: CosignatureStoredSchema,
  },
  ledgerPublicKey: { method: 'GET', path: '/v1/ledger/public-key', summary: "The log's public key, key hint and log id.", roles: LEDGER_READERS, response: LogPublicKeySchema },
  ledgerExport: {
    method: 'GET',
    path: '/v1/ledger/export',
    summary: "A page of everything an offline verifier needs, pinned to one signed checkpoint; entries outside the caller's view come as their redacted entry's text.",
    roles: LEDGER_READERS,
    query: LedgerExportQuerySchema,
    response: LedgerExportPageSchema,
  },
  tlogTile1: { method: 'GET', path: '/v1/ledger/tlog/tile/:level/:a', summary: 'C2SP tlog-tiles: a hash tile or entry bundle whose index path has 1 segment(s) (tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>]).', roles: LEDGER_READERS, params: TileParams1Schema, badParamsNotFound: 'no such tile', content: TILE_CONTENT },
  tlogTile2: { method: 'GET', path: '/v1/ledger/tlog/tile/:level/:a/:b', summary: 'C2SP tlog-tiles: a hash tile or entry bundle whose index path has 2 segment(s) (tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>]).', roles: LEDGER_READERS, params: TileParams2Schema, badParamsNotFound: 'no such tile', content: TILE_CONTENT },
  tlogTile3: { method: 'GET', path: '/v1/ledger/tlog/tile/:level/:a/:b/:c', summary: 'C2SP tlog-tiles: a hash tile or entry bundle whose index path has 3 segment(s) (tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>]).', roles: LEDGER_READERS, params: TileParams3Schema, badParamsNotFound: 'no such tile', content: TILE_CONTENT },
  entryBundles: {
    method: 'GET',
    path: '/v1/ledger/entry-bundles',
    summary:
      'Breakglass extension to C2SP tlog-tiles: `count` consecutive FULL entry bundles from tile/entries/<start>, concatenated, each exactly the bytes tile/entries/<N> serves (so: 256·count entries, each a 2-byte big-endian length and the entry). 404 unless the latest signed checkpoint covers all of them in full; auditors and admins only, as entry bundles are.',
    roles: LEDGER_READERS,
    query: EntryBundlesQuerySchema,
    content: { 'application/octet-stream': 'full entry bundles start … start+count−1, concatenated' },
  },
  tlogTile4: { method: 'GET', path: '/v1/ledger/tlog/tile/:level/:a/:b/:c/:d', summary: 'C2SP tlog-tiles: a hash tile or entry bundle whose index path has 4 segment(s) (tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>]).', roles: LEDGER_READERS, params: TileParams4Schema, badParamsNotFound: 'no such tile', content: TILE_CONTENT },
});
