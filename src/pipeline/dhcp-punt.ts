// DHCP answered by the controller (`network.dhcp: controller`, docs/pipeline.md "DHCP"): on the VM's own node, the
// VM's DHCP client messages (udp 68 -> 67 from its port) go to the controller, metered per node, which answers with a
// PACKET_OUT to that port (src/daemon/dhcp.ts). Broadcast DISCOVER/REQUEST arrive in table 50, unicast renewals to
// the server id (the subnet's gateway IP, so the gateway MAC) in table 10.
import { OFPMBT, OFPMF, OFPP, type Action, type FlowMod } from '../openflow/index.js';
import { match, oxm } from './fields.js';
import { flow } from './flow.js';
import { DHCP_REQUEST_MATCH, inPort } from './rows.js';
import { PRIORITY, TABLE } from './tables.js';

/** The OpenFlow meter bounding DHCP punts per node (packets per second, as many in a burst). */
export const DHCP_METER = { id: 2, ratePps: 50, burst: 50 } as const;
export const DHCP_METER_MOD = {
  meterId: DHCP_METER.id,
  flags: OFPMF.PKTPS | OFPMF.BURST | OFPMF.STATS,
  bands: [{ type: OFPMBT.DROP, rate: DHCP_METER.ratePps, burstSize: DHCP_METER.burst }],
} as const;
export const DHCP_METER_TEXT = `meter=${DHCP_METER.id},pktps,burst,stats,band=type=drop,rate=${DHCP_METER.ratePps},burst_size=${DHCP_METER.burst}`;
/** Bytes of a DHCP client message sent to the controller: a whole 1500-byte frame (the parser refuses longer). */
export const DHCP_PUNT_BYTES = 1514;

const PUNT: Action = { type: 'output', port: OFPP.CONTROLLER, maxLen: DHCP_PUNT_BYTES };

/** The two punt rows of one local VM: broadcast (table 50) and unicast to its gateway IP (table 10, renewals). */
export function dhcpPuntRows(cookie: bigint, port: number, gatewayIpBytes: Uint8Array): FlowMod[] {
  const from = inPort(port);
  return [
    flow({
      table: TABLE.BROADCAST,
      priority: PRIORITY[TABLE.BROADCAST].DHCP_TO_SERVER,
      cookie,
      match: match(from, ...DHCP_REQUEST_MATCH),
      meter: DHCP_METER.id,
      actions: [PUNT],
    }),
    flow({
      table: TABLE.UNICAST,
      priority: PRIORITY[TABLE.UNICAST].DHCP_RENEW,
      cookie,
      match: match(from, ...DHCP_REQUEST_MATCH, oxm('ipv4_dst', gatewayIpBytes)),
      meter: DHCP_METER.id,
      actions: [PUNT],
    }),
  ];
}
