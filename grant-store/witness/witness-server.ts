import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AppError } from '../../shared/errors';
import { ADD_CHECKPOINT_PATH, MAX_ADD_CHECKPOINT_BYTES } from '../../shared/ledger/witness-protocol';
import { isLoopbackHost } from '../http/loopback';
import { StandaloneWitness } from './standalone-witness';

export const DEFAULT_WITNESS_PORT = 7430;

export interface WitnessServerOptions {
  stateDir: string;
  host?: string;
  port?: number;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  clock?: () => Date;
  /** Where operational problems are reported (default: stderr). */
  log?: (message: string) => void;
}

export interface RunningWitness {
  url: string;
  witness: StandaloneWitness;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** Past this much the connection is cut instead of drained (a 413 for a slightly large body still arrives). */
const MAX_DRAIN_BYTES = 1024 * 1024;

/** The body, or undefined when it is larger than an add-checkpoint request can be. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DRAIN_BYTES) {
        req.destroy();
        resolve(undefined);
      } else if (size <= MAX_ADD_CHECKPOINT_BYTES) {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(size > MAX_ADD_CHECKPOINT_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * `breakglass witness serve`: the C2SP tlog-witness HTTP interface (POST /add-checkpoint) in
 * front of a StandaloneWitness, plus GET /healthz. Anything but loopback needs TLS.
 */
export async function startWitnessServer(opts: WitnessServerOptions): Promise<RunningWitness> {
  const host = opts.host ?? '127.0.0.1';
  if ((opts.tlsCertPath && !opts.tlsKeyPath) || (!opts.tlsCertPath && opts.tlsKeyPath)) throw new AppError('invalid_input', 'TLS needs both a certificate and a key (--tls-cert and --tls-key)');
  const tls = opts.tlsCertPath && opts.tlsKeyPath;
  if (!isLoopbackHost(host) && !tls) throw new AppError('invalid_input', `refusing to listen on ${host} without TLS: only loopback addresses may serve plain HTTP (pass --tls-cert and --tls-key)`);
  const witness = await StandaloneWitness.open(opts.stateDir, { clock: opts.clock });
  const log = opts.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://witness').pathname;
    if (path === ADD_CHECKPOINT_PATH) {
      if (req.method !== 'POST') return send(res, 405, 'text/plain; charset=utf-8', 'add-checkpoint takes POST\n');
      readBody(req)
        .then(async (body) => {
          if (body === undefined) return send(res, 413, 'text/plain; charset=utf-8', `the request body is larger than ${MAX_ADD_CHECKPOINT_BYTES} bytes\n`);
          const answer = await witness.addCheckpoint(body);
          send(res, answer.status, answer.contentType, answer.body);
        })
        .catch((error: Error) => {
          // Nothing was cosigned (the record is written before the answer): report and move on.
          log(`witness: add-checkpoint failed: ${error.stack ?? error.message}`);
          if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
        });
      return;
    }
    if (path === '/healthz' && req.method === 'GET') {
      return send(res, 200, 'application/json', `${JSON.stringify({ ok: true, name: witness.identity.cosigner.key.name, vkey: witness.identity.vkey, logs: witness.origins })}\n`);
    }
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  };
  const server: Server = tls ? createHttpsServer({ cert: await readFile(opts.tlsCertPath!), key: await readFile(opts.tlsKeyPath!) }, handler) : createHttpServer(handler);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_WITNESS_PORT, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${tls ? 'https' : 'http'}://${urlHost}:${port}`,
    witness,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
