import { connect as netConnect, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate, type SecureContextOptions } from 'node:tls';
import { formatEndpoint, parseEndpoint, type Endpoint } from './endpoint.js';
import { loadTls, type TlsFiles } from './tls.js';

export interface ConnectorOptions {
  readonly tls?: TlsFiles;
  /**
   * `ssl:` targets: the switch's certificate must be for the host connected to (a DNS name in its subjectAltName,
   * or for an IP address target that address as an IP subjectAltName), besides chaining to the CA (default true).
   * False trusts the CA alone, as OVS does.
   */
  readonly verifyHostname?: boolean;
  /** First reconnect delay (default 100 ms); doubles per failure up to `maxBackoffMs` (default 8 s). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Connect attempts give up after this long (default 5 s). */
  readonly connectTimeoutMs?: number;
  readonly onError?: (err: Error) => void;
}

/**
 * An active OpenFlow connection to a switch endpoint (`tcp:host:port`, `ssl:host:port`, `unix:PATH` such as OVS's
 * `br0.mgmt`), reconnecting with exponential backoff whenever the socket closes, until `stop()`.
 */
export class Connector {
  readonly endpoint: Endpoint;
  private stopped = false;
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoff: number;
  private tls: SecureContextOptions | undefined;

  constructor(
    spec: string,
    private readonly onSocket: (socket: Socket) => void,
    private readonly opts: ConnectorOptions = {},
  ) {
    this.endpoint = parseEndpoint(spec, 'connect');
    this.backoff = opts.minBackoffMs ?? 100;
  }

  start(): void {
    void this.attempt();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    const e = this.endpoint;
    try {
      if (e.kind === 'ssl' && !this.tls) {
        if (!this.opts.tls) throw new Error('ssl: endpoint needs tls files');
        this.tls = await loadTls(this.opts.tls);
      }
    } catch (err) {
      this.failed(err as Error);
      return;
    }
    const socket =
      e.kind === 'unix'
        ? netConnect(e.path)
        : e.kind === 'tcp'
          ? netConnect(e.port, e.host)
          : tlsConnect({ ...this.tls, host: e.host, port: e.port, checkServerIdentity: (host, cert) => this.checkHost(host, cert) });
    this.socket = socket;
    const ready = e.kind === 'ssl' ? 'secureConnect' : 'connect';
    const timeout = setTimeout(() => socket.destroy(new Error('connect timeout')), this.opts.connectTimeoutMs ?? 5000);
    let connectedAt = 0;
    socket.once(ready, () => {
      clearTimeout(timeout);
      connectedAt = Date.now();
      this.onSocket(socket);
    });
    socket.on('error', (err) => this.opts.onError?.(err));
    socket.once('close', () => {
      clearTimeout(timeout);
      this.socket = undefined;
      // A connection that lived a while resets the backoff; one that died at once keeps growing it.
      if (connectedAt && Date.now() - connectedAt > 5000) this.backoff = this.opts.minBackoffMs ?? 100;
      this.schedule();
    });
  }

  private checkHost(host: string, cert: PeerCertificate): Error | undefined {
    if (this.opts.verifyHostname === false) return undefined;
    const err = checkServerIdentity(host, cert);
    if (!err) return undefined;
    const names = cert.subjectaltname ? `it is for ${cert.subjectaltname}` : 'it has no subjectAltName';
    return new Error(`${formatEndpoint(this.endpoint)}: the switch's certificate is not for ${host} (${names}): ${err.message}`);
  }

  private failed(err: Error): void {
    this.opts.onError?.(err);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 8000);
    this.timer = setTimeout(() => void this.attempt(), delay);
  }
}
