// Issue 7's twelve end-to-end scenarios on real packets, on the lab of docs/lab.md: the controller (in-process
// startServer) provisions every node itself, the cloud is created through the HTTP API, VMs are netns VMs, and
// traffic is measured with ping and tcpdump inside the namespaces this test made (prefix `mcl`). Each scenario
// prints what it measured. The cloud runs what users get by default (DHCP answered by the controller, head-end
// broadcast, security groups with every VM in `default`); scenario 13 restarts the controller into the seed's modes
// (the DHCP node's dnsmasq, broadcast through the switch node) and checks each once.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabCloud } from '../../src/lab/cloud.js';
import { run } from '../../src/lab/exec.js';
import { INTERNET_HOST, namespacesWith } from '../../src/lab/lab.js';
import { waitFor } from '../helpers/wait.js';
import { parsePing, pingArgv, type PingResult } from '../helpers/ping.js';
import { capture, flowsMentioning, pingFrom, vmExec } from './traffic.js';
import type { VmExecResult, VmView } from '../../src/cloud/index.js';

const P = 'mcl';
const C1 = `${P}-c1`;
const C2 = `${P}-c2`;
const GW1 = `${P}-gw1`;
const GW2 = `${P}-gw2`;
const VMS = [
  { name: 'a1', subnet: 'front', node: C1, gateway: GW1 },
  { name: 'a2', subnet: 'front', node: C1, gateway: GW2 },
  { name: 'a3', subnet: 'front', node: C2, gateway: GW2 },
  { name: 'b1', subnet: 'back', node: C2, gateway: GW1 },
  { name: 'b2', subnet: 'back', node: C1, gateway: GW1 },
] as const;

let cloud: LabCloud;
const vms = new Map<string, VmView>();
const ip = (vm: string): string => vms.get(vm)!.ip;
const vmNs = (vm: string): string => `${P}v-${vm}`;

const exec = (vm: string, command: string[]): Promise<VmExecResult> => vmExec(cloud, vm, command);

const ping = (vm: string, to: string, count = 5, interval = '0.1'): Promise<PingResult> => pingFrom(cloud, vm, to, { count, interval, waitS: 2, numeric: true });

/** A ping run straight in the VM's namespace (for measurements while the controller itself restarts). */
async function pingDirect(vm: string, to: string, count: number, interval = '0.1'): Promise<PingResult> {
  const out = await run('ip', ['netns', 'exec', vmNs(vm), ...pingArgv(to, { count, interval, waitS: 1, numeric: true, timestamps: true })], {
    timeoutMs: count * 1000 + 15_000,
  }).catch((e: { stdout?: string }) => e.stdout ?? '');
  return parsePing(out);
}

/**
 * rx+tx packets of the node's vxlan-int (OpenFlow port stats, read from the node's own OVS): the only way VM traffic
 * reaches or leaves a gateway. (LOCAL also counts the gateway kernel's own IPv6 chatter, so it is not summed.)
 */
async function portPackets(node: string): Promise<number> {
  const out = await cloud.lab.node(node).ofctl('-O', 'OpenFlow13', 'dump-ports', 'br0', 'vxlan-int');
  return [...out.matchAll(/(?:rx|tx) pkts=(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
}

/** OVS's userspace datapath pushes tunnel port and flow counters up with its revalidators (about every 0.5 s). */
function settleCounters(): Promise<void> {
  return new Promise((r) => setTimeout(r, 1500));
}

/** Sum of a counter family in the controller's /metrics. */
async function metricSum(name: string): Promise<number> {
  const res = await fetch(`${cloud.apiUrl}/metrics`);
  const text = await res.text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm'))].reduce((s, m) => s + Number(m[1]), 0);
}

/** busybox udhcpc in the VM (bounded: -t 5 -T 1); `lease` is udhcpc's "lease of IP obtained from SERVER". */
async function udhcpc(vm: string): Promise<{ lease: RegExpExecArray | null; ms: number; out: string }> {
  const t0 = Date.now();
  const r = await exec(vm, ['busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '5', '-T', '1', '-s', '/bin/true']);
  const out = (r.stdout + r.stderr).trim();
  return { lease: /lease of ([\d.]+) obtained from ([\d.]+)/.exec(out), ms: Date.now() - t0, out };
}

/** The DHCP node's dnsmasq lease file ('' before its first lease). */
const dnsmasqLeases = (): Promise<string> => readFile(join(cloud.dir, 'nodes', `${P}-dhcp`, 'state', 'dnsmasq', 'dnsmasq.leases'), 'utf8').catch(() => '');

/** Packets the switch node's replication rows (table 60) have matched. */
async function switchReplicated(): Promise<number> {
  const out = await cloud.lab.node(`${P}-sw`).ofctl('-O', 'OpenFlow13', 'dump-flows', 'br0', 'table=60');
  return [...out.matchAll(/n_packets=(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
}

/** a1 pings front's broadcast address three times: the echo requests each VM received. */
async function broadcastSeen(): Promise<Map<string, number>> {
  const caps = new Map<string, Awaited<ReturnType<typeof capture>>>();
  for (const vm of VMS) caps.set(vm.name, await capture(vmNs(vm.name), 'eth0', 'icmp and ether broadcast', ['-Q', 'in']));
  await exec('a1', ['ping', '-n', '-b', '-c', '3', '-i', '0.2', '-W', '1', '192.168.20.31']);
  const seen = new Map<string, number>();
  for (const [vm, cap] of caps) seen.set(vm, (await cap.stop()).length);
  return seen;
}

beforeAll(async () => {
  const t0 = Date.now();
  cloud = await LabCloud.start({ prefix: P });
  const t1 = Date.now();
  for (const name of ['front', 'back']) expect((await cloud.api('POST', '/api/v1/subnets', { name })).status).toBe(201);
  for (const vm of VMS) {
    const res = await cloud.api<{ vm: VmView }>('POST', '/api/v1/vms', { ...vm, flavor: 'tiny', image: 'busybox' });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    vms.set(vm.name, res.json.vm);
  }
  console.log(`lab: ${cloud.nodes.length} nodes provisioned and connected in ${t1 - t0} ms; 2 subnets, ${VMS.length} VMs in ${Date.now() - t1} ms`);
}, 150_000);

afterAll(async () => {
  await cloud?.stop();
  expect(await namespacesWith(`${P}-`, `${P}v-`)).toEqual([]);
}, 60_000);

describe('the lab on real packets', () => {
  it('0: every node was provisioned by the controller, and the API says so', async () => {
    type NodeRow = { name: string; provisioning?: { state: string; error?: string } };
    const seen = new Set<string>();
    const t0 = Date.now();
    // VM creation just queued a DHCP reservation sync, so a node may still be 'provisioning' for a moment: wait for it
    // to settle, and report anything other than ready seen on the way.
    const nodes = await waitFor(
      'every node provisioned',
      async () => {
        const res = await cloud.api<{ nodes: NodeRow[] }>('GET', '/api/v1/nodes');
        expect(res.status).toBe(200);
        for (const n of res.json.nodes) if (n.provisioning?.state !== 'ready') seen.add(`${n.name}:${n.provisioning?.state ?? 'none'}${n.provisioning?.error ? ` (${n.provisioning.error})` : ''}`);
        return res.json.nodes;
      },
      (ns) => ns.every((n) => n.provisioning?.state === 'ready'),
      30_000,
    );
    console.log(`scenario 0: ${nodes.length} nodes ready after ${Date.now() - t0} ms; seen on the way: ${[...seen].join(', ') || 'nothing else'}`);
    expect(nodes.length).toBe(6);
    for (const n of nodes) expect({ node: n.name, state: n.provisioning?.state, error: n.provisioning?.error }).toEqual({ node: n.name, state: 'ready', error: undefined });
  });

  it('1: same subnet, same node', async () => {
    const r = await ping('a1', ip('a2'), 10);
    console.log(`scenario 1 (a1 -> a2, both on ${C1}): ${r.received}/${r.sent} received, avg ${r.avgMs} ms`);
    expect(r.lost).toBe(0);
  });

  it('2: same subnet, across nodes', async () => {
    const r = await ping('a1', ip('a3'), 10);
    console.log(`scenario 2 (a1 on ${C1} -> a3 on ${C2}): ${r.received}/${r.sent} received, avg ${r.avgMs} ms`);
    expect(r.lost).toBe(0);
  });

  it("3: other subnet across nodes, routed directly (the gateways' counters do not move)", async () => {
    await ping('a1', ip('b1'), 1);
    await settleCounters();
    const before = [await portPackets(GW1), await portPackets(GW2)];
    const r = await ping('a1', ip('b1'), 10);
    await settleCounters();
    const after = [await portPackets(GW1), await portPackets(GW2)];
    const ttl = /ttl=(\d+)/.exec(r.text)?.[1];
    console.log(`scenario 3 (a1 front on ${C1} -> b1 back on ${C2}): ${r.received}/${r.sent} received, avg ${r.avgMs} ms, ttl ${ttl}; gateways' vxlan-int packets ${before} -> ${after}`);
    expect(r.lost).toBe(0);
    expect(after).toEqual(before);
  });

  it.each([
    ['4', 'the gateway IP', (): string => '192.168.20.1', (): string => '12:00:00:ff:ff:ff'],
    ['5', 'a VM on another node', (): string => ip('a3'), (): string => vms.get('a3')!.mac],
  ])("%s: ARP for %s is answered on the VM's own node", async (n, _what, target, mac) => {
    const cap = await capture(cloud.lab.underlayNs, 'ul', `(udp port 4789 and udp[28:2] = 0x0806) or (arp net 192.168.20.0/22)`);
    await exec('a1', ['ip', 'neigh', 'flush', 'dev', 'eth0']);
    const t0 = Date.now();
    // -b: every request broadcast, as a VM resolving an address sends it (busybox would go unicast after a reply).
    const r = await exec('a1', ['busybox', 'arping', '-b', '-c', '3', '-w', '3', '-I', 'eth0', target()]);
    const ms = Date.now() - t0;
    const lines = await cap.stop();
    const replies = r.stdout.split('\n').filter((l) => l.includes('reply from'));
    console.log(`scenario ${n} (a1 asks for ${target()}): ${replies.length} replies (${replies[0]?.trim()}), ${ms} ms; ARP frames on the underlay: ${lines.length}`);
    expect(replies.length).toBeGreaterThanOrEqual(3);
    expect(replies.every((l) => l.toLowerCase().includes(`[${mac()}]`))).toBe(true);
    expect(lines).toEqual([]);
  });

  it("4b: a unicast ARP request for the gateway MAC (Linux's stale-neighbour probe) is answered on the VM's own node too", async () => {
    const cap = await capture(cloud.lab.underlayNs, 'ul', `(udp port 4789 and udp[28:2] = 0x0806) or (arp net 192.168.20.0/22)`);
    // Without -b busybox arping goes unicast to the MAC of the first reply: the gateway MAC.
    const r = await exec('a1', ['busybox', 'arping', '-c', '3', '-w', '3', '-I', 'eth0', '192.168.20.1']);
    const lines = await cap.stop();
    const replies = r.stdout.split('\n').filter((l) => l.includes('reply from'));
    console.log(`scenario 4b (a1 asks 192.168.20.1, unicast after the first reply): ${replies.length} replies; ARP frames on the underlay: ${lines.length}`);
    expect(replies.length).toBe(3);
    expect(lines).toEqual([]);
  });

  it('6: a DHCP lease answered by the controller (the DHCP node stays idle)', async () => {
    const r = await udhcpc('b2');
    const leases = await dnsmasqLeases();
    console.log(`scenario 6 (b2 runs udhcpc): ${r.lease?.[0] ?? r.out} in ${r.ms} ms (API said ${ip('b2')}); dnsmasq leases: ${JSON.stringify(leases.trim())}`);
    expect(r.lease?.[1]).toBe(ip('b2'));
    expect(r.lease?.[2]).toBe('192.168.20.33'); // back's gateway IP: the server id the controller answers with
    expect(leases).not.toContain(vms.get('b2')!.mac);
  });

  it("7 and 9: egress through each VM's own gateway, SNAT seen from the outside, replies back", async () => {
    const cap = await capture(cloud.lab.outsideNs, 'out', 'icmp');
    await settleCounters();
    const gwBefore = [await portPackets(GW1), await portPackets(GW2)];
    const r1 = await ping('a1', INTERNET_HOST, 5);
    const r2 = await ping('a2', INTERNET_HOST, 5);
    await settleCounters();
    const gwAfter = [await portPackets(GW1), await portPackets(GW2)];
    const lines = await cap.stop();
    const requestsFrom = (src: string): number => lines.filter((l) => l.includes(`${src} > ${INTERNET_HOST}: ICMP echo request`)).length;
    const repliesTo = (dst: string): number => lines.filter((l) => l.includes(`${INTERNET_HOST} > ${dst}: ICMP echo reply`)).length;
    console.log(
      `scenarios 7/9: a1 (bound to ${GW1}) ${r1.received}/${r1.sent} avg ${r1.avgMs} ms, seen outside from 203.0.113.1: ${requestsFrom('203.0.113.1')} requests, ${repliesTo('203.0.113.1')} replies; ` +
        `a2 (bound to ${GW2}) ${r2.received}/${r2.sent} avg ${r2.avgMs} ms, seen from 203.0.113.2: ${requestsFrom('203.0.113.2')} requests; ` +
        `gateways' vxlan-int packets ${gwBefore} -> ${gwAfter}`,
    );
    // The counters scenario 3 reads do count egress: each gateway carried its own VM's 5 requests and 5 replies.
    expect(gwAfter[0]! - gwBefore[0]!).toBeGreaterThanOrEqual(10);
    expect(gwAfter[1]! - gwBefore[1]!).toBeGreaterThanOrEqual(10);
    expect(r1.lost).toBe(0);
    expect(r2.lost).toBe(0);
    expect(requestsFrom('203.0.113.1')).toBe(5);
    expect(requestsFrom('203.0.113.2')).toBe(5);
    expect(repliesTo('203.0.113.1')).toBe(5);
    // Nothing from the overlay's own addresses ever reaches the outside.
    expect(lines.filter((l) => l.includes('192.168.20.'))).toEqual([]);
  });

  it('8: broadcast reaches every other VM of the subnet on every node, never the sender, never another subnet', async () => {
    const seen = await broadcastSeen();
    console.log(`scenario 8 (head-end; a1 pings front's broadcast 192.168.20.31 three times): received per VM ${JSON.stringify(Object.fromEntries(seen))}`);
    expect(seen.get('a2')).toBe(3); // same subnet, same node
    expect(seen.get('a3')).toBe(3); // same subnet, other node (replicated by a1's node)
    expect(seen.get('a1')).toBe(0); // the sender
    expect(seen.get('b1')).toBe(0); // other subnet
    expect(seen.get('b2')).toBe(0);
  });

  it('10: ovs-vswitchd killed and restarted on a compute node: the pipeline comes back by itself', async () => {
    const node = cloud.lab.node(C2);
    const pinging = pingDirect('a1', ip('a3'), 80, '0.1');
    await new Promise((r) => setTimeout(r, 1500));
    await node.killVswitchd();
    await new Promise((r) => setTimeout(r, 500));
    const restartedAt = Date.now() / 1000;
    await node.startVswitchd();
    const r = await pinging;
    const firstAfter = r.replyTimes.find((t) => t > restartedAt);
    const heal = firstAfter === undefined ? Infinity : firstAfter - restartedAt;
    console.log(`scenario 10 (kill -9 ovs-vswitchd on ${C2} under a 10/s ping a1 -> a3): ${r.received}/${r.sent} received; pings resumed ${heal.toFixed(2)} s after the restart`);
    expect(heal).toBeLessThan(2);
    expect(r.replyTimes.at(-1)! - restartedAt).toBeGreaterThan(3); // and kept going to the end
  });

  it('11: the controller restarted under a continuous ping: 0 lost, 0 flow-mods for unchanged flows', async () => {
    const pinging = pingDirect('a1', ip('b1'), 60, '0.1');
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    await cloud.restartController();
    const restartMs = Date.now() - t0;
    const nodes = cloud.nodes.length;
    const end = Date.now() + 20_000;
    while ((await metricSum('minicloud_resync_duration_seconds_count')) < nodes && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    const resyncs = await metricSum('minicloud_resync_duration_seconds_count');
    const flowMods = await metricSum('minicloud_flow_mods_sent_total');
    const r = await pinging;
    console.log(`scenario 11 (controller stopped and started in ${restartMs} ms under a 10/s ping a1 -> b1): ${r.received}/${r.sent} received, ${r.lost} lost; ${resyncs} node resyncs after the restart, ${flowMods} flow-mods`);
    expect(resyncs).toBeGreaterThanOrEqual(nodes);
    expect(r.lost).toBe(0);
    expect(flowMods).toBe(0);
  });

  it('12: a VM created and deleted while others keep pinging: no loss for them, nothing left behind', async () => {
    const pinging = pingDirect('a1', ip('a3'), 100, '0.1');
    const t0 = Date.now();
    const created = await cloud.api<{ vm: VmView }>('POST', '/api/v1/vms', { name: 'x1', subnet: 'front', node: C2, gateway: GW1, flavor: 'tiny', image: 'busybox' });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const x1 = created.json.vm;
    const tCreate = Date.now() - t0;
    const reach = await ping('x1', ip('a1'), 3);
    const t1 = Date.now();
    expect((await cloud.api('DELETE', '/api/v1/vms/x1')).status).toBe(200);
    const tDelete = Date.now() - t1;
    const r = await pinging;
    const ports = await cloud.lab.node(C2).vsctl('list-ports', 'br0');
    const mentions = await flowsMentioning(cloud, x1);
    const reservations = await readFile(join(cloud.dir, 'nodes', `${P}-dhcp`, 'state', 'dnsmasq', 'reservations.hosts'), 'utf8');
    const leftNs = await namespacesWith(vmNs('x1'));
    console.log(
      `scenario 12 (x1 created in ${tCreate} ms, reached a1 ${reach.received}/${reach.sent}, deleted in ${tDelete} ms, under a 10/s ping a1 -> a3): ` +
        `${r.received}/${r.sent} received; left behind: ${leftNs.length} namespaces, ${ports.split('\n').filter((p) => p === x1.port).length} ports, ${mentions} flows, reservation ${reservations.includes(x1.mac)}`,
    );
    expect(reach.received).toBeGreaterThan(0);
    expect(r.lost).toBe(0);
    expect(leftNs).toEqual([]);
    expect(ports.split('\n')).not.toContain(x1.port);
    expect(mentions).toBe(0);
    expect(reservations).not.toContain(x1.mac);
  });

  it("13: the seed's modes after a controller restart: a lease through the DHCP node, broadcast through the switch node", async () => {
    const t0 = Date.now();
    await cloud.restartController({ dhcp: 'node', broadcast: 'switch-node' });
    const nodes = cloud.nodes.length;
    const end = Date.now() + 30_000;
    while ((await metricSum('minicloud_resync_duration_seconds_count')) < nodes && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    const switched = Date.now() - t0;
    const r = await udhcpc('b2');
    const leases = await dnsmasqLeases();
    const replicatedBefore = await switchReplicated();
    const seen = await broadcastSeen();
    await settleCounters();
    const replicated = (await switchReplicated()) - replicatedBefore;
    console.log(
      `scenario 13 (restarted into dhcp: node, broadcast: switch-node, resynced in ${switched} ms): b2 ${r.lease?.[0] ?? r.out} in ${r.ms} ms; ` +
        `broadcast from a1 received per VM ${JSON.stringify(Object.fromEntries(seen))}, ${replicated} packets replicated by the switch node`,
    );
    expect(r.lease?.[1]).toBe(ip('b2'));
    expect(leases).toContain(vms.get('b2')!.mac); // dnsmasq on the DHCP node answered
    expect(Object.fromEntries(seen)).toEqual({ a1: 0, a2: 3, a3: 3, b1: 0, b2: 0 });
    expect(replicated).toBeGreaterThanOrEqual(3); // a3's copies went through the switch node
  });
});
