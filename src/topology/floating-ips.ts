// Floating IPs: outside addresses of a gateway, allocated to a project and attached to one of its VMs. Inbound
// traffic to the address reaches the VM, and the VM's egress leaves with it (docs/architecture.md, "Floating IPs").
// Plain data and pure checks: the pools come from the configuration, the records live in the store.
import { cidrContains, ipv4ToNumber, numberToIpv4, parseCidr, type Cidr } from './model.js';

export interface FloatingIpRecord {
  /** The outside address, e.g. '203.0.113.10': the record's key. */
  readonly address: string;
  /** The gateway node whose outside link holds it (its pool's). */
  readonly gateway: string;
  /** Its project (the store always fills this in). */
  readonly project?: string;
  /** The VM it is attached to (one of its project's); absent = allocated, not attached. */
  readonly vm?: string;
  readonly createdAt: string;
}

/** Address order (numeric): how both stores list them. */
export function byAddress(a: { readonly address: string }, b: { readonly address: string }): number {
  return ipv4ToNumber(a.address) - ipv4ToNumber(b.address);
}

/** One gateway's pool, as configured (`floatingIps.pools[]`, docs/configuration.md). */
export interface FloatingIpPool {
  readonly gateway: string;
  /** The gateway's own address on its outside link with the link's prefix, e.g. '203.0.113.1/24'. */
  readonly outside: string;
  /** The outside interface that holds the floating IPs; default `provisioning.egressInterface`. */
  readonly interface?: string;
  /** Single addresses, ranges ('203.0.113.10-203.0.113.20') and CIDRs, all inside the outside network. */
  readonly addresses: readonly string[];
}

/** A bound on input: at most this many addresses in one gateway's pool. */
export const MAX_POOL_ADDRESSES = 65_536;
/** At most this many pool entries per gateway, and pools per cloud. */
export const MAX_POOL_ENTRIES = 256;

/** An inclusive range of addresses as numbers. */
export interface AddressRange {
  readonly first: number;
  readonly last: number;
}

/** '203.0.113.10', '203.0.113.10-203.0.113.20' or '203.0.113.16/28' as a range; throws with the reason. */
export function parsePoolEntry(entry: string): AddressRange {
  if (entry.includes('/')) {
    const c = parseCidr(entry);
    const size = 2 ** (32 - c.prefix);
    return { first: c.network, last: c.network + size - 1 };
  }
  const [a, b, ...rest] = entry.split('-');
  if (rest.length > 0 || a === undefined) throw new Error(`'${entry}' is not an address, a range a-b or a CIDR`);
  const first = ipv4ToNumber(a.trim());
  const last = b === undefined ? first : ipv4ToNumber(b.trim());
  if (last < first) throw new Error(`range '${entry}' ends before it starts`);
  return { first, last };
}

/** The outside link: the gateway's own address and its network. */
export function outsideOf(pool: Pick<FloatingIpPool, 'outside'>): { readonly own: number; readonly network: Cidr } {
  const [ip, len, ...rest] = pool.outside.split('/');
  const prefix = Number(len);
  if (ip === undefined || rest.length > 0 || len === undefined || !/^\d{1,2}$/.test(len) || prefix < 1 || prefix > 30) throw new Error(`'${pool.outside}' is not ADDRESS/PREFIX (prefix 1 to 30)`);
  const own = ipv4ToNumber(ip);
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return { own, network: { network: (own & mask) >>> 0, prefix } };
}

/**
 * Everything wrong with the pools (empty when sound): each entry parses and lies inside its gateway's outside
 * network, never its network or broadcast address nor the gateway's own address, nor in the overlay or the transit
 * range (`network.transitRange`: other projects' VMs meet the gateway's kernel by those addresses, so a floating IP
 * there would be one of theirs to it); a gateway's own outside address is in neither either; a gateway has one pool
 * of at most MAX_POOL_ADDRESSES; no address is in two entries or two gateways' pools.
 */
export function poolProblems(pools: readonly FloatingIpPool[], overlay?: string, transitRange?: string): string[] {
  const problems: string[] = [];
  if (pools.length > MAX_POOL_ENTRIES) problems.push(`at most ${MAX_POOL_ENTRIES} pools`);
  const kept: { range: AddressRange; what: string }[] = [];
  for (const [cidr, what] of [[overlay, 'the overlay'], [transitRange, 'network.transitRange']] as const) {
    if (cidr === undefined) continue;
    const c = parseCidr(cidr);
    kept.push({ range: { first: c.network, last: c.network + 2 ** (32 - c.prefix) - 1 }, what: `${what} ${cidr}` });
  }
  const seen: { range: AddressRange; where: string }[] = [];
  const gateways = new Set<string>();
  pools.forEach((p, i) => {
    const at = `pools[${i}]`;
    if (gateways.has(p.gateway)) problems.push(`${at}.gateway: '${p.gateway}' has a pool already (one per gateway)`);
    gateways.add(p.gateway);
    let outside: ReturnType<typeof outsideOf>;
    try {
      outside = outsideOf(p);
    } catch (e) {
      problems.push(`${at}.outside: ${(e as Error).message}`);
      return;
    }
    for (const k of kept) if (outside.own >= k.range.first && outside.own <= k.range.last) problems.push(`${at}.outside: the gateway's address ${numberToIpv4(outside.own)} is inside ${k.what}`);
    if (p.addresses.length === 0) problems.push(`${at}.addresses: give at least one address, range or CIDR`);
    if (p.addresses.length > MAX_POOL_ENTRIES) problems.push(`${at}.addresses: at most ${MAX_POOL_ENTRIES} entries`);
    const net = outside.network;
    const broadcast = net.network + 2 ** (32 - net.prefix) - 1;
    let total = 0;
    p.addresses.slice(0, MAX_POOL_ENTRIES).forEach((entry, j) => {
      const where = `${at}.addresses[${j}]`;
      let r: AddressRange;
      try {
        r = parsePoolEntry(entry);
      } catch (e) {
        problems.push(`${where}: ${(e as Error).message}`);
        return;
      }
      const shown = `'${entry}'`;
      if (!cidrContains(net, r.first) || !cidrContains(net, r.last)) problems.push(`${where}: ${shown} is not inside the gateway's outside network ${numberToIpv4(net.network)}/${net.prefix}`);
      else if (r.first <= net.network || r.last >= broadcast) problems.push(`${where}: ${shown} holds the outside network's network or broadcast address`);
      if (outside.own >= r.first && outside.own <= r.last) problems.push(`${where}: ${shown} holds the gateway's own address ${numberToIpv4(outside.own)}`);
      for (const k of kept) if (rangesOverlap(r, k.range)) problems.push(`${where}: ${shown} overlaps ${k.what}`);
      const clash = seen.find((s) => rangesOverlap(s.range, r));
      if (clash) problems.push(`${where}: ${shown} overlaps ${clash.where}`);
      seen.push({ range: r, where: `${where} (${p.gateway})` });
      total += r.last - r.first + 1;
    });
    if (total > MAX_POOL_ADDRESSES) problems.push(`${at}.addresses: ${total} addresses, more than the ${MAX_POOL_ADDRESSES} a pool may have`);
  });
  return problems;
}

function rangesOverlap(a: AddressRange, b: AddressRange): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** The pool's ranges, sorted (the pool must be sound: `poolProblems` empty). */
export function poolRanges(pool: FloatingIpPool): AddressRange[] {
  return pool.addresses.map(parsePoolEntry).sort((a, b) => a.first - b.first);
}

/** How many addresses the pool has. */
export function poolSize(pool: FloatingIpPool): number {
  return poolRanges(pool).reduce((n, r) => n + r.last - r.first + 1, 0);
}

/** How many of the pool's addresses are not in `taken` (the pool parsed once). */
export function freeInPool(pool: FloatingIpPool, taken: Iterable<string>): number {
  const ranges = poolRanges(pool);
  let used = 0;
  for (const a of taken) {
    const n = ipv4ToNumber(a);
    if (ranges.some((r) => n >= r.first && n <= r.last)) used++;
  }
  return ranges.reduce((s, r) => s + r.last - r.first + 1, 0) - used;
}

/** Whether the address is one of the pool's. */
export function inPool(pool: FloatingIpPool, address: string): boolean {
  const n = ipv4ToNumber(address);
  return poolRanges(pool).some((r) => n >= r.first && n <= r.last);
}

/** The lowest address of the pool not in `taken`, or undefined when every one is. */
export function firstFreeAddress(pool: FloatingIpPool, taken: ReadonlySet<string>): string | undefined {
  for (const r of poolRanges(pool)) {
    for (let n = r.first; n <= r.last; n++) {
      const ip = numberToIpv4(n);
      if (!taken.has(ip)) return ip;
    }
  }
  return undefined;
}
