// Floating IPs on real packets (issue #22; docs/architecture.md, "Floating IPs"), prefix `mcfip`: a gateway with a
// pool on its outside link, a compute node with two VMs behind it, and "the internet" (198.51.100.1) in the outside
// namespace. Every connection is a real TCP one with a bounded timeout; each side reports the peer address it saw:
// - the outside reaches v1's port 8080 by its floating IP, and v1 sees the outside address (no SNAT inbound);
// - v1's own connections leave with the floating IP as source, v2's with the gateway's shared SNAT address;
// - v1's security group without the port's ingress rule blocks it (the rule back: reachable again);
// - detached: not reachable any more, and v1's egress is back on the shared address; the gateway holds nothing of it.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmView } from '../../src/cloud/index.js';
import { LabCloud } from '../../src/lab/cloud.js';
import { run } from '../../src/lab/exec.js';
import { INTERNET_HOST, namespacesWith, type LabNodeDef } from '../../src/lab/lab.js';
import { waitFor } from '../helpers/wait.js';

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

const vmNs = (vm: string): string => `${P}v-${vm}`;
/** The outside (from "the internet") connecting to the floating IP's port. */
const inbound = (): Promise<string> => connect(cloud.lab.outsideNs, fip, VM_PORT, INTERNET_HOST);
/** A VM connecting to the internet host: the source address the outside saw. */
const egress = (vm: string): Promise<string> => connect(vmNs(vm), INTERNET_HOST, OUTSIDE_PORT);

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
  await peerServer(vmNs('v1'), '0.0.0.0', VM_PORT);
  await peerServer(cloud.lab.outsideNs, INTERNET_HOST, OUTSIDE_PORT);
  // Both VMs reach the internet through the shared SNAT before any floating IP (the path is warm).
  for (const vm of ['v1', 'v2']) expect(await waitFor(`${vm} egress`, () => egress(vm), (r) => r.startsWith('peer='), 30_000)).toBe(`peer=${SHARED_SNAT}`);
  console.log(`lab: ${NODES.length} nodes, 2 VMs, servers up in ${Date.now() - t0} ms`);
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
    const t0 = Date.now();
    const attached = await cloud.api('PUT', `/api/v1/floating-ips/${fip}/vm`, { vm: 'v1' });
    expect(attached.status, JSON.stringify(attached.json)).toBe(200);
    const answeredMs = Date.now() - t0;
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
