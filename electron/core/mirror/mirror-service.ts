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
import type { ConsoleLogger } from '../logger';
import type { KeychainAccess } from '../session/keychain-access';
import { ConsoleWitness } from './console-witness';


interface LogKey {
  origin: string;
  publicKeyPem: string;
}

/**
 * The local verified copy of the ledger (ledger-mirror.ts) as a console service: queries (offline
 * too) and syncs. A sync verifies the store's signed checkpoint with the log key (fetched once per
 * session) before the mirror checks its entries against it. After a sync verified a checkpoint
 * the console cosigns it as a witness (console-witness.ts) and hands the cosignature to the store.
 */
export class MirrorService {
  readonly mirror: LedgerMirror;
  private readonly witness: ConsoleWitness;
  private logKey: LogKey | undefined;

  constructor(
    dataDir: string,
    private readonly session: SessionService,
    private readonly connection: ConnectionTracker,
    private readonly clock: ConsoleClock,
    private readonly witnessDeps?: { keychain: KeychainAccess; logger: ConsoleLogger },
  ) {
    this.mirror = new LedgerMirror(join(dataDir, 'ledger'));
    this.witness = new ConsoleWitness(join(dataDir, 'ledger'));
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
    const { client, profile } = this.session.current();
    const { added } = await this.connection.track(this.mirror.sync(this.source(client), () => this.clock.now()));
    const lastSyncAt = this.mirror.lastSyncAt ?? this.clock.now().toISOString();
    this.connection.setLastSync(lastSyncAt);
    const witness = await this.cosign(client, profile.storeUrl, profile.principal);
    return { added, mirrorSize: this.mirror.size, verifiedTreeSize: this.mirror.verifiedTreeSize, lastSyncAt, ...(witness ? { witness } : {}) };
  }

  /**
   * Cosign the checkpoint this sync verified and hand the cosignature to the store. Without a
   * keychain there is no witness key (nothing else may hold it): the console does not witness.
   * A refusal by the console's own record (a fork) fails the sync; the store's answer is only
   * reported (a console the policy does not list is told so, and its vkey is shown to add it).
   */
  private async cosign(client: StoreClient, storeUrl: string, principal: string): Promise<ChannelOutput<'console:main:sync-ledger'>['witness']> {
    const vault = this.witnessDeps?.keychain.opened;
    const checkpoint = this.mirror.verifiedCheckpoint;
    if (!vault || !checkpoint) return undefined;
    const identity = await this.witness.identity({ get: () => vault.get(storeUrl, principal, 'witness-key'), set: (secret) => vault.set(storeUrl, principal, 'witness-key', secret) }, principal);
    const cosigned = await this.witness.cosign(checkpoint, identity, this.clock.now());
    const result = { name: identity.cosigner.key.name, vkey: identity.vkey, cosignedSize: cosigned ? checkpoint.treeSize : null, storeAnswer: null as string | null };
    if (!cosigned) return result;
    try {
      const kept = await client.call('submitCosignature', { body: { checkpoint: cosigned.note, cosignature: cosigned.line } });
      result.storeAnswer = `kept: ${kept.cosignatures} of ${kept.quorum} witnesses cosigned checkpoint ${kept.treeSize}`;
    } catch (error) {
      result.storeAnswer = (error as Error).message;
      this.witnessDeps?.logger.info({ err: (error as Error).message, vkey: identity.vkey }, 'the store did not keep this console\'s cosignature');
    }
    return result;
  }

  /**
   * This console's witness key (created in the keychain on first use, as the first sync would);
   * null without a keychain or a session: the console does not witness then.
   */
  async witnessKey(): Promise<ChannelOutput<'console:main:get-witness-key'>> {
    const vault = this.witnessDeps?.keychain.opened;
    const signedIn = this.session.active;
    if (!vault || !signedIn) return null;
    const { storeUrl, principal } = signedIn.profile;
    const identity = await this.witness.identity({ get: () => vault.get(storeUrl, principal, 'witness-key'), set: (secret) => vault.set(storeUrl, principal, 'witness-key', secret) }, principal);
    return { name: identity.cosigner.key.name, vkey: identity.vkey };
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
