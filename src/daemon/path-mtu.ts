// Path MTU for the overlay: the controller's half of table 20 (docs/pipeline.md, "Path MTU").
//
// A VM whose interface MTU is larger than the overlay allows (set by hand, or older than a smaller node) sends frames
// that do not fit the tunnel. Table 20 punts the too-big IPv4 ones here (the first PATH_MTU_PUNT_BYTES bytes,
// metered per node); we answer each with ICMP "fragmentation needed" (type 3 code 4, next-hop MTU = the overlay MTU)
// from the sender's gateway IP and MAC, out of the port it came in on, as a router would (RFC 1191), so the sender's
// path-MTU discovery recovers. The datagram itself is dropped: OVS cannot fragment, and neither do we.
//
// Bounds: a token bucket per node (on top of the switch's meter), and nothing is ever queued: a punt is answered or
// dropped as it arrives. Every outcome is counted (minicloud_path_mtu_packets_total).
import type { Metrics, PathMtuOutcome } from './metrics.js';
import { OFPP, type Message } from '../openflow/index.js';
import { fragmentationNeeded, parseIpv4Frame, PacketError, whyNoIcmpError } from '../packets/index.js';
import { GATEWAY_MAC_BYTES } from '../pipeline/rows.js';
import { isOurs } from '../pipeline/cookie.js';
import { PATH_MTU_METER } from '../pipeline/mtu.js';
import { TABLE } from '../pipeline/tables.js';
import { ConnectionClosedError, SendQueueFullError, type Controller, type Datapath } from '../runtime/index.js';
import type { Log } from '../cloud/index.js';

/** The sending VM, as the model knows it. */
export interface PortVm {
  readonly mac: Uint8Array;
  readonly gatewayIp: number;
}

export interface PathMtuOptions {
  readonly controller: Controller;
  /** The node a datapath belongs to. */
  readonly nodeOf: (dpid: bigint) => string | undefined;
  /** The VM attached to `port` (interface name) on `node`, if any. */
  readonly vmAtPort: (node: string, port: string) => PortVm | undefined;
  /** The overlay MTU now (the next-hop MTU we announce). */
  readonly overlayMtu: () => number;
  readonly metrics?: Metrics;
  readonly log?: Log;
  /** ICMP errors per second per node, and the burst (default: the switch meter's). */
  readonly ratePerSecond?: number;
  readonly burst?: number;
  /** Milliseconds, for the token bucket (tests). */
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class PathMtuResponder {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly now: () => number;
  /** When a dropped punt was last logged: a misconfigured sender would otherwise fill the log. */
  private lastLog = 0;

  constructor(private readonly opts: PathMtuOptions) {
    this.rate = opts.ratePerSecond ?? PATH_MTU_METER.ratePps;
    this.burst = opts.burst ?? PATH_MTU_METER.burst;
    this.now = opts.now ?? (() => performance.now());
    opts.controller.datapaths.on('connected', (dp) => dp.connection.on('packetIn', (m) => this.onPacketIn(dp, m)));
    opts.controller.datapaths.on('disconnected', (dp) => {
      const node = this.opts.nodeOf(dp.dpid);
      if (node !== undefined) this.buckets.delete(node);
    });
  }

  /** Handles one packet-in; returns what became of it (undefined: not a path-MTU punt, left to others). */
  onPacketIn(dp: Pick<Datapath, 'dpid' | 'portByNumber' | 'connection'>, m: Extract<Message, { type: 'packet_in' }>): PathMtuOutcome | undefined {
    if (m.tableId !== TABLE.TUNNEL_OUT || !isOurs(m.cookie)) return undefined;
    const node = this.opts.nodeOf(dp.dpid);
    if (node === undefined) return undefined;
    const outcome = this.answer(dp, node, m);
    this.opts.metrics?.pathMtuPacket(node, outcome);
    if (outcome !== 'icmp_sent' && this.now() - this.lastLog > 10_000) {
      this.lastLog = this.now();
      this.opts.log?.warn({ node, outcome, totalLen: m.totalLen }, 'a frame too big for the tunnel was dropped without an ICMP answer (logged at most every 10 s)');
    }
    return outcome;
  }

  private answer(dp: Pick<Datapath, 'portByNumber' | 'connection'>, node: string, m: Extract<Message, { type: 'packet_in' }>): PathMtuOutcome {
    const inPort = inPortOf(m);
    const portName = inPort === undefined ? undefined : dp.portByNumber(inPort)?.name;
    const vm = portName === undefined ? undefined : this.opts.vmAtPort(node, portName);
    if (inPort === undefined || !vm) return 'not_from_vm';
    let original;
    try {
      original = parseIpv4Frame(m.data);
    } catch (e) {
      if (e instanceof PacketError) return 'malformed';
      throw e;
    }
    if (whyNoIcmpError(original) !== undefined) return 'not_answerable';
    if (!this.take(node)) return 'rate_limited';
    const frame = fragmentationNeeded({ ethSrc: GATEWAY_MAC_BYTES, ipSrc: vm.gatewayIp, ethDst: vm.mac, nextHopMtu: this.opts.overlayMtu(), original });
    try {
      dp.connection.packetOut(frame, [{ type: 'output', port: inPort, maxLen: 0 }], OFPP.CONTROLLER);
    } catch (e) {
      // A switch that does not drain its connection gets no answers rather than a growing queue.
      if (e instanceof SendQueueFullError || e instanceof ConnectionClosedError) return 'send_failed';
      throw e;
    }
    return 'icmp_sent';
  }

  private take(node: string): boolean {
    const t = this.now();
    let b = this.buckets.get(node);
    if (!b) this.buckets.set(node, (b = { tokens: this.burst, at: t }));
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
    b.at = t;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

function inPortOf(m: Extract<Message, { type: 'packet_in' }>): number | undefined {
  const f = m.match.find((x) => x.field === 'in_port');
  if (!f || f.value.length !== 4) return undefined;
  return new DataView(f.value.buffer, f.value.byteOffset, 4).getUint32(0);
}
