// Packets the controller builds and reads itself (ICMP errors, DHCP; ARP later), beside the OpenFlow codec.
// Nothing here imports anything of ours.
export { internetChecksum } from './checksum.js';
export { PacketError } from './errors.js';
export { fragmentationNeeded, whyNoIcmpError, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, QUOTED_PAYLOAD_BYTES, type FragNeeded } from './icmp.js';
export { isUnicastHost, parseIpv4Frame, ETH_HEADER_LEN, type Ipv4Frame } from './ipv4.js';
export {
  buildDhcpReply,
  encodeClasslessRoutes,
  parseDhcpRequest,
  DHCP_MAX_FRAME,
  DHCP_MESSAGE,
  DHCP_OPTION,
  type ClasslessRoute,
  type DhcpClientMessage,
  type DhcpClientRequest,
  type DhcpLease,
  type DhcpReplyInput,
} from './dhcp.js';
