import { z } from 'zod';
import { TtlSchema } from './ttl';

/**
 * The `witnesses:` section of the policy: who cosigns the log's checkpoints (C2SP
 * tlog-cosignature/v1) and how many cosignatures a checkpoint needs. A witness is named by its
 * C2SP vkey (`<name>+<hex key id>+<base64(0x04 ‖ Ed25519 key)>`, printed by
 * `breakglass witness init` or the console); with a `url` the store pushes every new checkpoint
 * to it (C2SP tlog-witness add-checkpoint), without one the witness hands its cosignatures back
 * itself (consoles behind NAT, `ledger verify`). The shape is checked here; the key id against
 * the name and key is checked where SHA-256 is at hand (grant-store/policy/load-policy.ts).
 */

/** `<name>+<8 hex>+<base64 of 33 bytes>`; the first byte is the cosignature/v1 type 0x04 (base64 "B" then A-P). */
const WITNESS_VKEY = /^[^\s+]+\+[0-9a-f]{8}\+B[A-P][A-Za-z0-9+/]{42}$/;

export const WitnessVkeySchema = z
  .string()
  .max(400)
  .regex(WITNESS_VKEY, 'must be a witness vkey <name>+<8 hex key id>+<base64 of 0x04 and the 32-byte Ed25519 key> (from `breakglass witness init` or the console)');

/** The note key name a vkey carries (everything before its first "+"). */
export function vkeyName(vkey: string): string {
  return vkey.slice(0, vkey.indexOf('+'));
}

export const PolicyWitnessSchema = z.strictObject({
  vkey: WitnessVkeySchema,
  /**
   * Where the store pushes each new checkpoint: the witness's C2SP tlog-witness prefix
   * (`<url>/add-checkpoint`). Absent: the witness submits its cosignatures itself.
   */
  url: z.url({ protocol: /^https?$/ }).optional(),
});
export type PolicyWitness = z.infer<typeof PolicyWitnessSchema>;

/** How long checkpoints may wait for a quorum of cosignatures before the store raises the alarm. */
export const DEFAULT_WITNESS_GRACE = '15m';

export const WitnessesPolicySchema = z
  .strictObject({
    /** How many distinct listed witnesses must cosign a checkpoint; fewer is reported (logs, /metrics, /healthz). */
    quorum: z.number().int().min(1),
    /**
     * How long the oldest checkpoint may go without a quorum of cosignatures before it is an alarm
     * (/healthz, breakglass_witness_quorum_overdue, one critical alert): set it above how often
     * the witnesses that count towards the quorum cosign (consoles only do when someone opens one).
     */
    grace: TtlSchema.default(DEFAULT_WITNESS_GRACE),
    members: z.array(PolicyWitnessSchema).min(1, 'list at least one witness (or leave out `witnesses:`)'),
  })
  .superRefine((section, ctx) => {
    const seen = new Map<string, number>();
    section.members.forEach((member, i) => {
      const name = vkeyName(member.vkey);
      const other = seen.get(name);
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['members', i, 'vkey'], message: `witness "${name}" is already listed (members.${other}): one key per witness name` });
      seen.set(name, i);
    });
    if (section.quorum > section.members.length) {
      ctx.addIssue({ code: 'custom', path: ['quorum'], message: `quorum ${section.quorum} is more than the ${section.members.length} witness(es) listed` });
    }
  });
export type WitnessesPolicy = z.infer<typeof WitnessesPolicySchema>;
