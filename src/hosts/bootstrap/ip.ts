// Addresses, links, routes and forwarding on the node (iproute2 JSON output, so nothing is scraped from text).
import type { Executor } from '../executor.js';
import { readNodeFile, removeNodeFiles, writeNodeFile } from '../files.js';
import type { RouteSpec } from './spec.js';

/** Our routes carry this protocol number, so we can find and remove exactly them (and never anyone else's). */
export const ROUTE_PROTO = '177';

interface IpAddrInfo {
  readonly family: string;
  readonly local: string;
  readonly prefixlen: number;
}

async function ipJson<T>(exec: Executor, args: readonly string[]): Promise<T> {
  const { stdout } = await exec.run(['ip', '-j', ...args]);
  return (stdout.trim() ? JSON.parse(stdout) : []) as T;
}

/** The link-layer address of `dev` (lower-case), e.g. the underlay NIC's, which br-phy takes as its own. */
export async function linkMac(exec: Executor, dev: string): Promise<string> {
  const [link] = await ipJson<{ address?: string }[]>(exec, ['link', 'show', 'dev', dev]);
  if (!link?.address) throw new Error(`[${exec.target}] no interface ${dev} (or it has no MAC address)`);
  return link.address.toLowerCase();
}

/**
 * Makes `dev` hold exactly these IPv4 addresses (it is a bridge we own) and brings it up when it has any, or always
 * with `up` (a gateway's br0 carries the overlay route even before it holds any subnet's address). One read of the
 * link's state serves both.
 */
export async function ensureAddresses(exec: Executor, dev: string, wanted: readonly string[], opts: { readonly up?: boolean } = {}): Promise<string[]> {
  const [link] = await ipJson<{ flags: string[]; addr_info: IpAddrInfo[] }[]>(exec, ['addr', 'show', 'dev', dev]);
  if (!link) throw new Error(`[${exec.target}] no interface ${dev}`);
  const current = link.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
  const changes: string[] = [];
  for (const addr of wanted) {
    if (current.includes(addr)) continue;
    await exec.run(['ip', 'addr', 'add', addr, 'dev', dev]);
    changes.push(`${dev}: address ${addr} added`);
  }
  for (const addr of current) {
    if (wanted.includes(addr)) continue;
    await exec.run(['ip', 'addr', 'del', addr, 'dev', dev]);
    changes.push(`${dev}: address ${addr} removed`);
  }
  if ((wanted.length > 0 || opts.up) && !link.flags.includes('UP')) {
    await exec.run(['ip', 'link', 'set', dev, 'up']);
    changes.push(`${dev}: up`);
  }
  return changes;
}

interface IpRoute {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
}

function routeKey(r: { dst?: string; to?: string; gateway?: string; via?: string; dev?: string | undefined }): string {
  return `${r.dst ?? r.to} via ${r.gateway ?? r.via ?? '-'} dev ${r.dev ?? '-'}`;
}

async function ourRoutes(exec: Executor): Promise<IpRoute[]> {
  return ipJson<IpRoute[]>(exec, ['-4', 'route', 'show', 'proto', ROUTE_PROTO]);
}

/** Exactly the wanted routes among ours (tagged ROUTE_PROTO). */
export async function ensureRoutes(exec: Executor, wanted: readonly RouteSpec[]): Promise<string[]> {
  const current = await ourRoutes(exec);
  // `ip route show` omits `dev` when only `via` was given; compare on what the spec states.
  const matches = (r: IpRoute, w: RouteSpec): boolean =>
    r.dst === w.to && (w.via === undefined || r.gateway === w.via) && (w.dev === undefined || r.dev === w.dev);
  const changes: string[] = [];
  for (const w of wanted) {
    if (current.some((r) => matches(r, w))) continue;
    await exec.run(['ip', 'route', 'replace', w.to, ...(w.via ? ['via', w.via] : []), ...(w.dev ? ['dev', w.dev] : []), 'proto', ROUTE_PROTO]);
    changes.push(`route ${routeKey(w)} set`);
  }
  for (const r of current) {
    if (wanted.some((w) => matches(r, w))) continue;
    await exec.run(['ip', 'route', 'del', r.dst, 'proto', ROUTE_PROTO], { okCodes: [0, 2] });
    changes.push(`route ${routeKey(r)} removed`);
  }
  return changes;
}

export async function removeRoutes(exec: Executor): Promise<string[]> {
  return ensureRoutes(exec, []);
}

const FORWARD_SYSCTL = '/proc/sys/net/ipv4/ip_forward';

/** Turns IPv4 forwarding on, remembering (in stateDir) that it was off so removal can turn it off again. */
export async function ensureForwarding(exec: Executor, stateDir: string): Promise<string[]> {
  const current = (await exec.run(['cat', FORWARD_SYSCTL])).stdout.trim();
  if (current === '1') return [];
  await writeNodeFile(exec, `${stateDir}/ip_forward.orig`, `${current}\n`);
  await exec.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  return ['ip_forward: on'];
}

export async function restoreForwarding(exec: Executor, stateDir: string): Promise<string[]> {
  const orig = (await readNodeFile(exec, `${stateDir}/ip_forward.orig`))?.trim();
  if (orig === undefined) return [];
  if (orig === '0') await exec.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
  await removeNodeFiles(exec, `${stateDir}/ip_forward.orig`);
  return [`ip_forward: restored to ${orig}`];
}

const REDIRECTS_ALL = 'net.ipv4.conf.all.send_redirects';

/**
 * No ICMP redirects from a gateway. Its kernel routes a packet back into br0 when a floating IP hairpins, or a VM
 * sends it an address of br0's networks: a redirect would teach the VM a shortcut that is no path (the floating IP
 * through the target's private or transit address). Linux sends none for DNATed packets today, but does for plain
 * ones; the pipeline routes between VMs, so nothing is lost. The kernel sends one when `all` or the interface allows
 * it, so both go off; `all`'s value before is kept in stateDir for removal (br0 goes with OVS).
 */
export async function ensureNoRedirects(exec: Executor, stateDir: string, bridge: string): Promise<string[]> {
  const changes: string[] = [];
  const all = (await exec.run(['sysctl', '-n', REDIRECTS_ALL])).stdout.trim();
  if (all !== '0') {
    await writeNodeFile(exec, `${stateDir}/send_redirects.orig`, `${all}\n`);
    await exec.run(['sysctl', '-q', '-w', `${REDIRECTS_ALL}=0`]);
    changes.push('send_redirects (all): off');
  }
  const dev = `net.ipv4.conf.${bridge}.send_redirects`;
  if ((await exec.run(['sysctl', '-n', dev])).stdout.trim() !== '0') {
    await exec.run(['sysctl', '-q', '-w', `${dev}=0`]);
    changes.push(`send_redirects (${bridge}): off`);
  }
  return changes;
}

export async function restoreRedirects(exec: Executor, stateDir: string): Promise<string[]> {
  const orig = (await readNodeFile(exec, `${stateDir}/send_redirects.orig`))?.trim();
  if (orig === undefined) return [];
  if (/^[01]$/.test(orig)) await exec.run(['sysctl', '-q', '-w', `${REDIRECTS_ALL}=${orig}`]);
  await removeNodeFiles(exec, `${stateDir}/send_redirects.orig`);
  return [`send_redirects (all): restored to ${orig}`];
}
