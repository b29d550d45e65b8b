// The whole controller against real switches (issue 5's end-to-end test): the real composition root
// (src/daemon/server.ts: SQLite store in a temp dir, runtime listening on a unix socket, API on a loopback port
// with auth, stats poller, netns VM backend), six lab nodes (an OVS instance per node namespace, br0 with its derived
// datapath id and the seed's tunnel ports) and the seed's example cloud created through the HTTP API.
//
// What it proves: every node's datapath connects and its installed flows equal the compiled pipeline for that node
// (compared through OVS's own printing); one more VM updates the nodes with O(nodes) flow-mods and deleting it
// removes its flows; a foreign flow (other cookie) is never touched; a node whose ovs-vswitchd is killed and
// restarted gets its flows back by itself; /metrics after real ping traffic between two netns VMs passes
// `promtool check metrics` and shows the datapaths connected and nonzero port and table counters.
//
// VMs: the netns backend (src/hosts NetnsVmDriver) inside the lab nodes: a VM is a namespace `mcev-<name>` with a
// veth whose other end is a port of the node's br0. All traffic stays inside namespaces this test made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dpidTextForNode } from '../../src/daemon/node-pipelines.js';
import type { Server } from '../../src/daemon/server.js';
import { run } from '../../src/lab/exec.js';
import type { OvsInstance } from '../../src/lab/ovs.js';
import { promtoolAvailable, promtoolProblems } from '../api/promtool.js';
import { sameFlows as same, startControllerE2e, type ControllerE2e } from '../helpers/controller-e2e.js';
import { waitFor } from '../helpers/wait.js';
import { dumpFlows, vmNetns } from './lab.js';

const NODES = [
  { name: 'mce-gw-1', roles: ['gateway'], underlayIp: '10.0.0.1', serviceIp: '203.0.113.1', az: 'AZ-1' },
  { name: 'mce-gw-2', roles: ['gateway'], underlayIp: '10.0.0.2', az: 'AZ-2' },
  { name: 'mce-host-1', roles: ['compute'], underlayIp: '10.0.0.11', az: 'AZ-1', cpus: 32, memoryMiB: 48 * 1024 },
  { name: 'mce-host-2', roles: ['compute'], underlayIp: '10.0.0.12', az: 'AZ-1', cpus: 32, memoryMiB: 48 * 1024 },
  { name: 'mce-host-3', roles: ['compute'], underlayIp: '10.0.0.13', az: 'AZ-2', cpus: 16, memoryMiB: 32 * 1024 },
  { name: 'mce-switch', roles: ['switch', 'management'], underlayIp: '10.0.0.100' },
] as const;
const VMS = [
  { name: 'web-1', subnet: 'front', flavor: '4C8G', image: 'images:debian/12', gateway: 'mce-gw-1' },
  { name: 'web-2', subnet: 'front', flavor: '4C8G', image: 'images:debian/12', gateway: 'mce-gw-2' },
  { name: 'db-1', subnet: 'back', flavor: 'large', image: 'images:debian/12', az: 'AZ-1' },
  { name: 'db-2', subnet: 'back', flavor: '8C16G', image: 'images:debian/12', az: 'AZ-2' },
  { name: 'cache-1', subnet: 'back', flavor: '2C512M', image: 'images:alpine/3.20' },
  { name: 'tool-1', subnet: 'ops', flavor: 'tiny', image: 'images:alpine/3.20', node: 'mce-host-3' },
  { name: 'tool-2', subnet: 'ops', flavor: 'small', image: 'images:alpine/3.20', node: 'mce-host-3' },
];
const PREFIX = 'mce';
const FOREIGN = 'cookie=0x1234,table=0,priority=4321,udp,tp_dst=9,actions=drop';

let e2e: ControllerE2e | undefined;
let server: Server | undefined;
let labs: ReadonlyMap<string, OvsInstance> = new Map();
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert the JSON shape
const api = <T = any>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => e2e!.api<T>(method, path, body);
const compare = (node: string) => e2e!.compare(node);
const allNodesMatch = () => e2e!.allNodesMatch();

beforeAll(async () => {
  e2e = await startControllerE2e(PREFIX, NODES, { subnets: ['front', 'back', 'ops'], vms: VMS });
  server = e2e.server;
  labs = e2e.nodes;
}, 60_000);

afterAll(async () => {
  await e2e?.stop();
}, 60_000);

describe('the controller with real switches', () => {
  it('connects every node by its derived datapath id', async () => {
    const res = await waitFor('all datapaths connected', () => api<{ datapaths: { node: string; dpid: string; connected: boolean; ports: { name: string }[] }[] }>('GET', '/api/v1/datapaths'), (r) =>
      r.json.datapaths.filter((d) => d.connected).length === NODES.length,
    );
    for (const n of NODES) {
      const d = res.json.datapaths.find((x) => x.node === n.name)!;
      expect(d, n.name).toMatchObject({ connected: true, dpid: dpidTextForNode(n.name) });
    }
    const host3 = res.json.datapaths.find((x) => x.node === 'mce-host-3')!;
    const vmPorts = server!.service.listVms({ node: 'mce-host-3' }).map((v) => v.port);
    expect(host3.ports.map((p) => p.name)).toEqual(expect.arrayContaining(['vxlan-int', 'vxlan-sw', ...vmPorts]));
  });

  it("installs exactly each node's compiled pipeline", async () => {
    await allNodesMatch();
    // Every VM is running, and its local flows use the port number learned from its node's switch.
    const vms = (await api<{ vms: { name: string; state: string }[] }>('GET', '/api/v1/vms')).json.vms;
    expect(vms.map((v) => v.state)).toEqual(VMS.map(() => 'running'));
    const flows = (await api<{ flows: { text: string; cookie: string }[] }>('GET', '/api/v1/nodes/mce-host-3/flows')).json.flows;
    expect(flows.length).toBeGreaterThan(10);
    expect(flows.every((f) => f.cookie.startsWith('0x4d43'))).toBe(true);
  });

  it("holds the path-MTU meter on every overlay endpoint, and a full resync of an unchanged node sends nothing", async () => {
    for (const n of NODES) {
      const meters = await labs.get(n.name)!.ofctl('-O', 'OpenFlow13', 'dump-meters', 'br0');
      if (n.name === 'mce-switch') expect(meters, n.name).not.toMatch(/meter=1/);
      else expect(meters, n.name).toMatch(/meter=1 pktps burst stats bands=\s*type=drop rate=100 burst_size=100/);
    }
    const stats = await server!.controller.resync(server!.network.dpidOf('mce-host-1'), { source: 'switch' });
    expect(stats).toMatchObject({ flowMods: 0, meterMods: 0 });
  });

  it('adds one VM with O(nodes) flow-mods and removes its flows when it is deleted', async () => {
    await labs.get('mce-host-1')!.ofctl('-O', 'OpenFlow13', 'add-flow', 'br0', FOREIGN);
    const mods = new Map<string, number>();
    const count = (dp: { dpid: bigint }, stats: { flowMods: number }): void => {
      const node = server!.network.nodeOf(dp.dpid)!;
      mods.set(node, (mods.get(node) ?? 0) + stats.flowMods);
    };
    server!.controller.on('synced', count);
    const before = await api<{ flows: unknown[] }>('GET', '/api/v1/nodes/mce-host-1/flows');
    const created = await api<{ vm: { name: string; ip: string; mac: string; node: string }; network: { confirmed: string[]; pending: string[] } }>('POST', '/api/v1/vms', {
      name: 'extra-1',
      subnet: 'front',
      flavor: 'small',
      image: 'images:debian/12',
      node: 'mce-host-1',
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    await allNodesMatch();
    server!.controller.off('synced', count);
    const total = [...mods.values()].reduce((a, b) => a + b, 0);
    // A handful per node (ARP answer, unicast and routed entries, the local port's flows), not a reinstall:
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(8 * NODES.length);
    expect(total).toBeLessThan(before.json.flows.length);
    const vm = created.json.vm;
    const mentions = async (): Promise<number> => {
      let n = 0;
      for (const ovs of labs.values()) n += (await dumpFlows(ovs, 'br0')).filter((l) => l.includes(vm.ip) || l.includes(vm.mac)).length;
      return n;
    };
    expect(await mentions()).toBeGreaterThan(NODES.length - 2);

    expect((await api('DELETE', '/api/v1/vms/extra-1')).status).toBe(200);
    await allNodesMatch();
    expect(await mentions()).toBe(0);
    // Nobody else's flow was touched.
    expect((await dumpFlows(labs.get('mce-host-1')!, 'br0')).some((l) => l.startsWith('cookie=0x1234,') && l.includes('priority=4321'))).toBe(true);
    console.log(`extra VM: flow-mods per node ${JSON.stringify(Object.fromEntries(mods))} (total ${total}; host-1 had ${before.json.flows.length} flows)`);
  }, 40_000);

  it('restores a node whose ovs-vswitchd was killed and restarted, by itself', async () => {
    const ovs = labs.get('mce-host-3')!;
    await ovs.killVswitchd();
    await waitFor('mce-host-3 to disconnect', async () => server!.network.datapathOf('mce-host-3') === undefined, (gone) => gone);
    const t0 = Date.now();
    await ovs.startVswitchd();
    const r = await waitFor("mce-host-3's flows restored", () => compare('mce-host-3'), same, 20_000);
    expect(r.installed).toEqual(r.expected);
    console.log(`vswitchd restart: flows restored ${Date.now() - t0} ms after the restart`);
    await allNodesMatch();
  }, 40_000);

  it('exports metrics that pass promtool, with traffic counted', async () => {
    const tool2 = server!.service.getVm('tool-2');
    // Real packets: tool-1 pings tool-2 (same subnet, same node) through mce-host-3's br0 and our flows.
    await waitFor('ping tool-1 -> tool-2', () => run('ip', ['netns', 'exec', vmNetns(PREFIX, 'tool-1'), 'ping', '-c', '2', '-i', '0.2', '-W', '1', tool2.ip]).then(() => true, () => false), (ok) => ok, 15_000);
    await server!.poller.pollOnce();
    const res = await fetch(`${server!.apiUrl}/metrics`);
    const text = await res.text();
    expect(res.status).toBe(200);
    if (promtoolAvailable()) expect(promtoolProblems(text)).toEqual([]);
    const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
    expect(value(/^minicloud_datapaths_connected (\S+)$/m)).toBe(NODES.length);
    expect(value(/^minicloud_vm_packets_total\{[^}]*vm="tool-1"[^}]*direction="rx"[^}]*\} (\S+)$/m)).toBeGreaterThan(0);
    expect(value(/^minicloud_vm_packets_total\{[^}]*vm="tool-2"[^}]*direction="tx"[^}]*\} (\S+)$/m)).toBeGreaterThan(0);
    expect(value(/^minicloud_table_lookups_total\{[^}]*node="mce-host-3"[^}]*table="0"[^}]*\} (\S+)$/m)).toBeGreaterThan(0);
    expect(value(/^minicloud_flow_mods_sent_total\{[^}]*node="mce-host-3"[^}]*\} (\S+)$/m)).toBeGreaterThan(0);
    expect(value(/^minicloud_datapath_connects_total\{[^}]*node="mce-host-3"[^}]*\} (\S+)$/m)).toBe(2);
  }, 30_000);
});
