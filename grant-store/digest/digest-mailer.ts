import { createTransport } from 'nodemailer';
import type { SmtpConfig } from '../../shared/domain/policy-digest';
import { AppError } from '../../shared/errors';
import type { RenderedDigest } from './render-digest';
import type { SecretLookup } from '../store-config';

/** An SMTP server gets this long to connect, greet and answer each command. */
export const SMTP_TIMEOUT_MS = 15_000;

export interface MailResult {
  messageId: string;
  accepted: string[];
  rejected: string[];
  response: string;
}

/**
 * Send the rendered digest (HTML with its charts as inline PNG parts, plus the plain-text
 * alternative) through the policy's SMTP server. Credentials come from the environment variables
 * the policy names; a missing one is refused before connecting.
 */
export async function sendDigestMail(rendered: RenderedDigest, mail: { from: string; to: readonly string[]; smtp: SmtpConfig }, secrets: SecretLookup): Promise<MailResult> {
  const { smtp } = mail;
  let auth: { user: string; pass: string } | undefined;
  if (smtp.userEnv && smtp.passwordEnv) {
    const user = secrets(smtp.userEnv);
    const pass = secrets(smtp.passwordEnv);
    if (!user || !pass) throw new AppError('unavailable', `the digest's SMTP credentials are not set: ${[!user && smtp.userEnv, !pass && smtp.passwordEnv].filter(Boolean).join(' and ')} must be in the store's environment`);
    auth = { user, pass };
  }
  const transport = createTransport({
    host: smtp.host.replace(/^\[|\]$/g, ''),
    port: smtp.port,
    secure: smtp.tls === 'implicit',
    requireTLS: smtp.tls === 'starttls',
    ignoreTLS: smtp.tls === 'none',
    auth,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  });
  try {
    const info = await transport.sendMail({
      from: mail.from,
      to: [...mail.to],
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      attachments: rendered.images.map((img) => ({ filename: img.filename, content: img.png, contentType: 'image/png', cid: img.cid, contentDisposition: 'inline' as const })),
      headers: { 'X-Breakglass-Digest': 'weekly' },
    });
    const addr = (a: unknown) => (typeof a === 'string' ? a : ((a as { address?: string }).address ?? String(a)));
    return { messageId: info.messageId, accepted: (info.accepted ?? []).map(addr), rejected: (info.rejected ?? []).map(addr), response: String(info.response ?? '') };
  } finally {
    transport.close();
  }
}
