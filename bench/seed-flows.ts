// The seed-shape flows the codec benchmarks work on (bench/codec.ts, bench/decode-ab.ts): the seed's table 10 / 50
// flows (remote VM, local VM, routed, ARP responder), each with its own MAC, IP, VNI and port.
import type { FlowMod, Message } from '../src/openflow/types.js';

export type Shape = 'remote_vm' | 'local_vm' | 'routed' | 'arp';
export interface Spec {
  readonly shape: Shape;
  readonly mac: string;
  readonly ip: string;
  readonly vni: number;
  readonly hostIp: string;
  readonly port: number;
}

export const SHAPES: readonly Shape[] = ['remote_vm', 'local_vm', 'routed', 'arp'];

export function specs(n: number): Spec[] {
  return Array.from({ length: n }, (_, i) => ({
    shape: SHAPES[i % SHAPES.length]!,
    mac: `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
    ip: `192.168.${(i >> 8) & 0xff}.${i & 0xff}`,
    vni: 1000 + (i % 7),
    hostIp: `10.99.0.${(i % 250) + 1}`,
    port: 3 + (i % 4),
  }));
}

/** The same flow as bench/oskenbench.py builds, as an ovs-ofctl text. */
export function flowText(s: Spec): string {
  switch (s.shape) {
    case 'remote_vm':
      return `table=10,priority=15,dl_dst=${s.mac},actions=set_field:${s.vni}->tun_id,set_field:${s.hostIp}->tun_dst,output:1`;
    case 'local_vm':
      return `table=10,priority=15,dl_dst=${s.mac},actions=output:${s.port}`;
    case 'routed':
      return (
        `table=10,priority=10,ip,nw_dst=${s.ip},actions=set_field:12:00:00:ff:ff:ff->eth_src,set_field:${s.mac}->eth_dst,` +
        `set_field:${s.vni}->tun_id,set_field:${s.hostIp}->tun_dst,output:1`
      );
    case 'arp':
      return (
        `table=50,priority=20,arp,arp_op=1,arp_tpa=${s.ip},actions=move:eth_src->eth_dst,set_field:${s.mac}->eth_src,` +
        `set_field:2->arp_op,move:arp_sha->arp_tha,set_field:${s.mac}->arp_sha,move:arp_spa->arp_tpa,set_field:${s.ip}->arp_spa,IN_PORT`
      );
  }
}

/**
 * The message for a parsed flow, built the way src/runtime builds the FLOW_MODs it sends (sync.ts toMessage): one
 * object literal. Not `{ ...flow, xid }`: in Node 20's V8 an object spread followed by an added property gives each
 * result a hidden class of its own, which would make every property read of the encoder megamorphic, a cost no
 * real caller has.
 */
export function flowModMessage(f: FlowMod, xid: number): Message {
  return {
    type: 'flow_mod',
    xid,
    cookie: f.cookie,
    cookieMask: f.cookieMask,
    tableId: f.tableId,
    command: f.command,
    idleTimeout: f.idleTimeout,
    hardTimeout: f.hardTimeout,
    priority: f.priority,
    bufferId: f.bufferId,
    outPort: f.outPort,
    outGroup: f.outGroup,
    flags: f.flags,
    match: f.match,
    instructions: f.instructions,
  };
}
