import { X509Certificate, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { PolicySchema, type Policy } from '../../shared/domain/policy';
import { LoadablePolicySchema, loadablePolicySchema } from '../../shared/policy/policy-requirements';
import type { SafetyGateRelaxation } from '../../shared/policy/safety-gates';
import { AppError, type FieldError } from '../../shared/errors';
import { locate } from './yaml-locations';
import { parseVerifierKey } from '../../shared/ledger/verifier-key';
import { nodeSha256 } from '../../shared/node/ledger/node-crypto';
import { friendlyMessage } from '../../shared/zod-messages';

export interface LoadedPolicy {
  policy: Policy;
  /** `sha256:<hex>` of the file bytes, recorded in the ledger. */
  hash: string;
  path: string;
  /** The file's text exactly as hashed (recorded with the policy so an auditor can check both). */
  source: string;
}

/** Policy files are small; refuse something that is clearly not one. */
const MAX_POLICY_BYTES = 1024 * 1024;

export function policyHash(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Parse and validate policy bytes. Throws AppError('invalid_input') whose message starts with
 * `file:line:col` and whose fieldErrors name each bad field path with its line, so an operator
 * can go straight to the mistake. By default the policy must also meet the load requirements
 * (shared/policy/policy-requirements.ts: scope keys, the safety rule); `recorded: true` checks
 * only the shape, for a policy read back from a ledger written under older rules.
 */
export function parsePolicy(bytes: Uint8Array, path: string, options: { recorded?: boolean; relax?: SafetyGateRelaxation } = {}): LoadedPolicy {
  if (bytes.byteLength > MAX_POLICY_BYTES) throw new AppError('invalid_input', `${path}: policy file is larger than ${MAX_POLICY_BYTES} bytes`);
  let text: string;
  try {
    // Fatal decoding: the text recorded in the ledger must hash back to the file's hash.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AppError('invalid_input', `${path}: the policy file is not valid UTF-8`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const fieldErrors: FieldError[] = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { path: '', message: `line ${pos.line}, column ${pos.col}: ${e.message.split('\n')[0]}` };
    });
    const first = doc.errors[0]!;
    const pos = lineCounter.linePos(first.pos[0]);
    throw new AppError('invalid_input', `${path}:${pos.line}:${pos.col}: YAML syntax error: ${first.message.split('\n')[0]}`, { fieldErrors });
  }
  const result = (options.recorded ? PolicySchema : options.relax ? loadablePolicySchema(options.relax) : LoadablePolicySchema).safeParse(doc.toJS());
  if (!result.success) {
    const located = result.error.issues.flatMap((issue) => {
      // An unknown key (a typo) is reported at the key itself, not where its map starts.
      const paths = issue.code === 'unrecognized_keys' && issue.keys.length > 0 ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
      return paths.map((path) => ({
        pos: locate(doc, lineCounter, path),
        fieldPath: path.map(String).join('.'),
        message: issue.code === 'unrecognized_keys' ? `unknown field "${String(path.at(-1))}"` : friendlyMessage(issue),
      }));
    });
    located.sort((a, b) => a.pos.line - b.pos.line);
    const fieldErrors = located.map((l) => ({ path: l.fieldPath, message: `line ${l.pos.line}: ${l.message}` }));
    const summary = located.map((l) => `${path}:${l.pos.line}:${l.pos.col}: ${l.fieldPath || '(root)'}: ${l.message}`).join('\n');
    throw new AppError('invalid_input', `invalid policy:\n${summary}`, { fieldErrors });
  }
  result.data.attestation.roots.forEach((root, i) => {
    function refuseRoot(message: string): never {
      const at = locate(doc, lineCounter, ['attestation', 'roots', i, 'certificate']);
      throw new AppError('invalid_input', `invalid policy:\n${path}:${at.line}:${at.col}: attestation.roots.${i}.certificate: ${message}`, { fieldErrors: [{ path: `attestation.roots.${i}.certificate`, message: `line ${at.line}: ${message}` }] });
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(root.certificate);
    } catch (error) {
      refuseRoot(`attestation root ${root.id} is not a readable certificate (${(error as Error).message})`);
    }
    // A tpm-ek root is the TPM manufacturer's CA: an EK certificate pasted in its place would
    // make one TPM's key a root.
    if (root.kind === 'tpm-ek' && !cert.ca) refuseRoot(`tpm-ek root ${root.id} is not a CA certificate (basicConstraints CA:TRUE): name the TPM manufacturer's root that issues EK certificates, not an EK certificate`);
  });
  // The vkey's shape is checked by the schema; its key id against its name and key needs SHA-256.
  result.data.witnesses?.members.forEach((member, i) => {
    try {
      parseVerifierKey(member.vkey, nodeSha256, 'cosignature/v1');
    } catch (error) {
      const at = locate(doc, lineCounter, ['witnesses', 'members', i, 'vkey']);
      const message = (error as Error).message;
      throw new AppError('invalid_input', `invalid policy:\n${path}:${at.line}:${at.col}: witnesses.members.${i}.vkey: ${message}`, { fieldErrors: [{ path: `witnesses.members.${i}.vkey`, message: `line ${at.line}: ${message}` }] });
    }
  });
  return { policy: result.data, hash: policyHash(bytes), path, source: text };
}

/** Read and validate the policy file at `path`. */
export async function loadPolicyFile(path: string, relax?: SafetyGateRelaxation): Promise<LoadedPolicy> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AppError('invalid_input', `${path}: cannot read the policy file (${code ?? String(error)}); run \`breakglass admin init\` to write an example`);
  }
  return parsePolicy(bytes, path, relax ? { relax } : {});
}
