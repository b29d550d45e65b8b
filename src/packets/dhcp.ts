// DHCP (RFC 2131, options RFC 2132, classless static routes RFC 3442) as the controller speaks it: read a client's
// DISCOVER / REQUEST / RELEASE / DECLINE / INFORM from the frame a switch punted, build the OFFER / ACK / NAK frame
// that goes back out of the client's port. Every length is checked; anything malformed throws PacketError only.
import { internetChecksum } from './checksum.js';
import { PacketError } from './errors.js';
import { ETH_HEADER_LEN, ETH_TYPE_IPV4, parseIpv4Frame } from './ipv4.js';

export const IP_PROTO_UDP = 17;
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
/** The largest frame we read: a DHCP client message fits an untagged 1500-byte MTU (RFC 2131 asks for 576). */
export const DHCP_MAX_FRAME = ETH_HEADER_LEN + 1500;
const UDP_HEADER_LEN = 8;
/** op .. file: the fixed BOOTP part (236 bytes), then the magic cookie. */
const BOOTP_FIXED_LEN = 236;
const MAGIC_COOKIE = 0x63825363;
const BOOTREQUEST = 1;
const BOOTREPLY = 2;
const HTYPE_ETHERNET = 1;
const BROADCAST_FLAG = 0x8000;

export const DHCP_MESSAGE = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;
export type DhcpClientMessage = 'discover' | 'request' | 'decline' | 'release' | 'inform';
const CLIENT_TYPES: ReadonlyMap<number, DhcpClientMessage> = new Map([
  [DHCP_MESSAGE.DISCOVER, 'discover'],
  [DHCP_MESSAGE.REQUEST, 'request'],
  [DHCP_MESSAGE.DECLINE, 'decline'],
  [DHCP_MESSAGE.RELEASE, 'release'],
  [DHCP_MESSAGE.INFORM, 'inform'],
]);

export const DHCP_OPTION = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  INTERFACE_MTU: 26,
  BROADCAST_ADDRESS: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  MESSAGE: 56,
  RENEWAL_T1: 58,
  REBINDING_T2: 59,
  CLASSLESS_ROUTES: 121,
  END: 255,
} as const;

/** A client message, as much of it as the controller uses. */
export interface DhcpClientRequest {
  readonly type: DhcpClientMessage;
  readonly ethSrc: Uint8Array;
  readonly ipSrc: number;
  readonly ipDst: number;
  readonly xid: number;
  readonly flags: number;
  readonly ciaddr: number;
  readonly giaddr: number;
  /** The client's hardware address (6 bytes: htype Ethernet only). */
  readonly chaddr: Uint8Array;
  /** Option 50 (SELECTING, INIT-REBOOT). */
  readonly requestedIp?: number;
  /** Option 54 (SELECTING: the server the client chose). */
  readonly serverId?: number;
}

const u32At = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/**
 * Parses an untagged Ethernet + IPv4 + UDP (68 -> 67) frame carrying a BOOTREQUEST with DHCP options. Throws
 * PacketError for anything else: a fragment, inconsistent IP/UDP lengths, a frame truncated or over DHCP_MAX_FRAME,
 * hardware other than Ethernet, no magic cookie, an option overrunning the packet, no END, a missing or repeated
 * message type, a message type a client does not send.
 */
export function parseDhcpRequest(frame: Uint8Array): DhcpClientRequest {
  if (frame.length > DHCP_MAX_FRAME) throw new PacketError(`frame of ${frame.length} bytes is longer than a DHCP client message may be (${DHCP_MAX_FRAME})`);
  const ip = parseIpv4Frame(frame);
  if (ip.protocol !== IP_PROTO_UDP) throw new PacketError(`IP protocol ${ip.protocol} is not UDP`);
  if (ip.moreFragments || ip.fragmentOffset !== 0) throw new PacketError('a fragmented DHCP message');
  if (ip.totalLength > ip.ip.length) throw new PacketError(`IPv4 total length ${ip.totalLength} overruns the ${ip.ip.length} bytes captured`);
  const udp = ip.ip.subarray(ip.headerLen, ip.totalLength);
  if (udp.length < UDP_HEADER_LEN) throw new PacketError(`UDP header of 8 bytes overruns the ${udp.length} bytes of the datagram`);
  const sport = (udp[0]! << 8) | udp[1]!;
  const dport = (udp[2]! << 8) | udp[3]!;
  const udpLen = (udp[4]! << 8) | udp[5]!;
  if (sport !== DHCP_CLIENT_PORT || dport !== DHCP_SERVER_PORT) throw new PacketError(`UDP ${sport} -> ${dport} is not a DHCP client message (68 -> 67)`);
  if (udpLen < UDP_HEADER_LEN || udpLen > udp.length) throw new PacketError(`UDP length ${udpLen} does not fit the ${udp.length} bytes of the datagram`);
  const b = udp.subarray(UDP_HEADER_LEN, udpLen);
  if (b.length < BOOTP_FIXED_LEN + 4) throw new PacketError(`DHCP message of ${b.length} bytes is shorter than BOOTP's 240`);
  if (b[0] !== BOOTREQUEST) throw new PacketError(`BOOTP op ${b[0]} is not BOOTREQUEST`);
  if (b[1] !== HTYPE_ETHERNET || b[2] !== 6) throw new PacketError(`hardware type ${b[1]} length ${b[2]} is not Ethernet`);
  if (u32At(b, BOOTP_FIXED_LEN) !== MAGIC_COOKIE) throw new PacketError('no DHCP magic cookie');
  let type: DhcpClientMessage | undefined;
  let requestedIp: number | undefined;
  let serverId: number | undefined;
  let at = BOOTP_FIXED_LEN + 4;
  let ended = false;
  while (at < b.length) {
    const code = b[at]!;
    if (code === DHCP_OPTION.PAD) {
      at++;
      continue;
    }
    if (code === DHCP_OPTION.END) {
      ended = true;
      break;
    }
    if (at + 1 >= b.length) throw new PacketError(`option ${code} has no length byte`);
    const len = b[at + 1]!;
    const value = at + 2;
    if (value + len > b.length) throw new PacketError(`option ${code} of ${len} bytes overruns the message`);
    if (code === DHCP_OPTION.MESSAGE_TYPE) {
      if (type !== undefined) throw new PacketError('message type option repeated');
      if (len !== 1) throw new PacketError(`message type option of ${len} bytes (must be 1)`);
      type = CLIENT_TYPES.get(b[value]!);
      if (type === undefined) throw new PacketError(`message type ${b[value]} is not one a client sends`);
    } else if (code === DHCP_OPTION.REQUESTED_IP) {
      if (requestedIp !== undefined || len !== 4) throw new PacketError(`requested IP option of ${len} bytes, or repeated`);
      requestedIp = u32At(b, value);
    } else if (code === DHCP_OPTION.SERVER_ID) {
      if (serverId !== undefined || len !== 4) throw new PacketError(`server identifier option of ${len} bytes, or repeated`);
      serverId = u32At(b, value);
    }
    at = value + len;
  }
  if (!ended) throw new PacketError('options do not end with END (255)');
  if (type === undefined) throw new PacketError('no DHCP message type option');
  return {
    type,
    ethSrc: ip.ethSrc,
    ipSrc: ip.src,
    ipDst: ip.dst,
    xid: u32At(b, 4),
    flags: (b[10]! << 8) | b[11]!,
    ciaddr: u32At(b, 12),
    giaddr: u32At(b, 24),
    chaddr: b.subarray(28, 34),
    ...(requestedIp !== undefined && { requestedIp }),
    ...(serverId !== undefined && { serverId }),
  };
}

/** A classless static route (RFC 3442): destination prefix and its next hop. */
export interface ClasslessRoute {
  readonly destination: number;
  readonly prefixLength: number;
  readonly router: number;
}

export interface DhcpLease {
  /** The address the client gets (yiaddr). */
  readonly ip: number;
  readonly prefixLength: number;
  readonly router: number;
  readonly dns: readonly number[];
  readonly leaseSeconds: number;
  /** Option 26: the interface MTU (the overlay MTU). */
  readonly mtu: number;
  /**
   * Option 121. A client that gets it ignores option 3 (RFC 3442), so the default route through `router` is added
   * to the list whenever it is not empty.
   */
  readonly routes?: readonly ClasslessRoute[];
  readonly domain?: string;
}

export interface DhcpReplyInput {
  readonly type: 'offer' | 'ack' | 'nak';
  readonly request: DhcpClientRequest;
  /** The server: its MAC and IPv4 (option 54; the subnet's gateway). */
  readonly serverMac: Uint8Array;
  readonly serverIp: number;
  /** Required for offer and ack. */
  readonly lease?: DhcpLease;
  /** Option 56 on a NAK: why. */
  readonly message?: string;
}

const ASCII = new TextEncoder();
const ALL_ONES_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const BROADCAST_IP = 0xffffffff;

function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** Option 121's encoding: prefix length, the significant octets of the destination, the router. */
export function encodeClasslessRoutes(routes: readonly ClasslessRoute[]): Uint8Array {
  const out: number[] = [];
  for (const r of routes) {
    if (!Number.isInteger(r.prefixLength) || r.prefixLength < 0 || r.prefixLength > 32) throw new RangeError(`prefix length ${r.prefixLength}`);
    out.push(r.prefixLength);
    const dest = (r.destination & maskOf(r.prefixLength)) >>> 0;
    for (let i = 0; i < Math.ceil(r.prefixLength / 8); i++) out.push((dest >>> (24 - 8 * i)) & 0xff);
    out.push((r.router >>> 24) & 0xff, (r.router >>> 16) & 0xff, (r.router >>> 8) & 0xff, r.router & 0xff);
  }
  return Uint8Array.from(out);
}

class OptionWriter {
  readonly bytes: number[] = [];
  raw(code: number, value: ArrayLike<number>): void {
    // RFC 3396: a value longer than 255 bytes is split into consecutive instances of the option.
    for (let i = 0; i === 0 || i < value.length; i += 255) {
      const n = Math.min(255, value.length - i);
      this.bytes.push(code, n);
      for (let j = 0; j < n; j++) this.bytes.push(value[i + j]!);
    }
  }
  u8(code: number, v: number): void {
    this.raw(code, [v & 0xff]);
  }
  u16(code: number, v: number): void {
    this.raw(code, [(v >>> 8) & 0xff, v & 0xff]);
  }
  ips(code: number, ips: readonly number[]): void {
    const b: number[] = [];
    for (const ip of ips) b.push((ip >>> 24) & 0xff, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff);
    this.raw(code, b);
  }
}

function checkLease(l: DhcpLease): void {
  if (!Number.isInteger(l.prefixLength) || l.prefixLength < 1 || l.prefixLength > 30) throw new RangeError(`prefix length ${l.prefixLength} (1..30)`);
  if (!Number.isInteger(l.leaseSeconds) || l.leaseSeconds < 60 || l.leaseSeconds > 0xfffffffe) throw new RangeError(`lease of ${l.leaseSeconds} s`);
  if (!Number.isInteger(l.mtu) || l.mtu < 576 || l.mtu > 0xffff) throw new RangeError(`MTU ${l.mtu} (576..65535)`);
  if (l.dns.length > 8) throw new RangeError(`${l.dns.length} DNS servers (at most 8)`);
  if (l.domain !== undefined && !/^[a-z0-9]([a-z0-9.-]{0,62})$/i.test(l.domain)) throw new RangeError(`domain '${l.domain}'`);
}

/**
 * The whole Ethernet frame of an OFFER, ACK or NAK to `request`, from `serverIp` / `serverMac`, addressed as RFC 2131
 * 4.1 says for a client on the server's own link: to ciaddr when the client has one (renewing), else broadcast when
 * the client set the broadcast bit (and always for a NAK), else to yiaddr at chaddr. T1 and T2 are sent explicitly
 * (half and 7/8 of the lease).
 */
export function buildDhcpReply(r: DhcpReplyInput): Uint8Array {
  const q = r.request;
  const lease = r.type === 'nak' ? undefined : r.lease;
  if (r.type !== 'nak' && !lease) throw new RangeError(`a DHCP ${r.type} needs a lease`);
  if (lease) checkLease(lease);
  const o = new OptionWriter();
  o.u8(DHCP_OPTION.MESSAGE_TYPE, r.type === 'offer' ? DHCP_MESSAGE.OFFER : r.type === 'ack' ? DHCP_MESSAGE.ACK : DHCP_MESSAGE.NAK);
  o.ips(DHCP_OPTION.SERVER_ID, [r.serverIp]);
  if (lease) {
    o.ips(DHCP_OPTION.LEASE_TIME, [lease.leaseSeconds]);
    o.ips(DHCP_OPTION.RENEWAL_T1, [Math.floor(lease.leaseSeconds / 2)]);
    o.ips(DHCP_OPTION.REBINDING_T2, [Math.floor((lease.leaseSeconds * 7) / 8)]);
    const mask = maskOf(lease.prefixLength);
    o.ips(DHCP_OPTION.SUBNET_MASK, [mask]);
    o.ips(DHCP_OPTION.BROADCAST_ADDRESS, [((lease.ip & mask) | ~mask) >>> 0]);
    o.ips(DHCP_OPTION.ROUTER, [lease.router]);
    if (lease.dns.length) o.ips(DHCP_OPTION.DNS, lease.dns);
    o.u16(DHCP_OPTION.INTERFACE_MTU, lease.mtu);
    if (lease.domain !== undefined) o.raw(DHCP_OPTION.DOMAIN_NAME, ASCII.encode(lease.domain));
    if (lease.routes?.length) {
      const withDefault = lease.routes.some((x) => x.prefixLength === 0) ? lease.routes : [...lease.routes, { destination: 0, prefixLength: 0, router: lease.router }];
      o.raw(DHCP_OPTION.CLASSLESS_ROUTES, encodeClasslessRoutes(withDefault));
    }
  } else if (r.message !== undefined) {
    o.raw(DHCP_OPTION.MESSAGE, ASCII.encode(r.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200)));
  }
  o.bytes.push(DHCP_OPTION.END);
  // BOOTP's minimum message is 300 bytes (RFC 1542 2.1: some clients drop shorter): pad the options.
  while (BOOTP_FIXED_LEN + 4 + o.bytes.length < 300) o.bytes.push(DHCP_OPTION.PAD);

  const bootpLen = BOOTP_FIXED_LEN + 4 + o.bytes.length;
  const udpLen = UDP_HEADER_LEN + bootpLen;
  const ipLen = 20 + udpLen;
  const frame = new Uint8Array(ETH_HEADER_LEN + ipLen);
  const v = new DataView(frame.buffer);

  const broadcast = r.type === 'nak' || (q.ciaddr === 0 && (q.flags & BROADCAST_FLAG) !== 0);
  const ipDst = broadcast ? BROADCAST_IP : q.ciaddr !== 0 ? q.ciaddr : lease!.ip;
  frame.set(broadcast ? ALL_ONES_MAC : q.chaddr, 0);
  frame.set(r.serverMac, 6);
  v.setUint16(12, ETH_TYPE_IPV4);

  const ip = ETH_HEADER_LEN;
  v.setUint8(ip, 0x45);
  v.setUint8(ip + 1, 0xc0);
  v.setUint16(ip + 2, ipLen);
  v.setUint16(ip + 6, 0x4000); // DF, as dnsmasq sends
  v.setUint8(ip + 8, 64);
  v.setUint8(ip + 9, IP_PROTO_UDP);
  v.setUint32(ip + 12, r.serverIp);
  v.setUint32(ip + 16, ipDst);
  v.setUint16(ip + 10, internetChecksum(frame, ip, ip + 20));

  const udp = ip + 20;
  v.setUint16(udp, DHCP_SERVER_PORT);
  v.setUint16(udp + 2, DHCP_CLIENT_PORT);
  v.setUint16(udp + 4, udpLen);

  const b = udp + UDP_HEADER_LEN;
  v.setUint8(b, BOOTREPLY);
  v.setUint8(b + 1, HTYPE_ETHERNET);
  v.setUint8(b + 2, 6);
  v.setUint32(b + 4, q.xid);
  v.setUint16(b + 10, q.flags & BROADCAST_FLAG);
  if (r.type !== 'nak') v.setUint32(b + 12, q.ciaddr);
  if (lease) v.setUint32(b + 16, lease.ip);
  v.setUint32(b + 24, q.giaddr);
  frame.set(q.chaddr, b + 28);
  v.setUint32(b + BOOTP_FIXED_LEN, MAGIC_COOKIE);
  frame.set(o.bytes, b + BOOTP_FIXED_LEN + 4);

  // UDP checksum over the pseudo-header (src, dst, zero, protocol, UDP length) and the datagram (RFC 768).
  const pseudo = new Uint8Array(12 + udpLen);
  pseudo.set(frame.subarray(ip + 12, ip + 20), 0);
  pseudo[9] = IP_PROTO_UDP;
  pseudo[10] = udpLen >>> 8;
  pseudo[11] = udpLen & 0xff;
  pseudo.set(frame.subarray(udp, udp + udpLen), 12);
  v.setUint16(udp + 6, internetChecksum(pseudo) || 0xffff);
  return frame;
}
