import QRCode from 'qrcode';
import type { EmergencyCredential } from '../../shared/domain/emergency';
import { formatScope } from '../../shared/policy/scope-match';
import { escapeXml } from '../digest/svg-render';

/**
 * The printable sheet for the safe: one self-contained HTML page (no scripts, no external
 * resources) with the credential in large grouped characters and as a QR code (SVG), what it
 * opens, who may use it and how. Printed, sealed in an envelope, signed across the flap.
 */
export async function renderCredentialSheet(opts: { credential: EmergencyCredential; secret: string; ttl: string; storeUrl: string }): Promise<string> {
  const { credential: c, secret, ttl } = opts;
  const e = escapeXml;
  const qr = await QRCode.toString(secret.toUpperCase(), { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  const command = `breakglass emergency open --credential ${secret} --reason "..." --incident INC-...`;
  const groups = secret.split('-');
  const lines = [groups.slice(0, 8).join(' '), groups.slice(8).join(' ')];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Breakglass emergency credential ${e(c.id)}</title>
<style>
  @page { size: A4; margin: 16mm; }
  body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #111827; margin: 0 auto; max-width: 180mm; }
  h1 { font-size: 20pt; margin: 0 0 2mm 0; }
  .warn { border: 2px solid #b91c1c; color: #7f1d1d; background: #fef2f2; padding: 3mm 4mm; font-size: 10.5pt; }
  .code { font-family: Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 17pt; letter-spacing: 0.06em; line-height: 1.6; padding: 4mm; border: 1px dashed #6b7280; text-align: center; }
  table { border-collapse: collapse; width: 100%; font-size: 10.5pt; }
  td { padding: 1.5mm 2mm; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
  td:first-child { color: #6b7280; width: 34mm; }
  .qr { width: 60mm; height: 60mm; }
  .qr svg { width: 100%; height: 100%; }
  .sign { display: flex; gap: 8mm; margin-top: 10mm; font-size: 9.5pt; color: #374151; }
  .sign div { flex: 1; border-top: 1px solid #111827; padding-top: 1mm; }
  code { font-size: 9pt; word-break: break-all; }
</style></head>
<body>
<h1>Breakglass emergency credential</h1>
<p class="warn"><strong>One use. Using it pages the whole security team.</strong> It opens gate <strong>${e(c.gate)}</strong> for scope <strong>${e(formatScope(c.scope))}</strong> at once, with no approver, for ${e(ttl)}; every notify list, every approver and every webhook is alerted; a review needing two sign-offs from outside your team opens; the credential is burned. A second use is refused and alarms.</p>
<div style="display:flex;gap:6mm;align-items:center;margin:5mm 0;">
  <div class="qr" aria-label="QR code of the credential">${qr}</div>
  <table>
    <tr><td>Credential</td><td><strong>${e(c.id)}</strong>${c.label ? `<br>${e(c.label)}` : ''}</td></tr>
    <tr><td>Gate</td><td>${e(c.gate)}</td></tr>
    <tr><td>Scope</td><td>${e(formatScope(c.scope))}</td></tr>
    <tr><td>Holders</td><td>${e(c.holders.join(', '))} (each with their own token)</td></tr>
    <tr><td>Sealed</td><td>${e(c.sealedAt)} by ${e(c.sealedBy)}</td></tr>
    <tr><td>Grant store</td><td>${e(opts.storeUrl)}</td></tr>
    <tr><td>Fingerprint</td><td><code>${e(c.credentialDigest)}</code></td></tr>
  </table>
</div>
<div class="code" aria-label="The credential">${lines.map((l) => e(l)).join('<br>')}</div>
<p style="font-size:10pt;">To use it, as one of the holders, with your own token:</p>
<p><code>${e(command)}</code></p>
<p style="font-size:9.5pt;color:#374151;">Case, spaces and hyphens do not matter; a mistyped character is caught by its checksum before anything is sent. The store keeps only the fingerprint above: if this sheet is lost, an admin re-seals (<code>breakglass admin emergency reseal ${e(c.id)}</code>), which retires this credential.</p>
<div class="sign"><div>Sealed in the envelope by (name, signature)</div><div>Witness (name, signature)</div><div>Date</div></div>
</body></html>
`;
}
