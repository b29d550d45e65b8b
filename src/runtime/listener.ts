import { lstat, unlink } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
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
      const tlsServer = createTlsServer({ ...ctx, requestCert: true, rejectUnauthorized: true });
      tlsServer.on('tlsClientError', (err) => opts.onError?.(err));
      server = tlsServer;
    } else {
      server = createServer();
    }
    const listener = new Listener(endpoint, server);
    server.on(endpoint.kind === 'ssl' ? 'secureConnection' : 'connection', (socket: Socket) => {
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
