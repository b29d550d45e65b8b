// A fake datapath for the controller's packet-in responders (DhcpResponder, PathMtuResponder: test/daemon/dhcp.test.ts,
// test/daemon/path-mtu.test.ts): the datapath of node `compute-1` (dpid 7) with a VM port `tap-a1` (3) and
// `vxlan-int` (9), whose connection records each packet-out; the PACKET_IN the switch sends a responder; and the
// collaborators every responder takes (a controller whose datapath events nobody fires, the node lookup, metrics).
import { EventEmitter } from 'node:events';
import { Metrics } from '../../src/daemon/metrics.js';
import type { Action, Message } from '../../src/openflow/types.js';
import type { Controller } from '../../src/runtime/index.js';

export type PacketIn = Extract<Message, { type: 'packet_in' }>;

export const FAKE_DPID = 7n;
export const FAKE_NODE = 'compute-1';
/** The VM's port on the fake datapath, by number and name. */
export const VM_PORT = 3;
export const VM_PORT_NAME = 'tap-a1';

export interface SentPacket {
  readonly data: Uint8Array;
  readonly actions: readonly Action[];
  readonly inPort: number;
}

/** A 32-bit big-endian value as bytes (an OXM in_port value). */
export const u32Bytes = (n: number): Uint8Array => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

/** A PACKET_IN of `data` from `port` (default the VM's), as table `tableId` punts it with `cookie`. */
export function packetIn(data: Uint8Array, o: { port?: number; tableId: number; cookie: bigint; totalLen?: number }): PacketIn {
  return {
    type: 'packet_in',
    xid: 0,
    bufferId: 0xffffffff,
    totalLen: o.totalLen ?? data.length,
    reason: 1,
    tableId: o.tableId,
    cookie: o.cookie,
    match: [{ field: 'in_port', header: 0x80000004, value: u32Bytes(o.port ?? VM_PORT) } as PacketIn['match'][number]],
    data,
  };
}

/**
 * The fake datapath (typed loosely: it has only what the responders read), the packet-outs sent through it, and what
 * a responder is built with.
 */
export function fakeDatapath() {
  const sent: SentPacket[] = [];
  const dp = {
    dpid: FAKE_DPID,
    portByNumber: (n: number) => (n === VM_PORT ? { name: VM_PORT_NAME } : n === 9 ? { name: 'vxlan-int' } : undefined),
    connection: Object.assign(new EventEmitter(), {
      packetOut: (data: Uint8Array, actions: readonly Action[], inPort: number) => (sent.push({ data, actions, inPort }), 0),
    }),
  };
  const metrics = new Metrics({ processMetrics: false });
  const collaborators = {
    controller: { datapaths: new EventEmitter() } as unknown as Controller,
    nodeOf: (d: bigint) => (d === FAKE_DPID ? FAKE_NODE : undefined),
    metrics,
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a fake datapath with what the responders read
  return { dp: dp as any, sent, metrics, collaborators };
}
