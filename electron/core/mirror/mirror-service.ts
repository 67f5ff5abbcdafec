import { join } from 'node:path';
import { AppError } from '../../../shared/errors';
import type { ChannelOutput, ParsedChannelInput } from '../../../shared/ipc/contract';
import { parseCheckpoint } from '../../../shared/ledger/checkpoint';
import { verifyNote } from '../../../shared/ledger/signed-note';
import { ed25519NoteVerifier } from '../../../shared/node/ledger/node-crypto';
import type { ConsoleClock } from '../clock';
import { LedgerMirror, type LedgerSource, type PublishedCheckpoint } from '../ledger-mirror';
import type { ConnectionTracker } from '../session/connection-tracker';
import type { SessionService } from '../session/session-service';
import type { StoreClient } from '../../../shared/node/http/store-client';


interface LogKey {
  origin: string;
  publicKeyPem: string;
}

/**
 * The local verified copy of the ledger (ledger-mirror.ts) as a console service: queries (offline
 * too) and syncs. A sync verifies the store's signed checkpoint with the log key (fetched once per
 * session) before the mirror checks its entries against it. Checkpoint witnessing / cosigning
 * belongs here, after a checkpoint verified (`sync`).
 */
export class MirrorService {
  readonly mirror: LedgerMirror;
  private logKey: LogKey | undefined;

  constructor(
    dataDir: string,
    private readonly session: SessionService,
    private readonly connection: ConnectionTracker,
    private readonly clock: ConsoleClock,
  ) {
    this.mirror = new LedgerMirror(join(dataDir, 'ledger'));
  }

  /** Read the mirror from disk (start-up); the connection state starts from its last sync. */
  async load(): Promise<void> {
    await this.mirror.load();
    this.connection.setLastSync(this.mirror.lastSyncAt);
  }

  async query(input: ParsedChannelInput<'console:main:query-ledger'>): Promise<ChannelOutput<'console:main:query-ledger'>> {
    await this.mirror.load();
    return this.mirror.query(input);
  }

  async sync(): Promise<ChannelOutput<'console:main:sync-ledger'>> {
    const { client } = this.session.current();
    const { added } = await this.connection.track(this.mirror.sync(this.source(client), () => this.clock.now()));
    const lastSyncAt = this.mirror.lastSyncAt ?? this.clock.now().toISOString();
    this.connection.setLastSync(lastSyncAt);
    return { added, mirrorSize: this.mirror.size, verifiedTreeSize: this.mirror.verifiedTreeSize, lastSyncAt };
  }

  /** Signed out: the next session fetches its store's log key again. */
  reset(): void {
    this.logKey = undefined;
  }

  private source(client: StoreClient): LedgerSource {
    return {
      entries: (from, limit) => client.call('ledgerEntries', { query: { from, limit } }),
      latestCheckpoint: async (): Promise<PublishedCheckpoint | null> => {
        const published = await client.call('ledgerCheckpoint');
        // A fresh store may not have signed a checkpoint yet: entries stay `unverified` meanwhile.
        if (!published.checkpoint) return null;
        this.logKey ??= await client.call('ledgerPublicKey');
        const logKey = this.logKey;
        const { text } = verifyNote(published.checkpoint, [ed25519NoteVerifier(logKey.origin, logKey.publicKeyPem)]);
        const checkpoint = parseCheckpoint(text);
        if (checkpoint.origin !== logKey.origin) throw new AppError('verification_failed', `checkpoint origin ${checkpoint.origin} is not the log's (${logKey.origin})`);
        return { size: checkpoint.size, rootHash: checkpoint.rootHash, note: published.checkpoint, logKey: { origin: logKey.origin, publicKeyPem: logKey.publicKeyPem } };
      },
    };
  }
}
