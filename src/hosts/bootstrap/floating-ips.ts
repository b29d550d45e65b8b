// Floating IPs on a gateway (docs/architecture.md, "Floating IPs"): each attached address as a /32 on the outside
// link (the kernel answers ARP for it there), a DNAT of what arrives for it to the VM, and a SNAT of what the VM sends
// out that link to it, ahead of the overlay's shared SNAT. Two chains of our own, each replaced whole in one
// `iptables-restore --noflush` (atomic: no moment where a floating IP is half there) and only when it differs:
//   MINICLOUD-FIP-DNAT  jumped to from PREROUTING (and OUTPUT: the gateway itself reaches a floating IP too)
//   MINICLOUD-FIP-SNAT  jumped to from POSTROUTING before MINICLOUD-SNAT (nat.ts)
// Hairpin: a VM reaching a floating IP of this gateway from inside the cloud arrives from br0 and is DNATed back into
// br0; it is also SNATed (to its own floating IP, else to the gateway's outside address), so the target answers
// through this gateway and both ends see the addresses an outside client would (the target: the client's public
// address; the client: the floating IP). Only connections DNATed here, from the overlay or the transit range, out of
// br0: what comes in from the outside keeps its source (security groups see it).
// Addresses: the /32s of the pool on the link are ours; those not attached any more are removed. Each one added gets
// a gratuitous ARP on the link, so neighbours that cached the address on another MAC (another gateway before, a NIC
// replaced) update at once rather than when their entry ages out.
import { ipv4ToNumber } from '../../topology/model.js';
import type { Executor } from '../executor.js';
import { NAT_CHAIN } from './nat.js';
import { DEFAULT_BRIDGE, type FloatingIpsSpec, type GatewaySpec } from './spec.js';

export const FIP_DNAT_CHAIN = 'MINICLOUD-FIP-DNAT';
export const FIP_SNAT_CHAIN = 'MINICLOUD-FIP-SNAT';
const COMMENT = ['-m', 'comment', '--comment', 'minicloud-fip'];
const HOOKS = [
  ['PREROUTING', FIP_DNAT_CHAIN],
  ['OUTPUT', FIP_DNAT_CHAIN],
  ['POSTROUTING', FIP_SNAT_CHAIN],
] as const;

function ipt(exec: Executor, args: readonly string[], okCodes: readonly number[] = [0]): Promise<{ code: number; stdout: string }> {
  return exec.run(['iptables', '-w', '5', '-t', 'nat', ...args], { okCodes });
}

/** Where the kernel of a gateway meets the overlay: its bridge, and the ranges VMs reach it from. */
export interface OverlaySide {
  readonly overlayCidr: string;
  readonly transitCidr?: string;
  /** Default 'br0'. */
  readonly bridge?: string;
}

/** The rules of both chains as `iptables -S` prints them (so what is there compares as text). */
export function floatingIpRules(f: FloatingIpsSpec, side: OverlaySide): { dnat: string[]; snat: string[] } {
  const sorted = [...f.attached].sort((a, b) => ipv4ToNumber(a.address) - ipv4ToNumber(b.address));
  const bridge = side.bridge ?? DEFAULT_BRIDGE;
  const hairpin = (source: string, to: string): string =>
    ['-A', FIP_SNAT_CHAIN, '-s', source, '-o', bridge, '-m', 'conntrack', '--ctstate', 'DNAT', ...COMMENT, '-j', 'SNAT', '--to-source', to].join(' ');
  // Hairpinned connections of VMs without a floating IP: from the gateway's outside address (none attached: nothing to hairpin).
  const shared = f.hairpinSource === undefined || sorted.length === 0 ? [] : [side.overlayCidr, ...(side.transitCidr !== undefined ? [side.transitCidr] : [])];
  return {
    dnat: sorted.map((a) => ['-A', FIP_DNAT_CHAIN, '-d', `${a.address}/32`, ...COMMENT, '-j', 'DNAT', '--to-destination', a.target].join(' ')),
    snat: [
      ...sorted.map((a) => ['-A', FIP_SNAT_CHAIN, '-s', `${a.target}/32`, '!', '-d', side.overlayCidr, '-o', f.interface, ...COMMENT, '-j', 'SNAT', '--to-source', a.address].join(' ')),
      ...sorted.map((a) => hairpin(`${a.target}/32`, a.address)),
      ...shared.map((range) => hairpin(range, f.hairpinSource!)),
    ],
  };
}

/** 'a-b' ranges of the spec's pool as numbers. */
function poolRanges(f: FloatingIpsSpec): { first: number; last: number }[] {
  return f.pool.map((r) => {
    const [a, b] = r.split('-');
    return { first: ipv4ToNumber(a!), last: ipv4ToNumber(b ?? a!) };
  });
}

async function chainRules(exec: Executor, chain: string): Promise<string[] | undefined> {
  const res = await ipt(exec, ['-S', chain], [0, 1]);
  if (res.code !== 0) return undefined;
  return res.stdout.split('\n').filter((l) => l.startsWith('-A '));
}

async function hookLines(exec: Executor, builtin: string): Promise<string[]> {
  return (await ipt(exec, ['-S', builtin])).stdout.split('\n').filter((l) => l.startsWith(`-A ${builtin} `));
}

/** Our jumps: there, once, and (POSTROUTING) before the shared SNAT's. */
async function ensureHooks(exec: Executor): Promise<string[]> {
  const changes: string[] = [];
  for (const [builtin, chain] of HOOKS) {
    const lines = await hookLines(exec, builtin);
    const ours = lines.map((l, i) => (l === `-A ${builtin} -j ${chain}` ? i : -1)).filter((i) => i >= 0);
    const shared = lines.indexOf(`-A ${builtin} -j ${NAT_CHAIN}`);
    if (ours.length === 1 && (shared < 0 || ours[0]! < shared)) continue;
    for (let i = 0; i < ours.length; i++) await ipt(exec, ['-D', builtin, '-j', chain]);
    await ipt(exec, ['-I', builtin, '1', '-j', chain]);
    changes.push(`iptables nat: ${builtin} jumps to ${chain} first`);
  }
  return changes;
}

async function ensureAddresses(exec: Executor, f: FloatingIpsSpec): Promise<string[]> {
  const { stdout } = await exec.run(['ip', '-j', 'addr', 'show', 'dev', f.interface]);
  const [link] = (stdout.trim() ? JSON.parse(stdout) : []) as { addr_info: { family: string; local: string; prefixlen: number }[] }[];
  if (!link) throw new Error(`[${exec.target}] no interface ${f.interface} (the floating IPs' outside link)`);
  const ranges = poolRanges(f);
  const wanted = new Set(f.attached.map((a) => a.address));
  const ours = (ip: string): boolean => wanted.has(ip) || ranges.some((r) => ipv4ToNumber(ip) >= r.first && ipv4ToNumber(ip) <= r.last);
  const present = link.addr_info.filter((a) => a.family === 'inet' && a.prefixlen === 32).map((a) => a.local);
  const changes: string[] = [];
  const added: string[] = [];
  for (const ip of [...wanted].sort((a, b) => ipv4ToNumber(a) - ipv4ToNumber(b))) {
    if (present.includes(ip)) continue;
    await exec.run(['ip', 'addr', 'add', `${ip}/32`, 'dev', f.interface]);
    changes.push(`${f.interface}: floating IP ${ip} added`);
    added.push(ip);
  }
  if (added.length > 0) changes.push(...(await gratuitousArp(exec, f.interface, added)));
  for (const ip of present) {
    if (wanted.has(ip) || !ours(ip)) continue;
    await exec.run(['ip', 'addr', 'del', `${ip}/32`, 'dev', f.interface], { okCodes: [0, 2] });
    changes.push(`${f.interface}: floating IP ${ip} removed`);
  }
  return changes;
}

/** At most this many addresses get a gratuitous ARP in one run (a gateway coming back with thousands): the rest age. */
export const MAX_GRATUITOUS_ARPS = 256;

// busybox's arping or iputils' (same flags; another `arping`, Habets', reads -s as a MAC: not used). -U: an
// unsolicited ARP request for the address from itself, which updates an existing neighbour entry. Prints the
// addresses it could not announce; exit 3 when there is no arping to use.
const GARP_SCRIPT = [
  'iface=$1; shift',
  "if command -v busybox >/dev/null 2>&1 && busybox --list 2>/dev/null | grep -qx arping; then tool='busybox arping'",
  'elif command -v arping >/dev/null 2>&1 && arping -V 2>&1 | grep -q iputils; then tool=arping',
  'else exit 3; fi',
  'for ip in "$@"; do $tool -U -c 1 -w 1 -I "$iface" -s "$ip" "$ip" >/dev/null 2>&1 || echo "$ip"; done',
].join('\n');

/** Addresses for a change line: the first 16, then how many more. */
function listed(addresses: readonly string[]): string {
  return addresses.length <= 16 ? addresses.join(', ') : `${addresses.slice(0, 16).join(', ')} and ${addresses.length - 16} more`;
}

/** One gratuitous ARP per address (bounded), best effort: a node without arping still gets its addresses. */
async function gratuitousArp(exec: Executor, iface: string, addresses: readonly string[]): Promise<string[]> {
  const sent = addresses.slice(0, MAX_GRATUITOUS_ARPS);
  const res = await exec
    .run(['sh', '-c', GARP_SCRIPT, 'sh', iface, ...sent], { okCodes: [0, 3], timeoutMs: 10_000 + sent.length * 1500 })
    .catch((e: Error) => ({ code: -1, stdout: '', error: e.message }));
  const rest = addresses.length > sent.length ? ` (${addresses.length - sent.length} more not announced: neighbours learn them as their entries age)` : '';
  if (res.code === 3) return [`${iface}: no gratuitous ARP for ${listed(addresses)}: neither busybox nor iputils arping on the node`];
  if (res.code !== 0) return [`${iface}: gratuitous ARP failed: ${'error' in res ? res.error : res.code}`];
  const failed = res.stdout.split('\n').filter((l) => l.trim() !== '');
  const ok = sent.filter((ip) => !failed.includes(ip));
  return [
    ...(ok.length > 0 ? [`${iface}: gratuitous ARP for ${listed(ok)}${rest}`] : []),
    ...(failed.length > 0 ? [`${iface}: gratuitous ARP not sent for ${listed(failed)}`] : []),
  ];
}

/** Brings the gateway's floating IPs to the spec: chains, hooks and addresses (none attached: empty chains). */
export async function ensureFloatingIps(exec: Executor, g: GatewaySpec, bridge: string = DEFAULT_BRIDGE): Promise<string[]> {
  const f = g.floatingIps;
  if (f === undefined) return removeFloatingIps(exec);
  const changes: string[] = [];
  const want = floatingIpRules(f, { overlayCidr: g.overlayCidr, ...(g.transitCidr !== undefined && { transitCidr: g.transitCidr }), bridge });
  const [dnat, snat] = [await chainRules(exec, FIP_DNAT_CHAIN), await chainRules(exec, FIP_SNAT_CHAIN)];
  const same = (a: readonly string[] | undefined, b: readonly string[]): boolean => a !== undefined && a.length === b.length && a.every((l, i) => l === b[i]);
  if (!same(dnat, want.dnat) || !same(snat, want.snat)) {
    // Declared chains are created if missing and flushed if not; the whole table commits at once.
    const input = ['*nat', `:${FIP_DNAT_CHAIN} - [0:0]`, `:${FIP_SNAT_CHAIN} - [0:0]`, ...want.dnat, ...want.snat, 'COMMIT', ''].join('\n');
    await exec.run(['iptables-restore', '-w', '5', '--noflush'], { input });
    changes.push(`iptables nat: floating IPs ${f.attached.map((a) => `${a.address}->${a.target}`).join(', ') || '(none attached)'}`);
  }
  changes.push(...(await ensureHooks(exec)));
  changes.push(...(await ensureAddresses(exec, f)));
  return changes;
}

/** Removes our chains and jumps, and (given the spec) the pool's addresses on the link. */
export async function removeFloatingIps(exec: Executor, f?: FloatingIpsSpec): Promise<string[]> {
  const changes: string[] = [];
  for (const [builtin, chain] of HOOKS) {
    for (let i = 0; i < 8 && (await ipt(exec, ['-C', builtin, '-j', chain], [0, 1, 2])).code === 0; i++) {
      await ipt(exec, ['-D', builtin, '-j', chain]);
      changes.push(`iptables nat: ${builtin} jump to ${chain} removed`);
    }
  }
  for (const chain of [FIP_DNAT_CHAIN, FIP_SNAT_CHAIN]) {
    if ((await chainRules(exec, chain)) === undefined) continue;
    await ipt(exec, ['-F', chain]);
    await ipt(exec, ['-X', chain]);
    changes.push(`iptables nat: chain ${chain} deleted`);
  }
  if (f !== undefined) changes.push(...(await ensureAddresses(exec, { ...f, attached: [] }).catch(() => [])));
  return changes;
}
