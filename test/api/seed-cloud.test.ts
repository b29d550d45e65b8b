// The seed's example cloud, created through the API: 2 gateways (two clouds), 3 compute nodes in 2 AZs, a switch
// node, /27 subnets, VMs of several flavors. The resulting model is valid, the pipeline compiles it, and the
// metrics scrape of it (with dataplane counters polled from a fake StatsSource) passes promtool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatsPoller, type StatsSource } from '../../src/daemon/stats-poller.js';
import { indexCloud } from '../../src/pipeline/cloud-index.js';
import { compileCloud } from '../../src/pipeline/compile.js';
import { PORT_VXLAN_INT, PORT_VXLAN_SW, validateCloud, type Cloud } from '../../src/topology/model.js';
import { makeHarness, SEED_NODES, type Harness } from './harness.js';
import { promtoolProblems } from './promtool.js';

const VMS = [
  { name: 'web-1', subnet: 'front', flavor: '4C8G', image: 'images:debian/12', gateway: 'gw-1' },
  { name: 'web-2', subnet: 'front', flavor: '4C8G', image: 'images:debian/12', gateway: 'gw-2' },
  { name: 'db-1', subnet: 'back', flavor: 'large', image: 'images:debian/12', az: 'AZ-1' },
  { name: 'db-2', subnet: 'back', flavor: '8C16G', image: 'images:debian/12', az: 'AZ-2' },
  { name: 'cache-1', subnet: 'back', flavor: '2C512M', image: 'images:alpine/3.20' },
  { name: 'tool-1', subnet: 'ops', flavor: 'tiny', image: 'images:alpine/3.20', node: 'host-3' },
];

let h: Harness;
let cloud: Cloud;

/** Port numbers as a switch would report them: the tunnel ports, then each local VM port. */
function portMaps(c: Cloud): Map<string, Map<string, number>> {
  const maps = new Map<string, Map<string, number>>();
  for (const n of c.nodes) maps.set(n.name, new Map([[PORT_VXLAN_INT, 1], [PORT_VXLAN_SW, 2]]));
  c.vms.forEach((v, i) => maps.get(v.node)!.set(v.port, 10 + i));
  return maps;
}

beforeAll(async () => {
  h = await makeHarness();
  for (const n of SEED_NODES) expect((await h.call('POST', '/api/v1/nodes', n)).status).toBe(201);
  for (const name of ['front', 'back', 'ops']) expect((await h.call('POST', '/api/v1/subnets', { name, prefixLength: 27 })).status).toBe(201);
  for (const vm of VMS) {
    const res = await h.call('POST', '/api/v1/vms', vm);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  }
  cloud = h.service.cloud();
});
afterAll(() => h.close());

describe("the seed's example cloud", () => {
  it('has the shape the seed describes', async () => {
    const subnets = (await h.call('GET', '/api/v1/subnets')).json.subnets;
    expect(subnets.map((s: { cidr: string }) => s.cidr)).toEqual(['192.168.20.32/27', '192.168.20.0/27', '192.168.20.64/27']); // back, front, ops
    const vms = (await h.call('GET', '/api/v1/vms')).json.vms as { name: string; node: string; gateway: string; cpus: number; memoryMiB: number }[];
    const by = new Map(vms.map((v) => [v.name, v]));
    expect(by.get('web-1')).toMatchObject({ gateway: 'gw-1', cpus: 4, memoryMiB: 8192 });
    expect(by.get('web-2')).toMatchObject({ gateway: 'gw-2', node: 'host-3' }); // gw-2 is in AZ-2: its AZ is preferred
    expect(by.get('db-1')!.node).toMatch(/^host-[12]$/);
    expect(by.get('db-2')).toMatchObject({ node: 'host-3', gateway: 'gw-2', cpus: 8, memoryMiB: 16384 });
    expect(by.get('cache-1')).toMatchObject({ cpus: 2, memoryMiB: 512 });
    expect(by.get('tool-1')).toMatchObject({ node: 'host-3' });
  });

  it('is a valid model', () => {
    expect(validateCloud(cloud)).toEqual([]);
    expect(cloud.nodes).toHaveLength(6);
    expect(cloud.vms).toHaveLength(VMS.length);
    expect(h.network.lastCloud).toEqual(cloud);
  });

  it('compiles into every node\'s pipeline, with flows for every VM', () => {
    const flows = compileCloud(indexCloud(cloud), portMaps(cloud));
    expect([...flows.keys()].sort()).toEqual(cloud.nodes.map((n) => n.name).sort());
    for (const [node, list] of flows) expect(list.length, node).toBeGreaterThan(0);
    const all = [...flows.values()].flat();
    for (const vm of cloud.vms) {
      const mac = Buffer.from(vm.mac.split(':').map((x) => parseInt(x, 16)));
      const mentions = all.filter((f) => f.match.some((m) => m.field === 'eth_dst' && Buffer.from(m.value).equals(mac)));
      expect(mentions.length, vm.name).toBeGreaterThan(0);
    }
  });

  it('scrapes metrics that pass promtool, with per-VM, per-subnet and per-node series', async () => {
    h.metrics.datapathConnected('host-1');
    h.metrics.flowModsSent('host-1', 42);
    h.metrics.bundleSent('host-1');
    h.metrics.observeResync('host-1', 0.12, 42);
    h.metrics.observeEchoRoundTrip('host-1', 0.0004);
    h.metrics.error('timeout');
    const source: StatsSource = {
      portStats: async (node) =>
        cloud.vms
          .filter((v) => v.node === node)
          .map((v, i) => ({ name: v.port, rxPackets: 10 + i, txPackets: 20, rxBytes: 1000, txBytes: 2000, rxDropped: 0, txDropped: 1, rxErrors: 0, txErrors: 0 })),
      tableStats: async () => [
        { table: 0, flows: 4, lookups: 100, matched: 90, flowPackets: 90, flowBytes: 9000 },
        { table: 10, flows: 12, lookups: 90, matched: 80, flowPackets: 80, flowBytes: 8000 },
      ],
    };
    await new StatsPoller({ source, metrics: h.metrics, cloud: () => h.service.cloud() }).pollOnce();
    const scrape = (await h.app.inject({ url: '/metrics' })).body;
    expect(scrape).toContain('minicloud_vm_packets_total{vm="web-1",subnet="front",node="');
    expect(scrape).toContain('minicloud_subnet_bytes_total{subnet="back",direction="rx"} 3000');
    expect(scrape).toMatch(/minicloud_node_vm_packets_total\{node="host-3",direction="tx"\} \d+/);
    expect(scrape).toContain('minicloud_table_flows{node="gw-1",table="10"} 12');
    expect(scrape).toContain('minicloud_vms{state="running"} 6');
    expect(scrape).toContain('minicloud_subnet_addresses_free{subnet="front"} 27');
    expect(promtoolProblems(scrape)).toEqual([]);
  });
});
