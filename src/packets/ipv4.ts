// Reading the Ethernet + IPv4 headers of a frame the switch sent us (a packet-in), every length checked.
import { PacketError } from './errors.js';

export const ETH_HEADER_LEN = 14;
export const ETH_TYPE_IPV4 = 0x0800;
export const IP_PROTO_ICMP = 1;
const IPV4_MIN_HEADER = 20;

export interface Ipv4Frame {
  readonly ethDst: Uint8Array;
  readonly ethSrc: Uint8Array;
  /** The IPv4 header and as much of the payload as the frame holds (a truncated packet-in holds only a prefix). */
  readonly ip: Uint8Array;
  readonly headerLen: number;
  /** The datagram's length as its header says (the frame may be truncated). */
  readonly totalLength: number;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  /** In 8-byte units; 0 for an unfragmented datagram or a first fragment. */
  readonly fragmentOffset: number;
  readonly protocol: number;
  readonly src: number;
  readonly dst: number;
}

/** Parses an untagged Ethernet frame carrying IPv4. Throws PacketError for anything else or anything malformed. */
export function parseIpv4Frame(frame: Uint8Array): Ipv4Frame {
  if (frame.length < ETH_HEADER_LEN + IPV4_MIN_HEADER) throw new PacketError(`frame of ${frame.length} bytes is too short for Ethernet + IPv4`);
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const ethType = v.getUint16(12);
  if (ethType !== ETH_TYPE_IPV4) throw new PacketError(`ethertype 0x${ethType.toString(16).padStart(4, '0')} is not IPv4`);
  const ip = frame.subarray(ETH_HEADER_LEN);
  const versionIhl = ip[0]!;
  if (versionIhl >> 4 !== 4) throw new PacketError(`IP version ${versionIhl >> 4} is not 4`);
  const headerLen = (versionIhl & 0x0f) * 4;
  if (headerLen < IPV4_MIN_HEADER) throw new PacketError(`IPv4 header length ${headerLen} is below 20`);
  if (ip.length < headerLen) throw new PacketError(`IPv4 header of ${headerLen} bytes overruns the ${ip.length} bytes captured`);
  const totalLength = v.getUint16(ETH_HEADER_LEN + 2);
  if (totalLength < headerLen) throw new PacketError(`IPv4 total length ${totalLength} is below its header length ${headerLen}`);
  const flagsFrag = v.getUint16(ETH_HEADER_LEN + 6);
  return {
    ethDst: frame.subarray(0, 6),
    ethSrc: frame.subarray(6, 12),
    ip,
    headerLen,
    totalLength,
    dontFragment: (flagsFrag & 0x4000) !== 0,
    moreFragments: (flagsFrag & 0x2000) !== 0,
    fragmentOffset: flagsFrag & 0x1fff,
    protocol: ip[9]!,
    src: v.getUint32(ETH_HEADER_LEN + 12),
    dst: v.getUint32(ETH_HEADER_LEN + 16),
  };
}

/** A host's unicast address (not 0/8, loopback, multicast, class E or limited broadcast). */
export function isUnicastHost(ip: number): boolean {
  const first = ip >>> 24;
  return first !== 0 && first !== 127 && first < 224;
}
