// Gateway failover in the domain: which VMs move where (planFailover, pure), and a run through the real SQLite store
// and the real pipeline compile: the binding is durable, only the VMs' own nodes are applied, and on those only the
// moved VMs' egress flows differ.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudService, planFailover, type GatewayHealth } from '../../src/cloud/index.js';
import { formatFlow } from '../../src/openflow/index.js';
import { indexCloud } from '../../src/pipeline/cloud-index.js';
import { compileCloud } from '../../src/pipeline/compile.js';
import { referencePorts } from '../../src/topology/examples.js';
import type { Cloud } from '../../src/topology/model.js';
import type { NodeRecord, VmRecord } from '../../src/topology/records.js';
import { openSqliteStore, type SqliteStore } from '../../src/topology/sqlite-store.js';
import { FakeBackend, FakeNetwork } from '../api/fakes.js';

const t = '2026-01-01T00:00:00.000Z';
const node = (name: string, roles: NodeRecord['roles'], underlayIp: string, az?: string): NodeRecord => ({
  name,
  roles,
  underlayIp,
  ...(az !== undefined && { az }),
  cpus: 64,
  memoryMiB: 65536,
  createdAt: t,
});
const NODES = [
  node('gw-a1', ['gateway'], '10.0.0.1', 'AZ-1'),
  node('gw-a2', ['gateway'], '10.0.0.2', 'AZ-1'),
  node('gw-b1', ['gateway'], '10.0.0.3', 'AZ-2'),
  node('c1', ['compute'], '10.0.0.11', 'AZ-1'),
  node('c2', ['compute'], '10.0.0.12', 'AZ-2'),
  node('sw', ['switch'], '10.0.0.100'),
];

let n = 0;
const vm = (name: string, host: string, gateway: string, state: VmRecord['state'] = 'running'): VmRecord => {
  n++;
  return {
    name,
    subnet: 'front',
    node: host,
    gateway,
    flavor: 'tiny',
    cpus: 1,
    memoryMiB: 256,
    image: 'busybox',
    ip: `192.168.20.${n + 1}`,
    mac: `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`,
    port: `mcvm${n}`,
    state,
    createdAt: t,
  };
};

/** Health with these gateways failed (datapath) or down (not connected), and these `node>gateway` BFD pairs down. */
function health(opts: { failed?: string[]; down?: string[]; bfdDown?: string[] } = {}): GatewayHealth {
  const failed = new Set(opts.failed ?? []);
  const down = new Set([...(opts.down ?? []), ...failed]);
  const bfd = new Set(opts.bfdDown ?? []);
  return { failed, up: (g) => !down.has(g), bfdDown: (node, g) => bfd.has(`${node}>${g}`) };
}

let dir: string;
let store: SqliteStore;
let network: FakeNetwork;
let service: CloudService;

beforeEach(async () => {
  n = 0;
  dir = mkdtempSync(join(tmpdir(), 'mc-gwfail-'));
  store = openSqliteStore(join(dir, 'cloud.db'));
  network = new FakeNetwork();
  service = new CloudService({
    store,
    network,
    backend: new FakeBackend(),
    flows: { flows: () => Promise.resolve(undefined) },
    datapaths: { list: () => [] },
    resyncer: { resync: () => Promise.resolve({ connected: false }) },
  });
  await store.write((w) => {
    for (const x of NODES) w.insertNode(x);
    w.insertSubnet({ name: 'front', cidr: '192.168.20.0/24', gatewayIp: '192.168.20.1', vni: 7, createdAt: t });
  });
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (...vms: VmRecord[]) => store.write((w) => vms.forEach((v) => w.insertVm(v)));
const plan = (h: GatewayHealth) => store.read((r) => planFailover(r, h));

describe('planFailover', () => {
  it("moves a failed gateway's VMs to a gateway of its own AZ first (fewest VMs bound, then by name)", async () => {
    await insert(vm('v1', 'c1', 'gw-a1'), vm('v2', 'c1', 'gw-a1'), vm('v3', 'c2', 'gw-a1'), vm('other', 'c2', 'gw-b1'));
    expect(plan(health({ failed: ['gw-a1'] }))).toEqual({
      moves: [
        { vm: 'v1', project: 'default', node: 'c1', from: 'gw-a1', to: 'gw-a2', reason: 'datapath' },
        { vm: 'v2', project: 'default', node: 'c1', from: 'gw-a1', to: 'gw-a2', reason: 'datapath' },
        { vm: 'v3', project: 'default', node: 'c2', from: 'gw-a1', to: 'gw-a2', reason: 'datapath' },
      ],
      stranded: [],
    });
    // Nothing failed: nothing to do.
    expect(plan(health())).toEqual({ moves: [], stranded: [] });
  });

  it('then the AZ of the VM\'s node, then any AZ; never to a gateway that is down', async () => {
    await insert(vm('v1', 'c2', 'gw-a1'), vm('v2', 'c1', 'gw-a1'));
    expect(plan(health({ failed: ['gw-a1'], down: ['gw-a2'] })).moves.map((m) => [m.vm, m.to])).toEqual([
      ['v1', 'gw-b1'], // c2 is in AZ-2
      ['v2', 'gw-b1'], // nothing left in AZ-1
    ]);
    expect(plan(health({ failed: ['gw-a1', 'gw-b1'], down: ['gw-a2'] }))).toEqual({
      moves: [],
      stranded: [
        { vm: 'v1', project: 'default', node: 'c2', gateway: 'gw-a1', reason: 'datapath' },
        { vm: 'v2', project: 'default', node: 'c1', gateway: 'gw-a1', reason: 'datapath' },
      ],
    });
  });

  it("BFD down moves only that node's VMs, never to a gateway BFD-down from there", async () => {
    await insert(vm('v1', 'c1', 'gw-a1'), vm('v2', 'c2', 'gw-a1'));
    expect(plan(health({ bfdDown: ['c1>gw-a1', 'c1>gw-a2'] }))).toEqual({
      moves: [{ vm: 'v1', project: 'default', node: 'c1', from: 'gw-a1', to: 'gw-b1', reason: 'bfd' }],
      stranded: [],
    });
    // A node that reaches no gateway (its own underlay is down, say) keeps its bindings.
    expect(plan(health({ bfdDown: ['c1>gw-a1', 'c1>gw-a2', 'c1>gw-b1'] })).stranded).toEqual([{ vm: 'v1', project: 'default', node: 'c1', gateway: 'gw-a1', reason: 'bfd' }]);
  });

  it('leaves VMs being deleted, and VMs on the failed gateway itself', async () => {
    await store.write((w) => w.insertNode(node('cg', ['compute', 'gateway'], '10.0.0.20', 'AZ-1')));
    await insert(vm('gone', 'c1', 'gw-a1', 'deleting'), vm('local', 'cg', 'cg'), vm('stopped', 'c1', 'gw-a1', 'stopped'));
    expect(plan(health({ failed: ['gw-a1', 'cg'] })).moves.map((m) => m.vm)).toEqual(['stopped']);
  });
});

describe('GatewayFailover.run', () => {
  it('records the new binding in the store, applies only the VMs\' nodes, where only their egress flows change', async () => {
    await insert(vm('v1', 'c1', 'gw-a1'), vm('v2', 'c2', 'gw-a2'), vm('v3', 'c2', 'gw-a1'));
    const before = compile(service.cloud());
    const out = await service.gatewayFailover.run(health({ failed: ['gw-a1'] }));
    expect(out.moves.map((m) => `${m.vm}:${m.from}->${m.to}`)).toEqual(['v1:gw-a1->gw-a2', 'v3:gw-a1->gw-a2']);
    expect(out.network).toEqual({ confirmed: ['c1', 'c2'], pending: [] });
    expect(network.applies.map((a) => a.nodes)).toEqual([['c1', 'c2']]);
    expect(service.listVms().map((v) => [v.name, v.gateway])).toEqual([
      ['v1', 'gw-a2'],
      ['v2', 'gw-a2'],
      ['v3', 'gw-a2'],
    ]);
    const after = compile(service.cloud());
    for (const [name, flows] of before) {
      const gone = flows.filter((f) => !after.get(name)!.includes(f));
      const added = after.get(name)!.filter((f) => !flows.includes(f));
      if (name === 'c1' || name === 'c2') {
        // One egress flow per moved VM: same match, the new gateway's tunnel address (10.0.0.2 = 0xa000002).
        expect(gone.length, name).toBe(1);
        expect(added.length, name).toBe(gone.length);
        for (const f of added) expect(f).toMatch(/priority=5,.*dl_dst=12:00:00:ff:ff:ff.*load:0xa000002->NXM_NX_TUN_IPV4_DST/);
      } else {
        expect({ name, gone, added }).toEqual({ name, gone: [], added: [] });
      }
    }
    // A second run finds nothing to do and writes nothing.
    const revision = service.revision();
    expect((await service.gatewayFailover.run(health({ failed: ['gw-a1'] }))).moves).toEqual([]);
    expect(service.revision()).toBe(revision);
    // The binding outlives this process: another store instance on the same file reads it.
    const again = openSqliteStore(join(dir, 'cloud.db'));
    expect(again.read((r) => r.listVms({ gateway: 'gw-a1' }))).toEqual([]);
    again.close();
  });
});

describe('GatewayFailover.rebind (PUT /api/v1/vms/NAME/gateway)', () => {
  it("binds a VM to the gateway asked for, applying only its node; refuses what is no gateway and a VM being deleted", async () => {
    await insert(vm('v1', 'c1', 'gw-a2'), vm('gone', 'c2', 'gw-a1', 'deleting'));
    const res = await service.setVmGateway('v1', 'gw-a1');
    expect(res.value.gateway).toBe('gw-a1');
    expect(network.applies.map((a) => a.nodes)).toEqual([['c1']]);
    expect(store.read((r) => r.getVm({ name: 'v1' })?.gateway)).toBe('gw-a1');
    // The same again: nothing written, nothing applied.
    const revision = service.revision();
    await service.setVmGateway('v1', 'gw-a1');
    expect(service.revision()).toBe(revision);
    expect(network.applies).toHaveLength(1);
    await expect(service.setVmGateway('v1', 'c2')).rejects.toThrow("node 'c2' is not a gateway");
    await expect(service.setVmGateway('v1', 'nope')).rejects.toThrow("no node named 'nope'");
    await expect(service.setVmGateway('gone', 'gw-a2')).rejects.toThrow('being deleted');
    await expect(service.setVmGateway('missing', 'gw-a2')).rejects.toThrow(/missing/);
    expect(service.revision()).toBe(revision);
  });
});

function compile(cloud: Cloud): Map<string, string[]> {
  const flows = compileCloud(indexCloud(cloud), referencePorts(cloud));
  return new Map([...flows].map(([k, v]) => [k, v.map(formatFlow)] as const));
}
