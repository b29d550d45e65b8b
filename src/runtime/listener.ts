import { lstat, unlink } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';
import { formatEndpoint, parseEndpoint, type Endpoint } from './endpoint.js';
import { loadTls, type TlsFiles } from './tls.js';

export interface ListenerOptions {
  /** Required for `ssl:` endpoints. Clients must present a certificate signed by `ca`. */
  readonly tls?: TlsFiles;
  /** Called for TLS handshake failures and server errors after listening started. */
  readonly onError?: (err: Error) => void;
}

/** A passive OpenFlow endpoint: every accepted socket is handed to `onSocket` (which owns it from then on). */
export class Listener {
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly endpoint: Endpoint,
    private readonly server: Server,
  ) {}

  static async open(spec: string, onSocket: (socket: Socket) => void, opts: ListenerOptions = {}): Promise<Listener> {
    const endpoint = parseEndpoint(spec, 'listen');
    let server: Server;
    if (endpoint.kind === 'ssl') {
      if (!opts.tls) throw new Error(`listener ${spec}: ssl: needs tls files (key, cert, ca)`);
      const ctx = await loadTls(opts.tls);
      // Unauthorized clients are cut off below, as Node's rejectUnauthorized would (after the handshake, before any
      // data), but with the reason in the log: Node's own way drops it.
      const tlsServer = createTlsServer({ ...ctx, requestCert: true, rejectUnauthorized: false });
      tlsServer.on('tlsClientError', (err, socket) => opts.onError?.(new Error(`TLS handshake with ${peerOf(socket)} failed: ${err.message}`, { cause: err })));
      server = tlsServer;
    } else {
      server = createServer();
    }
    const listener = new Listener(endpoint, server);
    server.on(endpoint.kind === 'ssl' ? 'secureConnection' : 'connection', (socket: Socket) => {
      if (socket instanceof TLSSocket && !socket.authorized) {
        opts.onError?.(new Error(`TLS client ${peerOf(socket)} refused: ${unauthorizedReason(socket)}`));
        socket.destroy();
        return;
      }
      listener.sockets.add(socket);
      socket.once('close', () => listener.sockets.delete(socket));
      onSocket(socket);
    });
    if (endpoint.kind === 'unix') await removeStaleSocket(endpoint.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        resolve();
      };
      if (endpoint.kind === 'unix') server.listen(endpoint.path, done);
      else server.listen(endpoint.port, endpoint.host, done);
    });
    server.on('error', (err) => opts.onError?.(err));
    return listener;
  }

  /** The bound address as an endpoint string (the real port when 0 was asked for). */
  get address(): string {
    if (this.endpoint.kind === 'unix') return formatEndpoint(this.endpoint);
    const a = this.server.address() as AddressInfo;
    return formatEndpoint({ kind: this.endpoint.kind, host: a.address, port: a.port });
  }

  get port(): number | undefined {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** Stops accepting and destroys the sockets accepted here that are still open. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSocket()) await unlink(path);
  } catch {
    /* not there */
  }
}

const peerOf = (socket: Socket): string => (socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'a client (address unknown)');

/** Why a client's certificate was refused, naming the certificate: `its certificate CN=x (valid ... to ...) has expired`. */
function unauthorizedReason(socket: TLSSocket): string {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return 'it presented no certificate';
  const code = String(socket.authorizationError);
  const what = CERT_PROBLEMS[code] ?? `failed verification (${code})`;
  const cn = cert.subject?.CN === undefined ? '(no CN)' : `CN=${String(cert.subject.CN)}`;
  return `its certificate ${cn} (valid ${cert.valid_from} to ${cert.valid_to}) ${what}`;
}

const CHAIN = 'does not chain to the CA in openflow.tls.ca';
const CERT_PROBLEMS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'has expired',
  CERT_NOT_YET_VALID: 'is not valid yet',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: CHAIN,
  UNABLE_TO_GET_ISSUER_CERT: CHAIN,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: CHAIN,
  SELF_SIGNED_CERT_IN_CHAIN: CHAIN,
  DEPTH_ZERO_SELF_SIGNED_CERT: `is self-signed: it ${CHAIN}`,
  CERT_SIGNATURE_FAILURE: 'has a bad signature',
  CERT_REVOKED: 'is revoked',
  INVALID_PURPOSE: 'is not meant for TLS clients (extendedKeyUsage)',
};
