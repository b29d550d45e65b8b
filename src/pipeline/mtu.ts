// Path MTU: the overlay MTU every VM gets, derived from the underlay's, and the constants of the rows that keep a
// frame too big for the tunnel from being dropped silently (table 20, see docs/pipeline.md "Path MTU").
import { OFPMBT, OFPMF } from '../openflow/index.js';

/** What VXLAN over IPv4 adds to a VM's IP packet: inner Ethernet 14 + outer IPv4 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD = 50;
export const DEFAULT_UNDERLAY_MTU = 1500;
export const DEFAULT_OVERLAY_MTU = DEFAULT_UNDERLAY_MTU - VXLAN_OVERHEAD;
/** Bounds for an underlay MTU: an overlay MTU of at least 576 (RFC 791's minimum datagram), at most a u16 frame. */
export const MIN_UNDERLAY_MTU = 576 + VXLAN_OVERHEAD;
export const MAX_UNDERLAY_MTU = 65_000;
/** The Ethernet header check_pkt_larger counts (it compares the whole frame; no VLAN tags on our ports). */
export const ETH_HEADER_LEN = 14;

/** The OpenFlow meter that bounds too-big punts per node (packets per second, with as many in a burst). */
export const PATH_MTU_METER = { id: 1, ratePps: 100, burst: 100 } as const;
/** The meter as OpenFlow carries it (flags PKTPS | BURST | STATS, one drop band); the runtime installs it per node. */
export const PATH_MTU_METER_MOD = {
  meterId: PATH_MTU_METER.id,
  flags: OFPMF.PKTPS | OFPMF.BURST | OFPMF.STATS,
  bands: [{ type: OFPMBT.DROP, rate: PATH_MTU_METER.ratePps, burstSize: PATH_MTU_METER.burst }],
} as const;
/** The same in ovs-ofctl's add-meter syntax (tests that install a compiled pipeline by hand). */
export const PATH_MTU_METER_TEXT = `meter=${PATH_MTU_METER.id},pktps,burst,stats,band=type=drop,rate=${PATH_MTU_METER.ratePps},burst_size=${PATH_MTU_METER.burst}`;
/** Bytes of a too-big frame sent to the controller: Ethernet + the largest IPv4 header (60) + 8, rounded up. */
export const PATH_MTU_PUNT_BYTES = 128;

/**
 * One overlay MTU for the whole cloud, since any VM may talk to any node: the smallest underlay MTU among the nodes
 * (a node's own value, else the default; the default alone for a cloud without nodes), minus the VXLAN overhead.
 */
export function overlayMtuFor(nodes: readonly string[], underlayMtu: number, byNode: Readonly<Record<string, number>> = {}): number {
  let min = nodes.length ? Infinity : underlayMtu;
  for (const n of nodes) min = Math.min(min, byNode[n] ?? underlayMtu);
  return min - VXLAN_OVERHEAD;
}
