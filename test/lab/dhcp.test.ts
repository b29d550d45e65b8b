// Issue 18, DHCP without a DHCP node and broadcast without a switch node, on real packets in the lab of docs/lab.md
// (prefix `mcdh`): a cloud of one gateway, two computes and a switch, no DHCP node, `network.dhcp: controller` (the default). busybox udhcpc in a VM's namespace
// leases through the controller (punt row on its own node, PACKET_OUT back) with the right options, renews by unicast
// (table 10), and a malformed DHCP frame sent from the VM's namespace on a raw socket is dropped and counted while
// everything goes on working; broadcast is replicated by the sending node (head-end) to every VM of the subnet and no
// other, with the switch node up or down. Each scenario prints what it measured.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmView } from '../../src/cloud/index.js';
import { LabCloud } from '../../src/lab/cloud.js';
import { run } from '../../src/lab/exec.js';
import { namespacesWith, standardNodes } from '../../src/lab/lab.js';
import { waitFor } from '../helpers/wait.js';
import { capture } from './traffic.js';

const P = 'mcdh';
const NODES = standardNodes(P, 2).filter((n) => !n.roles.includes('dhcp') && n.name !== `${P}-gw2`);
const VMS = [
  { name: 'a1', subnet: 'front', node: `${P}-c1`, gateway: `${P}-gw1` },
  { name: 'a2', subnet: 'front', node: `${P}-c2`, gateway: `${P}-gw1` },
  { name: 'a3', subnet: 'front', node: `${P}-c1`, gateway: `${P}-gw1` },
  { name: 'b1', subnet: 'back', node: `${P}-c2`, gateway: `${P}-gw1` },
] as const;
const OVERLAY_MTU = 1450;

let cloud: LabCloud;
const vms = new Map<string, VmView>();
const vmNs = (vm: string): string => `${P}v-${vm}`;
let script: string;
let mask: string;
let gatewayIp: string;
/** An address of `front` that no VM has: ARP for it is not answered by the pipeline, so it is flooded. */
let unused: string;

/** Sum of a counter family in the controller's /metrics, over series whose labels contain every `labels` part. */
async function metricSum(name: string, ...labels: string[]): Promise<number> {
  const text = await (await fetch(`${cloud.apiUrl}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm'))]
    .filter((m) => labels.every((l) => (m[1] ?? '').includes(l)))
    .reduce((s, m) => s + Number(m[2]), 0);
}

/** udhcpc in the foreground in a VM's namespace; resolves with what the script printed. Bounded (-t 5 -T 1, 20 s). */
async function lease(vm: string): Promise<{ env: Record<string, string>; ms: number; out: string }> {
  const t0 = Date.now();
  const out = await run('busybox', ['udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '5', '-T', '1', '-O', 'mtu', '-O', 'staticroutes', '-s', script], {
    netns: vmNs(vm),
    timeoutMs: 20_000,
  });
  const line = out.split('\n').find((l) => l.startsWith('bound ')) ?? '';
  const env = Object.fromEntries(line.slice(6).split(' ').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
  return { env, ms: Date.now() - t0, out };
}

beforeAll(async () => {
  const t0 = Date.now();
  cloud = await LabCloud.start({ prefix: P, nodes: NODES });
  expect((await cloud.api('POST', '/api/v1/subnets', { name: 'back' })).status).toBe(201);
  const subnet = await cloud.api<{ subnet: { cidr: string; gatewayIp: string } }>('POST', '/api/v1/subnets', { name: 'front' });
  expect(subnet.status).toBe(201);
  const bits = Number(subnet.json.subnet.cidr.split('/')[1]);
  const m = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  gatewayIp = subnet.json.subnet.gatewayIp;
  const base = subnet.json.subnet.cidr.split('/')[0]!.split('.').map(Number);
  unused = [...base.slice(0, 3), base[3]! + 29].join('.');
  mask = [24, 16, 8, 0].map((s) => (m >>> s) & 255).join('.');
  for (const vm of VMS) {
    const res = await cloud.api<{ vm: VmView }>('POST', '/api/v1/vms', { ...vm, flavor: 'tiny', image: 'busybox' });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    vms.set(vm.name, res.json.vm);
  }
  script = join(cloud.dir, 'udhcpc-print.sh');
  await writeFile(script, '#!/bin/sh\ncase "$1" in bound|renew) echo "$1 ip=$ip subnet=$subnet router=$router lease=$lease mtu=$mtu serverid=$serverid dns=$dns" ;; esac\nexit 0\n', { mode: 0o755 });
  console.log(`DHCP lab: ${NODES.map((n) => n.name).join(', ')} (no DHCP node), ${VMS.length} VMs up in ${Date.now() - t0} ms`);
}, 180_000);

afterAll(async () => {
  await cloud?.stop();
  expect(await namespacesWith(`${P}-`, `${P}v-`)).toEqual([]);
}, 60_000);

describe('DHCP answered by the controller (issue 18)', () => {
  it('1: udhcpc leases through the controller: address, mask, router, lease, MTU, server id', async () => {
    const before = await metricSum('minicloud_dhcp_packets_total', `node="${P}-c1"`, 'outcome="ack"');
    const a1 = vms.get('a1')!;
    const r = await lease('a1');
    console.log(`scenario 1: a1 leased ${JSON.stringify(r.env)} in ${r.ms} ms (API: ${a1.ip}, gateway ${gatewayIp})`);
    expect(r.env, r.out).toMatchObject({ ip: a1.ip, subnet: mask, router: gatewayIp, lease: '43200', mtu: String(OVERLAY_MTU), serverid: gatewayIp });
    expect(await metricSum('minicloud_dhcp_packets_total', `node="${P}-c1"`, 'outcome="ack"')).toBe(before + 1);
    expect(await metricSum('minicloud_dhcp_packets_total', `node="${P}-c1"`, 'outcome="offer"')).toBeGreaterThanOrEqual(1);
    // The second VM, on the other node, from its own node's punt row.
    const a2 = await lease('a2');
    expect(a2.env.ip).toBe(vms.get('a2')!.ip);
  });

  it('2: a renewal (unicast to the server id, table 10) is acknowledged', async () => {
    const acks = (): Promise<number> => metricSum('minicloud_dhcp_packets_total', `node="${P}-c1"`, 'outcome="ack"');
    const before = await acks();
    // udhcpc stays in the foreground once bound; SIGUSR1 makes it renew (RFC 2131 RENEWING: unicast from ciaddr).
    const child = spawn('ip', ['netns', 'exec', vmNs('a1'), 'busybox', 'udhcpc', '-i', 'eth0', '-f', '-t', '5', '-T', '1', '-s', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      await waitFor('udhcpc bound', () => out, (o) => o.includes('bound '), 15_000);
      const t0 = Date.now();
      child.kill('SIGUSR1');
      await waitFor('renewal acknowledged', () => Promise.resolve(out), (o) => o.includes('renew '), 15_000);
      console.log(`scenario 2: a1 renewed by unicast in ${Date.now() - t0} ms: ${out.split('\n').find((l) => l.startsWith('renew')) ?? ''}`);
      expect(await acks()).toBe(before + 2);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });

  it('3: malformed DHCP from a VM (raw socket) is dropped and counted; nothing crashes, DHCP goes on', async () => {
    const a1 = vms.get('a1')!;
    const malformed = (): Promise<number> => metricSum('minicloud_dhcp_packets_total', `node="${P}-c1"`, 'outcome="malformed"');
    const before = await malformed();
    // Ethernet (broadcast, from the VM's own MAC so table 0 admits it) + IPv4 + UDP 68 -> 67 carrying: a BOOTP header
    // cut short, an option overrunning the message, no END, and random bytes; five of each.
    const py = [
      'import socket, struct, os, sys',
      'mac = bytes.fromhex(sys.argv[1].replace(":", ""))',
      'def csum(b):',
      '  s = sum(struct.unpack("!%dH" % (len(b)//2), b))',
      '  s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)',
      '  return ~s & 0xffff',
      'def frame(payload):',
      '  udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload',
      '  ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), b"\\xff" * 4)',
      '  ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]',
      '  return b"\\xff" * 6 + mac + b"\\x08\\x00" + ip + udp',
      'boot = bytes([1, 1, 6, 0]) + bytes(24) + mac + bytes(202) + bytes.fromhex("63825363")',
      'bad = [boot[:100], boot + bytes([53, 1, 1, 12, 200, 65]), boot + bytes([53, 1, 1]), os.urandom(300)]',
      's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)',
      's.bind(("eth0", 0))',
      'for _ in range(5):',
      '  for p in bad: s.send(frame(p))',
    ].join('\n');
    await run('python3', ['-c', py, a1.mac], { netns: vmNs('a1'), timeoutMs: 10_000 });
    await waitFor('malformed DHCP counted', malformed, (n) => n >= before + 20, 10_000);
    const counted = (await malformed()) - before;
    console.log(`scenario 3: 20 malformed DHCP frames sent from a1's namespace, ${counted} counted malformed, none answered`);
    expect(counted).toBe(20);
    const after = await lease('a1');
    expect(after.env.ip).toBe(a1.ip);
    expect((await cloud.api('GET', '/api/v1/vms')).status).toBe(200);
  });

  it('4: head-end broadcast: ARP from a1 reaches every other VM of its subnet, on both nodes, and no other; the switch node down changes nothing', async () => {
    /** a1 broadcasts one ARP request for `unused`; which VMs' eth0 received it (inbound only). */
    const flood = async (): Promise<Record<string, number>> => {
      const caps = await Promise.all(VMS.map(async (v) => [v.name, await capture(vmNs(v.name), 'eth0', 'arp', ['-Q', 'in'], 30_000)] as const));
      const t0 = Date.now();
      await run('sh', ['-c', `busybox arping -c 2 -w 2 -I eth0 ${unused} || true`], { netns: vmNs('a1'), timeoutMs: 10_000 });
      const seen: Record<string, number> = {};
      for (const [name, c] of caps) seen[name] = (await c.stop()).filter((l) => l.includes(`who-has ${unused}`) || l.includes(`Request who-has ${unused}`)).length;
      console.log(`  broadcast from a1 (arping ${unused}, 2 requests) seen by ${JSON.stringify(seen)} within ${Date.now() - t0} ms`);
      return seen;
    };
    const before = await flood();
    expect(before).toEqual({ a1: 0, a2: 2, a3: 2, b1: 0 });
    // The switch node's ovs-vswitchd killed: nothing of broadcast goes through it any more.
    await cloud.lab.ovs.get(`${P}-sw`)!.killVswitchd();
    try {
      const after = await flood();
      console.log(`scenario 4: head-end broadcast ${JSON.stringify(before)}; with the switch node's vswitchd killed ${JSON.stringify(after)}`);
      expect(after).toEqual(before);
      expect((await lease('a2')).env.ip).toBe(vms.get('a2')!.ip);
    } finally {
      await cloud.lab.ovs.get(`${P}-sw`)!.startVswitchd();
    }
  });

  it('5: the switch node removed through the API: broadcast and DHCP go on unchanged', async () => {
    const res = await cloud.api('DELETE', `/api/v1/nodes/${P}-sw`);
    expect(res.status, JSON.stringify(res.json)).toBeLessThan(300);
    const caps = await Promise.all(VMS.map(async (v) => [v.name, await capture(vmNs(v.name), 'eth0', 'arp', ['-Q', 'in'], 30_000)] as const));
    await run('sh', ['-c', `busybox arping -c 2 -w 2 -I eth0 ${unused} || true`], { netns: vmNs('a1'), timeoutMs: 10_000 });
    const seen: Record<string, number> = {};
    for (const [name, c] of caps) seen[name] = (await c.stop()).filter((l) => l.includes(`who-has ${unused}`)).length;
    const leased = await lease('a2');
    console.log(`scenario 5: switch node removed (${res.status}); broadcast from a1 seen by ${JSON.stringify(seen)}; a2 leased ${leased.env.ip} in ${leased.ms} ms`);
    expect(seen).toEqual({ a1: 0, a2: 2, a3: 2, b1: 0 });
    expect(leased.env.ip).toBe(vms.get('a2')!.ip);
    // With head-end broadcast the computes need no switch node: provisioned again, their vxlan-sw port goes.
    for (const c of [`${P}-c1`, `${P}-c2`]) {
      const ports = await waitFor(`${c}'s vxlan-sw port removed`, async () => (await cloud.lab.ovs.get(c)!.vsctl('list-ports', 'br0')).trim().split('\n'), (p) => !p.includes('vxlan-sw'), 30_000, 200);
      console.log(`  ${c} ports after the switch node's removal: ${ports.join(', ')}`);
    }
    expect((await lease('a3')).env.ip).toBe(vms.get('a3')!.ip);
  });
});
