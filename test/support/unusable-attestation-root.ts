/**
 * A PIV attestation root for test policies that need a safety gate's tier to load
 * (attestationRequired needs a root) but never enroll an attested key. Its private key was
 * discarded when it was made, so nothing can chain to it: such a tier accepts no key at all.
 * Tests that enroll attested keys build their own root (piv-attestation.ts, or
 * startStoreFixture's approver(name, { attested: true })).
 */
export const UNUSABLE_PIV_ROOT_PEM = `
-----BEGIN CERTIFICATE-----
MIIB8DCCAZegAwIBAgIUBAxJFO6+7LXx1zFs6le0xMzR+AcwCgYIKoZIzj0EAwIw
RTFDMEEGA1UEAww6QnJlYWtnbGFzcyB0ZXN0IFBJViBhdHRlc3RhdGlvbiByb290
IChubyBwcml2YXRlIGtleSBrZXB0KTAgFw0yNjExMzAwNTEyMzlaGA8yMDU2MTEy
MjA1MTIzOVowRTFDMEEGA1UEAww6QnJlYWtnbGFzcyB0ZXN0IFBJViBhdHRlc3Rh
dGlvbiByb290IChubyBwcml2YXRlIGtleSBrZXB0KTBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABHWDm321iWzJR3c03nQJPwRRW4du2HmdDv/J3AT4M8uXF5Vs8sdZ
qzl6CfCoqr20uszaozoWnBQ5GtMB4xTUkBOjYzBhMB0GA1UdDgQWBBR7o+daNNnK
ZMOFNxH562j5XFBQ0jAfBgNVHSMEGDAWgBR7o+daNNnKZMOFNxH562j5XFBQ0jAP
BgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwICBDAKBggqhkjOPQQDAgNHADBE
AiBe32YIeSTgsoZJY21ctNih4HdeD0K8DQaTgJw6AZqZHgIgZIDzrKuAI9JZ0Op0
6IcOvH3mAbFiOn6E3klI+ZTx+hQ=
-----END CERTIFICATE-----
`.trim();

/** The policy's `attestation:` section naming only that root (append at the end of a policy). */
export const UNUSABLE_ATTESTATION_SECTION = `attestation:
  roots:
    - id: unusable-test-root
      kind: piv
      certificate: |
${UNUSABLE_PIV_ROOT_PEM.split('\n').map((l) => `        ${l}`).join('\n')}
`;
