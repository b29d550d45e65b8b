// ICMPv4 "destination unreachable, fragmentation needed and DF set" (type 3, code 4), RFC 792 with RFC 1191's
// next-hop MTU: what a router sends back when a datagram does not fit the next hop, so that the sender learns the
// path MTU. We send it for the overlay (docs/pipeline.md, "Path MTU").
import { internetChecksum } from './checksum.js';
import { ETH_HEADER_LEN, ETH_TYPE_IPV4, IP_PROTO_ICMP, isUnicastHost, type Ipv4Frame } from './ipv4.js';

export const ICMP_DEST_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
/** ICMP types that are errors: no ICMP error is ever sent about one of these (RFC 1122 3.2.2). */
const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);
/** What the quote carries after the original IP header: RFC 792's 64 bits, enough for the ports and TCP's seq. */
export const QUOTED_PAYLOAD_BYTES = 8;

export interface FragNeeded {
  /** The router's side: the MAC and IPv4 the error comes from (the sender's gateway). */
  readonly ethSrc: Uint8Array;
  readonly ipSrc: number;
  /** The sender of the datagram that did not fit. */
  readonly ethDst: Uint8Array;
  /** The MTU of the next hop (RFC 1191): the largest datagram that fits. */
  readonly nextHopMtu: number;
  /** The datagram that did not fit (at least its header and the first 8 bytes of payload, as captured). */
  readonly original: Ipv4Frame;
}

/**
 * Why no ICMP error may be sent about this datagram (RFC 1122 3.2.2, RFC 1812 4.3.2.7), or undefined when one may:
 * not about an ICMP error, not about a fragment other than the first, not to a source that is not a unicast host,
 * not about a datagram sent to a multicast or broadcast address.
 */
export function whyNoIcmpError(p: Ipv4Frame): string | undefined {
  if (p.fragmentOffset !== 0) return 'a fragment other than the first';
  if (!isUnicastHost(p.src)) return 'a source that is not a unicast host';
  if (p.dst >>> 28 === 0xe || p.dst === 0xffffffff) return 'a multicast or broadcast destination';
  if (p.protocol === IP_PROTO_ICMP) {
    const type = p.ip.length > p.headerLen ? p.ip[p.headerLen]! : undefined;
    if (type === undefined || ICMP_ERROR_TYPES.has(type)) return 'an ICMP error (or an ICMP message too short to tell)';
  }
  return undefined;
}

/** The whole Ethernet frame of the ICMP error. The original's header and 8 bytes (or what was captured) are quoted. */
export function fragmentationNeeded(m: FragNeeded): Uint8Array {
  const o = m.original;
  const quoteLen = Math.min(o.ip.length, o.headerLen + QUOTED_PAYLOAD_BYTES, o.totalLength);
  const icmpLen = 8 + quoteLen;
  const ipLen = 20 + icmpLen;
  const frame = new Uint8Array(ETH_HEADER_LEN + ipLen);
  const v = new DataView(frame.buffer);
  frame.set(m.ethDst, 0);
  frame.set(m.ethSrc, 6);
  v.setUint16(12, ETH_TYPE_IPV4);
  const ip = ETH_HEADER_LEN;
  v.setUint8(ip, 0x45);
  v.setUint8(ip + 1, 0xc0); // precedence "internetwork control", as Linux sends its ICMP errors
  v.setUint16(ip + 2, ipLen);
  v.setUint16(ip + 4, 0); // identification
  v.setUint16(ip + 6, 0); // no flags, offset 0
  v.setUint8(ip + 8, 64);
  v.setUint8(ip + 9, IP_PROTO_ICMP);
  v.setUint32(ip + 12, m.ipSrc);
  v.setUint32(ip + 16, o.src);
  v.setUint16(ip + 10, internetChecksum(frame, ip, ip + 20));
  const icmp = ip + 20;
  v.setUint8(icmp, ICMP_DEST_UNREACH);
  v.setUint8(icmp + 1, ICMP_FRAG_NEEDED);
  v.setUint16(icmp + 6, m.nextHopMtu);
  frame.set(o.ip.subarray(0, quoteLen), icmp + 8);
  v.setUint16(icmp + 2, internetChecksum(frame, icmp, icmp + icmpLen));
  return frame;
}
