// Floating IPs on real packets (issue #22; docs/architecture.md, "Floating IPs"), prefix `mcfip`: a gateway with a
// pool on its outside link, a compute node with two VMs behind it, and "the internet" (198.51.100.1) in the outside
// namespace. Every connection is a real TCP one with a bounded timeout; each side reports the peer address it saw:
// - the outside reaches v1's port 8080 by its floating IP, and v1 sees the outside address (no SNAT inbound);
// - v1's own connections leave with the floating IP as source, v2's with the gateway's shared SNAT address;
// - v1's security group without the port's ingress rule blocks it (the rule back: reachable again);
// - attaching announces the address: the outside router's stale neighbour entry for it moves to the gateway's MAC;
// - hairpin: v2 (same subnet, no floating IP), v1 itself and b1 (project `blue`, the same subnet CIDR, reaching the
//   gateway by its transit address) reach v1 by its floating IP, seen from the gateway's address or their own floating
//   IP, as from outside; no ICMP redirect reaches them; b1 pings its own gateway IP (answered in OVS), nothing leaks;
// - detached: not reachable any more, and v1's egress is back on the shared address; the gateway holds nothing of it.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmView } from '../../src/cloud/index.js';
import { LabCloud } from '../../src/lab/cloud.js';
import { run } from '../../src/lab/exec.js';
import { INTERNET_HOST, namespacesWith, type LabNodeDef } from '../../src/lab/lab.js';
import { parsePing, pingArgv } from '../helpers/ping.js';
import { waitFor } from '../helpers/wait.js';
import { capture } from './traffic.js';

const P = 'mcfip';
const GW = `${P}-gw1`;
const C1 = `${P}-c1`;
const NODES: LabNodeDef[] = [
  { name: GW, roles: ['gateway'], underlayIp: '10.99.0.1', az: 'AZ-1', outsideIp: '203.0.113.1' },
  { name: C1, roles: ['compute'], underlayIp: '10.99.0.11', az: 'AZ-1' },
];
const POOL = ['203.0.113.10-203.0.113.20'];
const SHARED_SNAT = '203.0.113.1';
const VM_PORT = 8080;
const OUTSIDE_PORT = 9090;
/** The MAC the outside router once had for the floating IP (another gateway's, say). */
const STALE_MAC = '02:00:5e:00:00:99';

let cloud: LabCloud;
const servers: ChildProcess[] = [];
let fip = '';

/** A TCP server in a namespace answering each connection with the address it came from, then closing. */
async function peerServer(netns: string, host: string, port: number): Promise<void> {
  const code = `require('net').createServer((s) => s.end('peer=' + s.remoteAddress + '\\n')).listen(${port}, '${host}', () => console.log('listening'))`;
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server in ${netns} did not start`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`server in ${netns} exited ${c}`));
    });
  });
}

/**
 * One TCP connection from a namespace (from `local` when given), bounded to 3 s: what the server said it saw
 * ('peer=ADDRESS'), or 'timeout' / 'refused' / the error's code.
 */
async function connect(netns: string, host: string, port: number, local?: string): Promise<string> {
  const code =
    `const s = require('net').connect({ host: '${host}', port: ${port}${local ? `, localAddress: '${local}'` : ''} }); let d = '';` +
    `s.setTimeout(3000, () => { console.log('timeout'); process.exit(0); });` +
    `s.on('data', (x) => (d += x)); s.on('end', () => { console.log(d.trim()); process.exit(0); });` +
    `s.on('error', (e) => { console.log(e.code === 'ECONNREFUSED' ? 'refused' : e.code); process.exit(0); });`;
  const out = await run('ip', ['netns', 'exec', netns, process.execPath, '-e', code], { timeoutMs: 15_000 }).catch((e: Error) => `failed: ${e.message}`);
  return out.trim();
}

/** A VM's namespace: the netns backend's prefix and its instance name (`blue--b1` for blue's b1). */
const instances = new Map<string, string>();
const vmNs = (vm: string): string => `${P}v-${instances.get(vm) ?? vm}`;
/** The outside (from "the internet") connecting to the floating IP's port. */
const inbound = (): Promise<string> => connect(cloud.lab.outsideNs, fip, VM_PORT, INTERNET_HOST);
/** A VM connecting to the internet host: the source address the outside saw. */
const egress = (vm: string): Promise<string> => connect(vmNs(vm), INTERNET_HOST, OUTSIDE_PORT);
/** A VM connecting to v1's port by its floating IP, from inside the cloud (hairpin). */
const hairpin = (vm: string): Promise<string> => connect(vmNs(vm), fip, VM_PORT);
/** The outside router's neighbour entry for an address on its link ('out', the outside namespace's bridge). */
const outsideNeighbour = async (ip: string): Promise<string> => (await cloud.lab.outside('ip', ['neigh', 'show', ip, 'dev', 'out'])).trim();

async function gatewayNat(): Promise<string> {
  return run('iptables', ['-t', 'nat', '-S'], { netns: GW });
}

beforeAll(async () => {
  const t0 = Date.now();
  cloud = await LabCloud.start({ prefix: P, nodes: NODES, floatingIpPools: [{ gateway: GW, outside: '203.0.113.1/24', addresses: POOL }] });
  expect((await cloud.api('POST', '/api/v1/subnets', { name: 'front' })).status).toBe(201);
  // v1's group admits tcp/8080 from anywhere (and, as every new group, all egress); v2 stays in default.
  expect((await cloud.api('POST', '/api/v1/security-groups', { name: 'web' })).status).toBe(201);
  expect((await cloud.api('POST', '/api/v1/security-groups/web/rules', { direction: 'ingress', protocol: 'tcp', portMin: VM_PORT, portMax: VM_PORT, remoteCidr: '0.0.0.0/0' })).status).toBe(201);
  for (const [name, groups] of [['v1', ['web']], ['v2', []]] as const) {
    const res = await cloud.api<{ vm: VmView }>('POST', '/api/v1/vms', { name, subnet: 'front', node: C1, gateway: GW, flavor: 'tiny', image: 'busybox', ...(groups.length && { securityGroups: groups }) });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  }
  // Project blue: front's CIDR again, and b1 with v1's very address (its gateway's kernel knows it by a transit one).
  const front = (await cloud.api<{ subnet: { cidr: string } }>('GET', '/api/v1/subnets/front')).json.subnet;
  const inBlue = { 'x-project': 'blue' };
  expect((await cloud.api('POST', '/api/v1/projects', { name: 'blue' })).status).toBe(201);
  expect((await cloud.api('POST', '/api/v1/subnets', { name: 'b-front', cidr: front.cidr }, inBlue)).status).toBe(201);
  const b1 = await cloud.api<{ vm: VmView }>('POST', '/api/v1/vms', { name: 'b1', subnet: 'b-front', node: C1, gateway: GW, flavor: 'tiny', image: 'busybox' }, inBlue);
  expect(b1.status, JSON.stringify(b1.json)).toBe(201);
  expect(b1.json.vm.transitIp).toBeDefined();
  instances.set('b1', b1.json.vm.instance ?? 'b1');
  await peerServer(vmNs('v1'), '0.0.0.0', VM_PORT);
  await peerServer(cloud.lab.outsideNs, INTERNET_HOST, OUTSIDE_PORT);
  // Both VMs reach the internet through the shared SNAT before any floating IP (the path is warm).
  for (const vm of ['v1', 'v2', 'b1']) expect(await waitFor(`${vm} egress`, () => egress(vm), (r) => r.startsWith('peer='), 30_000)).toBe(`peer=${SHARED_SNAT}`);
  console.log(`lab: ${NODES.length} nodes, 3 VMs, servers up in ${Date.now() - t0} ms`);
}, 180_000);

afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  await cloud?.stop();
  expect(await namespacesWith(`${P}-`, `${P}v-`)).toEqual([]);
}, 60_000);

describe('floating IPs', () => {
  it('the outside reaches a VM by its floating IP; its egress leaves with it, the other VM\'s with the shared address', async () => {
    expect(await inbound().catch(() => 'none')).not.toMatch(/^peer=/); // nothing there before
    const made = await cloud.api<{ floatingIp: { address: string; gateway: string } }>('POST', '/api/v1/floating-ips', {});
    expect(made.status, JSON.stringify(made.json)).toBe(201);
    fip = made.json.floatingIp.address;
    expect(fip).toBe('203.0.113.10');
    // The outside router still has the address on some other MAC: the gratuitous ARP must move it (locktime 0: the
    // kernel takes an update at once, however recent the entry).
    await cloud.lab.outside('sysctl', ['-q', '-w', 'net.ipv4.neigh.out.locktime=0']);
    await cloud.lab.outside('ip', ['neigh', 'replace', fip, 'lladdr', STALE_MAC, 'dev', 'out', 'nud', 'stale']);
    const gwMac = (JSON.parse(await run('ip', ['-j', 'link', 'show', 'dev', 'eth1'], { netns: GW })) as { address: string }[])[0]!.address;
    const t0 = Date.now();
    const attached = await cloud.api('PUT', `/api/v1/floating-ips/${fip}/vm`, { vm: 'v1' });
    expect(attached.status, JSON.stringify(attached.json)).toBe(200);
    const answeredMs = Date.now() - t0;
    // Announced before anything of the outside asked for it (the API answered once the gateway was provisioned).
    expect(await outsideNeighbour(fip)).toContain(`lladdr ${gwMac}`);
    // The API answered once the gateway was provisioned: the first connection after it gets through.
    const first = await inbound();
    const seen = await waitFor('inbound by the floating IP', inbound, (r) => r.startsWith('peer='), 20_000);
    console.log(`attach answered in ${answeredMs} ms; first connection after it: ${first}`);
    expect(seen).toBe(`peer=${INTERNET_HOST}`); // the VM (and its security group) sees the outside source
    expect(await egress('v1')).toBe(`peer=${fip}`);
    expect(await egress('v2')).toBe(`peer=${SHARED_SNAT}`);
    const nat = await gatewayNat();
    expect(nat).toContain(`-A MINICLOUD-FIP-DNAT -d ${fip}/32 -m comment --comment minicloud-fip -j DNAT --to-destination 192.168.20.2`);
    const ips = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth1'], { netns: GW });
    expect(ips).toContain(`${fip}/32`);
    const metrics = await (await fetch(`${cloud.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/^minicloud_floating_ips\{state="attached"\} 1$/m);
  }, 90_000);

  it("a security group without the port's ingress rule blocks it", async () => {
    expect((await cloud.api('PUT', '/api/v1/vms/v1/security-groups', { securityGroups: [] })).status).toBe(200);
    const blocked = await waitFor('blocked by default', inbound, (r) => r === 'timeout', 20_000);
    expect(blocked).toBe('timeout');
    expect(await egress('v1')).toBe(`peer=${fip}`); // its own connections still leave (default: all egress)
    expect((await cloud.api('PUT', '/api/v1/vms/v1/security-groups', { securityGroups: ['web'] })).status).toBe(200);
    expect(await waitFor('allowed again', inbound, (r) => r.startsWith('peer='), 20_000)).toBe(`peer=${INTERNET_HOST}`);
  }, 90_000);

  it('hairpin: VMs of both projects reach v1 by its floating IP as the outside does; no redirects; no leaks', async () => {
    const redirects = await capture(cloud.lab.outsideNs, 'out', 'icmp', [], 90_000);
    const seenByVms = await Promise.all(['v2', 'b1'].map((vm) => capture(vmNs(vm), 'eth0', 'icmp[icmptype] == 5', ['-Q', 'in'], 90_000)));
    const seen: Record<string, string> = {};
    // v2: same subnet as v1, no floating IP: the gateway's address. v1 itself: its own floating IP. b1: another
    // project with the same addresses, by its transit address on the gateway: the gateway's address.
    for (const vm of ['v2', 'v1', 'b1']) seen[vm] = await waitFor(`${vm} -> ${fip}:${VM_PORT}`, () => hairpin(vm), (r) => r.startsWith('peer='), 20_000);
    // Again, on the warm path: a redirect (if the gateway sent one) would have changed the route by now.
    for (const vm of ['v2', 'b1']) seen[`${vm} again`] = await hairpin(vm);
    // b1's own gateway IP answers a ping from OVS on its node; no packet of it reaches the outside.
    const gatewayIp = (await cloud.api<{ subnet: { gatewayIp: string } }>('GET', '/api/v1/subnets/b-front', undefined, { 'x-project': 'blue' })).json.subnet.gatewayIp;
    const pingOut = await run('ip', ['netns', 'exec', vmNs('b1'), ...pingArgv(gatewayIp, { count: 3, interval: '0.2', waitS: 2 })], { timeoutMs: 20_000 }).catch((e: { stdout?: string }) => e.stdout ?? '');
    const gatewayPing = parsePing(pingOut);
    const outside = await redirects.stop();
    const vmRedirects = (await Promise.all(seenByVms.map((c) => c.stop()))).flat();
    const leaked = outside.filter((l) => l.includes(`> ${gatewayIp}:`));
    console.log('hairpin:', JSON.stringify({ seen, 'b1 -> its gateway IP replies': gatewayPing.received, 'redirects at v2/b1': vmRedirects.length, 'to the gateway IP outside': leaked.length }));
    expect(seen).toEqual({ v2: `peer=${SHARED_SNAT}`, v1: `peer=${fip}`, b1: `peer=${SHARED_SNAT}`, 'v2 again': `peer=${SHARED_SNAT}`, 'b1 again': `peer=${SHARED_SNAT}` });
    expect(gatewayPing.received).toBe(3);
    expect(vmRedirects).toEqual([]);
    expect(leaked).toEqual([]);
  }, 120_000);

  it('detached: unreachable, egress back on the shared address, nothing of it left on the gateway; released', async () => {
    const res = await cloud.api('DELETE', `/api/v1/floating-ips/${fip}/vm`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(await waitFor('unreachable after detach', inbound, (r) => !r.startsWith('peer='), 20_000)).not.toMatch(/^peer=/);
    expect(await waitFor('egress on the shared address', () => egress('v1'), (r) => r === `peer=${SHARED_SNAT}`, 20_000)).toBe(`peer=${SHARED_SNAT}`);
    expect(await gatewayNat()).not.toContain(fip);
    expect(await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth1'], { netns: GW })).not.toContain(`${fip}/32`);
    expect((await cloud.api('DELETE', `/api/v1/floating-ips/${fip}`)).status).toBe(200);
    // v2 never changed.
    expect(await egress('v2')).toBe(`peer=${SHARED_SNAT}`);
  }, 90_000);
});
