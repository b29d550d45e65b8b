// A scripted fake switch over a real socket (tcp on loopback from a chosen 127.x address, or unix): it decodes what
// the controller sends and `answer` decides the replies. For the listener's hostile-peer tests.
import { connect, type Socket } from 'node:net';
import { FrameSplitter } from '../../src/openflow/framing.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import type { Message } from '../../src/openflow/types.js';

export type Answer = (m: Message, sw: FakeSwitch) => void;

export class FakeSwitch {
  readonly received: Message[] = [];
  closed = false;
  private readonly frames = new FrameSplitter();

  constructor(
    readonly socket: Socket,
    public answer: Answer = () => undefined,
  ) {
    socket.on('data', (chunk) => {
      try {
        for (const f of this.frames.push(chunk)) {
          const m = decodeMessage(f);
          this.received.push(m);
          this.answer(m, this);
        }
      } catch {
        socket.destroy();
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  /** Connects to `tcp:HOST:PORT` (from `localAddress` when given) or `unix:PATH`. */
  static open(endpoint: { port: number; host?: string; localAddress?: string } | { path: string }, answer?: Answer): Promise<FakeSwitch> {
    return new Promise((resolve, reject) => {
      const s =
        'path' in endpoint
          ? connect(endpoint.path, () => resolve(new FakeSwitch(s, answer)))
          : connect({ port: endpoint.port, host: endpoint.host ?? '127.0.0.1', ...(endpoint.localAddress && { localAddress: endpoint.localAddress }) }, () => resolve(new FakeSwitch(s, answer)));
      s.once('error', reject);
    });
  }

  send(m: Message): void {
    if (!this.socket.destroyed) this.socket.write(encodeMessage(m));
  }

  /** The OFPT_ERRORs the controller sent. */
  get errors(): Extract<Message, { type: 'error' }>[] {
    return this.received.filter((m): m is Extract<Message, { type: 'error' }> => m.type === 'error');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Answers the handshake like a minimal OVS (datapath `dpid`, no ports), barriers and (unless `echo` is false) echoes. */
export function switchLike(dpid: bigint, opts: { echo?: boolean } = {}): Answer {
  return (m, sw) => {
    if (m.type === 'hello') sw.send({ type: 'hello', xid: m.xid, version: 4, versions: [4] });
    else if (m.type === 'features_request') sw.send({ type: 'features_reply', xid: m.xid, datapathId: dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0 });
    else if (m.type === 'port_desc_request') sw.send({ type: 'port_desc_reply', xid: m.xid, flags: 0, ports: [] });
    else if (m.type === 'barrier_request') sw.send({ type: 'barrier_reply', xid: m.xid });
    else if (m.type === 'echo_request' && opts.echo !== false) sw.send({ type: 'echo_reply', xid: m.xid, data: m.data });
  };
}
