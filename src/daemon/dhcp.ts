// DHCP answered by the controller (`network.dhcp: controller`, docs/pipeline.md "DHCP"), as OVN and Neutron do:
// the VM's own node punts its DHCP client messages here (src/pipeline/dhcp-punt.ts, metered per node), and we answer
// out of the port they came in on with a PACKET_OUT, from the subnet's gateway IP and MAC (the server id). Nothing is
// stored: the lease is the VM's address from the model, so a restarted controller answers renewals as before.
//
// Only the VM's own address is ever handed out, and only to the VM's own MAC (the switch already admits only that
// MAC as the frame's source; chaddr is checked too). A REQUEST for any other address gets a NAK. Every outcome is
// counted (minicloud_dhcp_packets_total); nothing is queued: a punt is answered or dropped as it arrives.
import type { DhcpOutcome, Metrics } from './metrics.js';
import type { DhcpClient } from './node-pipelines.js';
import { OFPP, type Message } from '../openflow/index.js';
import { buildDhcpReply, parseDhcpRequest, PacketError, type DhcpClientRequest } from '../packets/index.js';
import { isOurs } from '../pipeline/cookie.js';
import { GATEWAY_MAC_BYTES } from '../pipeline/rows.js';
import { TABLE } from '../pipeline/tables.js';
import { ConnectionClosedError, SendQueueFullError, type Controller, type Datapath } from '../runtime/index.js';
import type { Log } from '../cloud/index.js';

export interface DhcpResponderOptions {
  readonly controller: Controller;
  readonly nodeOf: (dpid: bigint) => string | undefined;
  /** The VM attached to `port` (interface name) on `node`, if any. */
  readonly clientAt: (node: string, port: string) => DhcpClient | undefined;
  readonly overlayMtu: () => number;
  readonly leaseSeconds: number;
  readonly dns: readonly number[];
  readonly metrics?: Metrics;
  readonly log?: Log;
}

type PacketIn = Extract<Message, { type: 'packet_in' }>;

export class DhcpResponder {
  private lastLog = 0;

  constructor(private readonly opts: DhcpResponderOptions) {
    opts.controller.datapaths.on('connected', (dp) => dp.connection.on('packetIn', (m) => this.onPacketIn(dp, m)));
  }

  /** Handles one packet-in; returns what became of it (undefined: not a DHCP punt, left to others). */
  onPacketIn(dp: Pick<Datapath, 'dpid' | 'portByNumber' | 'connection'>, m: PacketIn): DhcpOutcome | undefined {
    if ((m.tableId !== TABLE.BROADCAST && m.tableId !== TABLE.UNICAST) || !isOurs(m.cookie)) return undefined;
    const node = this.opts.nodeOf(dp.dpid);
    if (node === undefined) return undefined;
    const outcome = this.answer(dp, node, m);
    this.opts.metrics?.dhcpPacket(node, outcome);
    if ((outcome === 'malformed' || outcome === 'chaddr_mismatch' || outcome === 'not_from_vm') && Date.now() - this.lastLog > 10_000) {
      this.lastLog = Date.now();
      this.opts.log?.warn({ node, outcome, totalLen: m.totalLen }, 'a DHCP message from a VM port was dropped (logged at most every 10 s)');
    }
    return outcome;
  }

  private answer(dp: Pick<Datapath, 'portByNumber' | 'connection'>, node: string, m: PacketIn): DhcpOutcome {
    const inPort = inPortOf(m);
    const portName = inPort === undefined ? undefined : dp.portByNumber(inPort)?.name;
    const vm = portName === undefined ? undefined : this.opts.clientAt(node, portName);
    if (inPort === undefined || !vm) return 'not_from_vm';
    let q: DhcpClientRequest;
    try {
      q = parseDhcpRequest(m.data);
    } catch (e) {
      if (e instanceof PacketError) return 'malformed';
      throw e;
    }
    if (!sameBytes(q.chaddr, vm.mac) || !sameBytes(q.ethSrc, vm.mac)) return 'chaddr_mismatch';
    const decision = decide(q, vm);
    if (decision === 'ignored') return decision;
    const frame = buildDhcpReply({
      type: decision,
      request: q,
      serverMac: GATEWAY_MAC_BYTES,
      serverIp: vm.gatewayIp,
      ...(decision === 'nak'
        ? { message: 'that address is not this VM\'s' }
        : { lease: { ip: vm.ip, prefixLength: vm.prefixLength, router: vm.gatewayIp, dns: this.opts.dns, leaseSeconds: this.opts.leaseSeconds, mtu: this.opts.overlayMtu() } }),
    });
    try {
      dp.connection.packetOut(frame, [{ type: 'output', port: inPort, maxLen: 0 }], OFPP.CONTROLLER);
    } catch (e) {
      if (e instanceof SendQueueFullError || e instanceof ConnectionClosedError) return 'send_failed';
      throw e;
    }
    return decision;
  }
}

/**
 * RFC 2131 4.3 for a server that knows exactly one address per client: DISCOVER -> OFFER; REQUEST -> ACK when what
 * it asks for (option 50 when selecting or rebooting, ciaddr when renewing or rebinding) is the VM's address, NAK
 * otherwise; a REQUEST naming another server (option 54) is that server's business; RELEASE, DECLINE and INFORM
 * need no answer from a server whose leases are fixed.
 */
export function decide(q: DhcpClientRequest, vm: Pick<DhcpClient, 'ip' | 'gatewayIp'>): 'offer' | 'ack' | 'nak' | 'ignored' {
  if (q.type === 'discover') return 'offer';
  if (q.type !== 'request') return 'ignored';
  if (q.serverId !== undefined && q.serverId !== vm.gatewayIp) return 'ignored';
  const asked = q.requestedIp ?? (q.ciaddr !== 0 ? q.ciaddr : undefined);
  return asked === vm.ip ? 'ack' : 'nak';
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function inPortOf(m: PacketIn): number | undefined {
  const f = m.match.find((x) => x.field === 'in_port');
  if (!f || f.value.length !== 4) return undefined;
  return new DataView(f.value.buffer, f.value.byteOffset, 4).getUint32(0);
}
