// Packets the controller builds and reads itself (ICMP errors now; DHCP and ARP later), beside the OpenFlow codec.
// Nothing here imports anything of ours.
export { internetChecksum } from './checksum.js';
export { PacketError } from './errors.js';
export { fragmentationNeeded, whyNoIcmpError, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, QUOTED_PAYLOAD_BYTES, type FragNeeded } from './icmp.js';
export { isUnicastHost, parseIpv4Frame, ETH_HEADER_LEN, type Ipv4Frame } from './ipv4.js';
