import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The raw RFC 5322 message as the server received it. */
  raw: Buffer;
  user: string | undefined;
}

/**
 * A real SMTP server (the smtp-server package) on 127.0.0.1 and a random port, for tests that
 * send mail: plain SMTP (no STARTTLS: the digest policy allows `tls: none` for loopback only)
 * with AUTH PLAIN/LOGIN against one user. Messages are collected in order; `next()` waits for
 * the next one (an event, not a poll). The caller must `await sink.close()`.
 */
export interface SmtpSink {
  port: number;
  messages: ReceivedMail[];
  next(): Promise<ReceivedMail>;
  close(): Promise<void>;
}

export async function startSmtpSink(opts: { user: string; password: string }): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const waiters: Array<(m: ReceivedMail) => void> = [];
  let delivered = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === opts.user && auth.password === opts.password) return callback(null, { user: auth.username });
      return callback(new Error('invalid credentials'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mail: ReceivedMail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          user: typeof session.user === 'string' ? session.user : undefined,
        };
        messages.push(mail);
        const waiter = waiters.shift();
        if (waiter) {
          delivered++;
          waiter(mail);
        }
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    next() {
      if (delivered < messages.length) return Promise.resolve(messages[delivered++]!);
      return new Promise((resolve) => waiters.push(resolve));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
