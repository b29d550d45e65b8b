// Address management as pure functions over what is already taken. The store calls them inside one transaction
// with the taken sets read in that same transaction, which is what makes allocation race-free.
import { cidrContains, numberToIpv4, type Cidr } from './model.js';

export const DEFAULT_OVERLAY = '192.168.20.0/22';
export const DEFAULT_PREFIX = 27;
/** The longest prefix we carve: a /30 still holds the gateway and one VM. */
export const MAX_SUBNET_PREFIX = 30;
export const MAX_VNI = 0xffffff;

export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

export function cidrText(c: Cidr): string {
  return `${numberToIpv4(c.network)}/${c.prefix}`;
}

/** Last address of the block (its broadcast address). */
export function lastAddress(c: Cidr): number {
  return c.network + blockSize(c.prefix) - 1;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

/** a lies wholly inside b. */
export function within(a: Cidr, b: Cidr): boolean {
  return a.prefix >= b.prefix && cidrContains(b, a.network);
}

/** The subnet's gateway: its first usable address (seed: x.x.x.1 of each /27). */
export function gatewayOf(c: Cidr): number {
  return c.network + 1;
}

/** The lowest aligned block of `prefix` inside `range` that overlaps none of `used`. */
export function nextFreeBlock(range: Cidr, prefix: number, used: readonly Cidr[]): Cidr | undefined {
  if (prefix < range.prefix || prefix > 32) return undefined;
  const size = blockSize(prefix);
  const end = lastAddress(range);
  const taken = [...used].sort((a, b) => a.network - b.network);
  let first = 0; // taken[..first) end before `start`, and start only grows
  let start = range.network;
  while (start + size - 1 <= end) {
    while (first < taken.length && lastAddress(taken[first]!) < start) first++;
    let clashEnd = -1;
    for (let j = first; j < taken.length && taken[j]!.network <= start + size - 1; j++) {
      if (lastAddress(taken[j]!) >= start) clashEnd = Math.max(clashEnd, lastAddress(taken[j]!));
    }
    if (clashEnd < 0) return { network: start, prefix };
    start = Math.ceil((clashEnd + 1) / size) * size; // the next aligned block after everything that clashed
  }
  return undefined;
}

/** Addresses a VM may get: all but the network, gateway and broadcast addresses. */
export function usableHosts(c: Cidr): number {
  return Math.max(0, blockSize(c.prefix) - 3);
}

/** The lowest address of `subnet` that a VM may have and nobody holds. */
export function nextFreeIp(subnet: Cidr, taken: ReadonlySet<string>): string | undefined {
  const first = gatewayOf(subnet) + 1;
  const last = lastAddress(subnet) - 1;
  for (let n = first; n <= last; n++) {
    const ip = numberToIpv4(n);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/**
 * A locally administered unicast MAC (first octet 0x02) that nobody holds. The first choice embeds the IP
 * (02:00:c0:a8:14:05 for 192.168.20.5), so it is unique whenever IPs are and is easy to recognise in a trace;
 * if it is somehow taken, the next free one of 02:01:00:00:00:00 upwards.
 */
export function nextFreeMac(ip: number, taken: ReadonlySet<string>): string {
  const preferred = macOf(0x0200, ip);
  if (!taken.has(preferred)) return preferred;
  for (let n = 0; n <= 0xffffffff; n++) {
    const mac = macOf(0x0201, n);
    if (!taken.has(mac)) return mac;
  }
  throw new Error('no free MAC address');
}

function macOf(high16: number, low32: number): string {
  return [high16 >>> 8, high16 & 0xff, low32 >>> 24, (low32 >>> 16) & 0xff, (low32 >>> 8) & 0xff, low32 & 0xff].map(hex2).join(':');
}

export function isLocalUnicastMac(mac: string): boolean {
  const first = parseInt(mac.slice(0, 2), 16);
  return (first & 0x02) !== 0 && (first & 0x01) === 0;
}

/** The lowest VNI nobody holds (1..16777215). */
export function nextFreeVni(taken: ReadonlySet<number>): number | undefined {
  for (let vni = 1; vni <= MAX_VNI; vni++) if (!taken.has(vni)) return vni;
  return undefined;
}
