import { AppError } from '../../shared/errors';
import { parseCheckpoint } from '../../shared/ledger/checkpoint';
import { verifyCosignatureLine, type Cosignature } from '../../shared/ledger/cosignature';
import { addNoteSignatures, parseSignedNote } from '../../shared/ledger/signed-note';
import { parseVerifierKey, type VerifierKey } from '../../shared/ledger/verifier-key';
import { ADD_CHECKPOINT_PATH, TLOG_SIZE_CONTENT_TYPE, formatAddCheckpointRequest, parseTlogSize } from '../../shared/ledger/witness-protocol';
import type { WitnessesPolicy } from '../../shared/domain/policy-witnesses';
import { nodeEd25519Verify, nodeSha256 } from '../../shared/node/ledger/node-crypto';
import type { StoreLogger } from '../logger';
import type { PolicyHolder } from '../policy/policy-holder';
import type { CosignatureSource, SignedCheckpoint } from '../storage/log-tables';
import type { TransparencyLog } from './transparency-log';

/**
 * The store's side of witnessing (C2SP tlog-witness / tlog-cosignature): the witnesses are the
 * policy's `witnesses:` (their vkeys, a push URL for always-on ones, a quorum). Every checkpoint
 * the log signs is pushed to each witness with a URL (`add-checkpoint`: the old size the witness
 * last cosigned and a consistency proof from it); consoles and CLIs behind NAT hand their
 * cosignatures back through `submit`. A cosignature is kept (append-only, ledger_cosignatures)
 * only if it verifies against that witness's key over a checkpoint this log signed; checkpoints
 * are then served with every cosignature appended as extra signature lines.
 *
 * Witness trouble never blocks the ledger: a refused or failed push is logged, counted
 * (/metrics) and shown in /healthz, and retried with the next checkpoint.
 */

/** A push that gets no answer in this time fails (and is retried with the next checkpoint). */
export const WITNESS_PUSH_TIMEOUT_MS = 10_000;
/** Largest cosignature answer read from a witness. */
const MAX_ANSWER_BYTES = 16 * 1024;

export interface WitnessFailure {
  at: string;
  treeSize: number;
  message: string;
}

export interface WitnessStatus {
  quorum: number;
  /** The latest signed checkpoint's size. */
  treeSize: number;
  /** Listed witnesses whose cosignature covers the latest checkpoint. */
  cosigned: string[];
  missing: string[];
  belowQuorum: boolean;
  /** The last failure per witness (push refused, unreachable, bad cosignature), while it has not cosigned since. */
  failures: Record<string, WitnessFailure>;
}

interface PushState {
  /** The size this witness last cosigned, as far as the store knows (learnt from 200 or 409). */
  size: number | undefined;
  running: Promise<void> | undefined;
  /** The newest checkpoint waiting to be pushed while one is in flight (older ones are skipped). */
  next: SignedCheckpoint | undefined;
}

export interface CheckpointWitnessesOptions {
  log: TransparencyLog;
  policies: PolicyHolder;
  logger: StoreLogger;
  clock: () => Date;
  /** HTTP client for pushes (tests inject nothing: the real fetch). */
  fetch?: typeof fetch;
}

export interface SubmitResult {
  treeSize: number;
  witness: string;
  stored: boolean;
  cosignatures: number;
  quorum: number;
}

export class CheckpointWitnesses {
  private readonly push = new Map<string, PushState>();
  private readonly failures = new Map<string, WitnessFailure>();
  private readonly failureCounts = new Map<string, number>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly opts: CheckpointWitnessesOptions) {
    this.unsubscribe = opts.log.onCheckpointSigned((cp) => this.pushAll(cp));
  }

  private get policy(): WitnessesPolicy | undefined {
    return this.opts.policies.policy.witnesses;
  }

  /** The listed witnesses' keys, by name (parsed from the policy in force). */
  private keys(): Map<string, { key: VerifierKey; url: string | undefined }> {
    const out = new Map<string, { key: VerifierKey; url: string | undefined }>();
    for (const member of this.policy?.members ?? []) {
      const key = parseVerifierKey(member.vkey, nodeSha256, 'cosignature/v1');
      out.set(key.name, { key, url: member.url });
    }
    return out;
  }

  /** The checkpoint's signed note with every stored cosignature appended (a valid signed note). */
  async cosignedNote(cp: SignedCheckpoint): Promise<string> {
    const stored = await this.opts.log.cosignatures(cp.id);
    return stored.length === 0 ? cp.note : addNoteSignatures(cp.note, stored.map((c) => c.line));
  }

  /**
   * A cosignature handed back by a witness: `checkpoint` is the signed note (or its body) it
   * cosigned, `line` its signature line. Refused unless the witness is in the policy, the
   * checkpoint is one this log signed and the cosignature verifies.
   */
  async submit(checkpoint: string, line: string): Promise<SubmitResult> {
    const policy = this.policy;
    if (!policy) throw new AppError('forbidden', 'the policy names no witnesses: this store keeps no cosignatures (add a witnesses: section with the witness\'s vkey)');
    const text = checkpoint.includes('\n\n') ? parseSignedNote(checkpoint).text : checkpoint;
    let parsed;
    try {
      parsed = parseCheckpoint(text);
    } catch (error) {
      throw new AppError('invalid_input', `checkpoint: ${(error as Error).message}`, { fieldErrors: [{ path: 'checkpoint', message: (error as Error).message }] });
    }
    if (parsed.origin !== this.opts.log.origin) throw new AppError('verification_failed', `the checkpoint is for log "${parsed.origin}", this store's log is "${this.opts.log.origin}"`);
    const cp = this.signedCheckpointWithText(parsed.size, text);
    if (!cp) throw new AppError('verification_failed', `this log never signed that checkpoint of size ${parsed.size} (a checkpoint from a fork, or altered)`);
    let name: string;
    try {
      name = parseSignedNote(`${text}\n${line.endsWith('\n') ? line : `${line}\n`}`).signatures[0]!.name;
    } catch (error) {
      throw new AppError('invalid_input', `cosignature: ${(error as Error).message}`, { fieldErrors: [{ path: 'cosignature', message: 'must be one signature line "— <name> <base64>"' }] });
    }
    const witness = this.keys().get(name);
    if (!witness) throw new AppError('forbidden', `"${name}" is not a witness of this store's policy (witnesses: ${[...this.keys().keys()].join(', ')})`);
    const cosignature = verifyCosignatureLine(text, line, witness.key, nodeEd25519Verify);
    const stored = await this.keep(cp, cosignature, 'submitted');
    const cosignatures = (await this.opts.log.cosignatures(cp.id)).filter((c) => this.keys().has(c.witness)).length;
    return { treeSize: cp.treeSize, witness: name, stored, cosignatures, quorum: policy.quorum };
  }

  private signedCheckpointWithText(size: number, text: string): SignedCheckpoint | undefined {
    const bodyOf = (c: SignedCheckpoint) => parseSignedNote(c.note).text;
    const newest = this.opts.log.checkpointOfSize(size);
    if (!newest) return undefined;
    if (bodyOf(newest) === text) return newest;
    // Several instances may each have signed this size (different timestamps): look at all of them.
    return this.opts.log.checkpoints(size).find((c) => c.treeSize === size && bodyOf(c) === text);
  }

  private async keep(cp: SignedCheckpoint, cosignature: Cosignature, source: CosignatureSource): Promise<boolean> {
    const stored = await this.opts.log.addCosignature({
      checkpointId: cp.id,
      treeSize: cp.treeSize,
      witness: cosignature.name,
      cosignedAt: cosignature.timestamp,
      line: cosignature.line,
      receivedAt: this.opts.clock().toISOString(),
      source,
    });
    this.failures.delete(cosignature.name);
    return stored;
  }

  private pushAll(cp: SignedCheckpoint): void {
    if (this.closed) return;
    for (const [name, { key, url }] of this.keys()) {
      if (!url) continue;
      const state = this.push.get(name) ?? { size: undefined, running: undefined, next: undefined };
      this.push.set(name, state);
      if (state.running) {
        state.next = cp;
        continue;
      }
      const run = async (checkpoint: SignedCheckpoint): Promise<void> => {
        try {
          await this.pushTo(key, url, checkpoint, state);
        } catch (error) {
          this.fail(name, checkpoint.treeSize, (error as Error).message);
        }
        const next = state.next;
        state.next = undefined;
        if (next && !this.closed) return run(next);
      };
      state.running = run(cp).finally(() => (state.running = undefined));
    }
  }

  private async pushTo(key: VerifierKey, url: string, cp: SignedCheckpoint, state: PushState): Promise<void> {
    const endpoint = `${url.replace(/\/+$/, '')}${ADD_CHECKPOINT_PATH}`;
    const fetchFn = this.opts.fetch ?? fetch;
    // At most two rounds: the first may learn the witness's size from a 409.
    for (let round = 0; round < 2; round++) {
      const oldSize = Math.min(state.size ?? 0, cp.treeSize);
      if ((state.size ?? 0) > cp.treeSize) {
        throw new AppError('verification_failed', `witness ${key.name} already cosigned size ${state.size} of this log, more than checkpoint ${cp.treeSize}: it saw a later or other history`);
      }
      const proof = oldSize > 0 && oldSize < cp.treeSize ? (await this.opts.log.consistencyProof(oldSize, cp.treeSize)).hashes : [];
      const res = await fetchFn(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: formatAddCheckpointRequest({ oldSize, proof, note: cp.note }),
        signal: AbortSignal.timeout(WITNESS_PUSH_TIMEOUT_MS),
      });
      const body = (await res.text()).slice(0, MAX_ANSWER_BYTES);
      if (res.status === 200) {
        const text = parseSignedNote(cp.note).text;
        const lines = body.split('\n').filter((l) => l.length > 0);
        const mine = lines.filter((l) => l.startsWith(`\u2014 ${key.name} `));
        if (mine.length === 0) throw new AppError('verification_failed', `witness ${key.name} answered 200 without a cosignature line by ${key.name}`);
        // Every line by this witness must verify: a bad one is refused (and reported), never stored.
        const cosignature = verifyCosignatureLine(text, mine[0]!, key, nodeEd25519Verify);
        await this.keep(cp, cosignature, 'push');
        state.size = cp.treeSize;
        return;
      }
      if (res.status === 409 && (res.headers.get('content-type') ?? '').startsWith(TLOG_SIZE_CONTENT_TYPE)) {
        const witnessSize = parseTlogSize(body);
        if (round === 0 && witnessSize !== state.size) {
          state.size = witnessSize;
          continue;
        }
        throw new AppError('verification_failed', `witness ${key.name} refused checkpoint ${cp.treeSize} (409: it last cosigned size ${witnessSize}${witnessSize === cp.treeSize ? ' with another root: a split view' : ''})`);
      }
      throw new AppError('verification_failed', `witness ${key.name} refused checkpoint ${cp.treeSize} (${res.status}: ${body.trim().slice(0, 300)})`);
    }
  }

  private fail(name: string, treeSize: number, message: string): void {
    const failure = { at: this.opts.clock().toISOString(), treeSize, message };
    this.failures.set(name, failure);
    this.failureCounts.set(name, (this.failureCounts.get(name) ?? 0) + 1);
    this.opts.logger.warn({ witness: name, treeSize, err: message }, `witness ${name} did not cosign checkpoint ${treeSize}: ${message}`);
  }

  /** Quorum on the latest checkpoint, and what went wrong lately; null when the policy names no witnesses. */
  async status(): Promise<WitnessStatus | null> {
    const policy = this.policy;
    if (!policy) return null;
    const names = [...this.keys().keys()];
    const cp = this.opts.log.latestCheckpoint();
    const have = new Set(cp ? (await this.opts.log.cosignatures(cp.id)).map((c) => c.witness) : []);
    const cosigned = names.filter((n) => have.has(n));
    return {
      quorum: policy.quorum,
      treeSize: cp?.treeSize ?? 0,
      cosigned,
      missing: names.filter((n) => !have.has(n)),
      belowQuorum: cosigned.length < policy.quorum,
      failures: Object.fromEntries([...this.failures].filter(([n]) => names.includes(n))),
    };
  }

  /** Prometheus text: quorum, cosignatures on the latest checkpoint, push failures per witness. */
  async metricsText(): Promise<string> {
    const status = await this.status();
    if (!status) return '';
    const label = (n: string) => n.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    return [
      '# HELP breakglass_witness_quorum Cosignatures the policy asks for on each checkpoint.',
      '# TYPE breakglass_witness_quorum gauge',
      `breakglass_witness_quorum ${status.quorum}`,
      '# HELP breakglass_checkpoint_cosignatures Listed witnesses whose cosignature covers the latest checkpoint.',
      '# TYPE breakglass_checkpoint_cosignatures gauge',
      `breakglass_checkpoint_cosignatures ${status.cosigned.length}`,
      '# HELP breakglass_witness_below_quorum 1 while the latest checkpoint has fewer cosignatures than the quorum.',
      '# TYPE breakglass_witness_below_quorum gauge',
      `breakglass_witness_below_quorum ${status.belowQuorum ? 1 : 0}`,
      '# HELP breakglass_witness_failures_total Pushes a witness refused or did not answer, and bad cosignatures it returned.',
      '# TYPE breakglass_witness_failures_total counter',
      ...[...this.keys().keys()].map((n) => `breakglass_witness_failures_total{witness="${label(n)}"} ${this.failureCounts.get(n) ?? 0}`),
      '',
    ].join('\n');
  }

  /** Stop pushing; waits for pushes in flight. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    await Promise.all([...this.push.values()].map((s) => s.running));
  }
}
