import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { credentialDigest, formatCredential, generateCredential, parseCredential } from '../../../../grant-store/emergency/credential-code';
import { renderCredentialSheet } from '../../../../grant-store/emergency/credential-sheet';
import { PolicySchema } from '../../../../shared/domain/policy';
import { AppError } from '../../../../shared/errors';
import { emergencyAudience, emergencySignoffRefusal, emergencyTtl, sealErrors } from '../../../../shared/policy/emergency-rules';

describe('emergency credential secret', () => {
  test('256 random bits, grouped for paper, parsed back to the same digest', () => {
    const a = generateCredential();
    const b = generateCredential();
    assert.notEqual(a.text, b.text);
    assert.equal(a.secret.length, 32);
    assert.match(a.text, /^bgem-([0-9a-hjkmnp-tv-z]{4}-){13}[0-9a-hjkmnp-tv-z]{2,4}$/);
    assert.equal(parseCredential(a.text).digest, a.digest);
    assert.equal(a.digest, credentialDigest(a.secret));
  });

  test('case, spaces, hyphens and look-alikes (O/0, I/L/1) do not matter', () => {
    const secret = new Uint8Array(32).fill(7);
    const text = formatCredential(secret);
    const sloppy = text.toUpperCase().replace(/-/g, ' ').replace(/0/g, 'O').replace(/1/g, 'l');
    assert.equal(parseCredential(sloppy).digest, credentialDigest(secret));
  });

  test('a typo is caught by the checksum on the client, naming the field', () => {
    const { text } = generateCredential();
    const i = text.length - 10;
    const typo = text.slice(0, i) + (text[i] === 'a' ? 'b' : 'a') + text.slice(i + 1);
    for (const bad of [typo, text.slice(0, -4), 'bgem-uuuu', 'not-a-credential']) {
      assert.throws(() => parseCredential(bad, '--credential'), (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && e.fieldErrors?.[0]?.path === '--credential');
    }
  });

  test('every other symbol in the last place is refused: its padding bits are checked, not ignored', () => {
    // The last character carries 2 data bits and 3 zero padding bits: '8' and 'a' share the data
    // bits, so a decoder that ignored padding took 'a' for '8' and opened with a mistyped secret.
    const symbols = '0123456789abcdefghjkmnpqrstvwxyz';
    for (const last of ['0', '8', 'g', 'r']) {
      for (let n = 0; n < 16; n++) {
        const { text } = generateCredential();
        if (text.endsWith(last)) {
          for (const other of symbols) {
            if (other === last) continue;
            assert.throws(() => parseCredential(text.slice(0, -1) + other, '--credential'), (e: unknown) => e instanceof AppError && e.fieldErrors?.[0]?.path === '--credential', `${last} -> ${other}`);
          }
          break;
        }
      }
    }
    const secret = new Uint8Array(32).fill(7);
    const text = formatCredential(secret);
    assert.ok('08gr'.includes(text.at(-1)!), 'the encoder writes zero padding');
    for (const other of symbols) {
      if (other === text.at(-1)) continue;
      assert.throws(() => parseCredential(text.slice(0, -1) + other), /mistyped/);
    }
  });
});

describe('emergency policy rules', () => {
  const policy = PolicySchema.parse({
    version: 1,
    ttlChoices: ['15m', '1h', '4h', '24h'],
    tiers: {
      low: { approvals: 1, approverGroups: ['leads'], maxTtl: '24h', notify: ['vp-eng'] },
      critical: { approvals: 2, approverGroups: ['leads', 'security'], maxTtl: '1h', allowSameTeam: false, attestationRequired: true, notify: ['ciso'] },
    },
    gates: [
      { id: 'ci-tests', kind: 'slow', tier: 'low' },
      { id: 'container-signing', kind: 'safety', tier: 'critical' },
    ],
    teams: { payments: { members: ['alice'] }, security: { members: ['carol', 'frank'] }, platform: { members: ['bob'] } },
    approvers: { leads: ['bob'], security: ['carol', 'frank'] },
    emergency: { notify: ['secops-pager'] },
  });

  test('sealing: known gate, distinct holders who have a team', () => {
    assert.deepEqual(sealErrors(policy, { gate: 'container-signing', scope: { repo: 'x' }, holders: ['alice'] }), []);
    assert.deepEqual(sealErrors(policy, { gate: 'nope', scope: { repo: 'x' }, holders: ['alice', 'alice', 'mallory'] }).map((e) => e.path), ['gate', 'holders.1', 'holders.2']);
    const never = { ...policy, gates: policy.gates.map((g) => (g.id === 'container-signing' ? { ...g, bypass: 'never' as const } : g)) };
    assert.match(sealErrors(never, { gate: 'container-signing', scope: { repo: 'x' }, holders: ['alice'] })[0]!.message, /bypass: never/);
  });

  test('a use opens the shortest TTL the tier grants; everyone is paged', () => {
    assert.equal(emergencyTtl(policy, 'container-signing'), '15m');
    assert.equal(emergencyTtl({ ...policy, ttlChoices: ['1h', '4h'] }, 'container-signing'), '1h');
    assert.deepEqual(emergencyAudience(policy), ['bob', 'carol', 'ciso', 'frank', 'secops-pager', 'vp-eng']);
  });

  test('review sign-off: never the user, never the user\'s team', () => {
    const review = { requester: 'alice', team: 'payments' };
    assert.match(emergencySignoffRefusal(policy, review, 'alice')!, /own use/);
    assert.equal(emergencySignoffRefusal(policy, review, 'carol'), undefined);
    assert.match(emergencySignoffRefusal(policy, { requester: 'carol', team: 'security' }, 'frank')!, /frank is on team security/);
  });
});

describe('the printable sheet', () => {
  test('self-contained HTML with the grouped code, a QR code, what it opens and how to use it', async () => {
    const { text, digest } = generateCredential();
    const html = await renderCredentialSheet({
      credential: { id: 'emc_0123456789abcdef0123456789', gate: 'container-signing', scope: { repo: 'payments-api' }, holders: ['alice', 'dave'], label: 'DR: region failover', state: 'sealed', credentialDigest: digest, sealedBy: 'root-admin', sealedAt: '2026-11-26T10:00:00.000Z', replaces: null, replacedBy: null, usedAt: null, usedBy: null, requestId: null, retiredAt: null, retiredBy: null },
      secret: text,
      ttl: '15m',
      storeUrl: 'https://breakglass.example.com',
    });
    assert.doesNotMatch(html, /<script|src="http/i);
    assert.match(html, /<svg[^>]*>.*<path/s);
    for (const group of text.split('-').slice(1)) assert.ok(html.includes(group));
    assert.match(html, /breakglass emergency open --credential bgem-/);
    assert.match(html, /DR: region failover/);
  });
});
