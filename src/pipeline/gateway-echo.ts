// The router address of another project's subnet, in OVS (docs/pipeline.md, "Routing domains").
//
// A default-project subnet's gateway IP lives on every gateway's kernel, which answers a VM's ping to it. Another
// project may reuse those addresses, so its gateway IPs are held by no kernel: a VM's packet to one would follow
// its egress to the gateway, meet the kernel under its transit address, and leave SNATed to the outside world. So,
// on every node, for each such subnet (table 10, matched in its routing domain, which only a local VM's frame
// carries there: tunnel frames are only delivered, the kernel's are in the default domain):
// - an ICMP echo request to its gateway IP is answered here, back out of the port it came in on: MACs and IPs
//   swapped, icmp_type 0 (OVS adjusts the IPv4 and ICMP checksums of the fields it sets), TTL as it came;
// - any other IPv4 to an address inside the subnet that no VM holds (routed rows, priority 10, take the VMs') is
//   dropped: it belongs to the project, never to the outside.
// An echo request larger than the MTU arrives in fragments: the first one gets a reply that is a fragment itself
// (the VM never completes it), the others are dropped by the second row. Such a ping fails; nothing leaks.
import type { FlowMod } from '../openflow/index.js';
import { DEFAULT_DOMAIN, parseCidr } from '../topology/model.js';
import type { SubnetInfo } from './cloud-index.js';
import { ETH_TYPE, FIELD_REFS, IP_PROTO, match, oxm, u16, u32, u8 } from './fields.js';
import { flow, move, OUTPUT_IN_PORT, setField } from './flow.js';
import { GATEWAY_MAC_BYTES, inDomain } from './rows.js';
import { PRIORITY, TABLE } from './tables.js';

const P10 = PRIORITY[TABLE.UNICAST];
const ICMP_ECHO_REQUEST = 8;
const ICMP_ECHO_REPLY = 0;

const ETH_IP = oxm('eth_type', u16(ETH_TYPE.IPV4));
const PROTO_ICMP = oxm('ip_proto', u8(IP_PROTO.ICMP));
const ECHO_REQUEST = oxm('icmp_type', u8(ICMP_ECHO_REQUEST));
const SET_ECHO_REPLY = setField(oxm('icmp_type', u8(ICMP_ECHO_REPLY)));
const SET_SRC_GATEWAY_MAC = setField(oxm('eth_src', GATEWAY_MAC_BYTES));
const MOVE_MAC = move(FIELD_REFS.eth_src, FIELD_REFS.eth_dst, 48);
const MOVE_IP = move(FIELD_REFS.ipv4_src, FIELD_REFS.ipv4_dst, 32);

/** Whether a subnet's gateway IP is answered in OVS (every routing domain but the default one's). */
export function answersGatewayInOvs(s: SubnetInfo): boolean {
  return s.domain !== DEFAULT_DOMAIN;
}

/** The subnet's echo responder and its in-subnet drop (none for the default domain, whose kernel holds the address). */
export function gatewayEchoRows(cookie: bigint, s: SubnetInfo): FlowMod[] {
  if (!answersGatewayInOvs(s)) return [];
  const domain = inDomain(s.domainBytes);
  const { network, prefix } = parseCidr(s.subnet.cidr);
  const block = oxm('ipv4_dst', u32(network), u32(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0));
  return [
    flow({
      table: TABLE.UNICAST,
      priority: P10.GATEWAY_ECHO,
      cookie,
      match: match(domain, ETH_IP, PROTO_ICMP, oxm('ipv4_dst', s.gatewayIpBytes), ECHO_REQUEST, oxm('icmp_code', u8(0))),
      actions: [MOVE_MAC, SET_SRC_GATEWAY_MAC, MOVE_IP, setField(oxm('ipv4_src', s.gatewayIpBytes)), SET_ECHO_REPLY, OUTPUT_IN_PORT],
    }),
    flow({ table: TABLE.UNICAST, priority: P10.DOMAIN_UNKNOWN, cookie, match: match(domain, ETH_IP, block) }),
  ];
}
