// A VM create that fails on the node, and whose cleanup fails or times out too, must not free the VM's IP and MAC
// while the node may still hold half of it (prefix `mcv`). The real parts: the SQLite store, CloudService, the netns
// VM driver on a lab node (its own namespace and OVS). The failures are injected into the node's executor
// (FaultyExecutor): a real rollback failure (an ovs-vsctl that fails, a del-port that hangs) cannot be provoked on
// demand.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendFailed, CloudService, Conflict, type VmBackend } from '../../src/cloud/index.js';
import { driverSpec } from '../../src/daemon/vm-backend.js';
import { LocalExecutor } from '../../src/hosts/local.js';
import { NetnsVmDriver } from '../../src/hosts/vm/netns.js';
import { cleanupLab, namespacesWith } from '../../src/lab/lab.js';
import { openSqliteStore, type SqliteStore } from '../../src/topology/sqlite-store.js';
import { FakeNetwork } from '../api/fakes.js';
import { waitFor } from '../helpers/wait.js';
import { cleanup, startLabNode, type LabNode } from '../hosts/helpers/lab.js';
import { FaultyExecutor } from '../daemon/faults.js';

const P = 'mcv';
const NODE = `${P}-n1`;
const VM_NETNS = `${P}v-`;
let dir: string;
let node: LabNode;
let faulty: FaultyExecutor;
let driver: NetnsVmDriver;
let store: SqliteStore;
const host = new LocalExecutor();

const backend: VmBackend = {
  create: async (spec) => void (await driver.create(driverSpec(spec))),
  start: (spec) => driver.start(spec.name),
  stop: (spec) => driver.stop(spec.name),
  delete: (spec) => driver.delete(spec.name),
};

function service(timeouts: { createMs?: number; deleteMs?: number } = {}): CloudService {
  return new CloudService({
    store,
    network: new FakeNetwork(),
    backend,
    flows: { flows: () => Promise.resolve(undefined) },
    datapaths: { list: () => [] },
    resyncer: { resync: () => Promise.resolve({ connected: false }) },
    backendTimeouts: timeouts,
  });
}

/** The error a step rejects with (it must reject). */
async function failure(step: Promise<unknown>): Promise<Error> {
  return step.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: Error) => e,
  );
}

const create = (s: CloudService, name: string) => s.createVm({ name, subnet: 'front', flavor: 'tiny', image: 'busybox', node: NODE });

/** What of VM `name` (port `port`) is on the node: its namespace, its OVS port (with the MAC it claims), its record. */
async function onNode(name: string, port: string): Promise<string[]> {
  const found: string[] = [];
  if ((await namespacesWith(`${VM_NETNS}${name}`)).includes(`${VM_NETNS}${name}`)) found.push('namespace');
  if ((await node.ovs.vsctl('list-ports', 'br0')).split('\n').includes(port)) {
    found.push(`OVS port (attached-mac ${(await node.ovs.vsctl('get', 'interface', port, 'external_ids:attached-mac')).trim()})`);
  }
  if (existsSync(join(dir, 'vms', `${name}.json`))) found.push('record');
  return found;
}

/** Retries a delete refused because the VM is busy (a backend step given up on still runs), within 20 s. */
async function deleteOnceIdle(s: CloudService, name: string): Promise<string> {
  return waitFor(
    `${name} no longer busy`,
    () => s.deleteVm(name).then(
      () => 'deleted',
      (e: Error) => `${e.name}: ${e.message}`,
    ),
    (r) => !r.includes('is busy'),
    20_000,
    250,
  );
}

beforeAll(async () => {
  await cleanupLab(P);
  dir = mkdtempSync(join(tmpdir(), `${P}-`));
  node = await startLabNode(NODE);
  await node.ovs.addBridge('br0', { protocols: ['OpenFlow13'] });
  faulty = new FaultyExecutor(node.exec);
  driver = new NetnsVmDriver({ node: faulty, host, nodeNetns: NODE, stateDir: join(dir, 'vms'), netnsPrefix: VM_NETNS });
  store = openSqliteStore(join(dir, 'cloud.db'));
  const s = service();
  await s.addNode({ name: `${P}-gw`, roles: ['gateway'], underlayIp: '10.0.0.1' });
  await s.addNode({ name: `${P}-sw`, roles: ['switch'], underlayIp: '10.0.0.3' });
  await s.addNode({ name: NODE, roles: ['compute'], underlayIp: '10.0.0.2', cpus: 8, memoryMiB: 8192 });
  await s.createSubnet({ name: 'front' });
}, 60_000);

afterAll(async () => {
  for (const vm of store?.read((r) => r.listVms()) ?? []) await driver.delete(vm.name).catch(() => undefined);
  store?.close();
  await cleanup(node?.ovs);
  await cleanupLab(P);
  if (dir) rmSync(dir, { recursive: true, force: true });
  expect(await namespacesWith(`${P}-`, VM_NETNS)).toEqual([]);
}, 60_000);

describe('a VM create that fails on the node', () => {
  it('and whose cleanup fails: kept in error with its IP and MAC, never handed out again, freed once a delete cleans up', async () => {
    const s = service();
    // The create fails after its port is on br0; the driver's own rollback and then the service's cleanup both fail
    // at del-port: the node keeps an OVS port claiming the VM's MAC.
    faulty.inject(/^ethtool -K mcvm/, 1);
    faulty.inject(/del-port/, 2);
    const err = await failure(create(s, 'a'));
    const a = s.getVm('a');
    const left = await onNode('a', a.port);
    console.log(`create a: ${err.message}\n  record: ${a.state} ${a.ip} ${a.mac}: ${a.error}\n  on the node: ${left.join(', ')}`);
    expect(err).toBeInstanceOf(BackendFailed);
    expect(err.message).toMatch(/creating VM 'a' on node 'mcv-n1' failed: .*ethtool.*cleaning up the node failed too \(.*del-port.*\): the VM is kept in state error with its IP and MAC reserved; delete it to retry the cleanup/);
    expect(a).toMatchObject({ state: 'error', error: expect.stringMatching(/^create failed: .*ethtool.*; cleanup failed: .*del-port.*; cleanup pending: delete the VM to retry it$/) });
    expect(left).toContain(`OVS port (attached-mac "${a.mac}")`);

    // A new VM gets other addresses, and is made for real.
    const b = (await create(s, 'b')).value;
    expect(b.state).toBe('running');
    expect(b.ip).not.toBe(a.ip);
    expect(b.mac).not.toBe(a.mac);
    expect(b.port).not.toBe(a.port);

    // The first delete fails once more: still error, addresses still held; the answer says so.
    faulty.inject(/del-port/, 1);
    const again = await failure(s.deleteVm('a'));
    expect(again).toBeInstanceOf(BackendFailed);
    expect(again.message).toMatch(/deleting VM 'a' on node 'mcv-n1' failed: .*del-port.*: the VM is kept in state error with its IP and MAC reserved; delete it again to retry/);
    expect(s.getVm('a')).toMatchObject({ state: 'error', ip: a.ip, mac: a.mac, error: expect.stringMatching(/^delete failed: .*del-port/) });
    expect((await create(s, 'c')).value.ip).not.toBe(a.ip);

    // The next one cleans the node up; only then are a's addresses free.
    await s.deleteVm('a');
    expect(s.listVms().map((v) => v.name)).toEqual(['b', 'c']);
    expect(await onNode('a', a.port)).toEqual([]);
    const d = (await create(s, 'd')).value;
    console.log(`after the delete: d got ${d.ip} ${d.mac} (a had ${a.ip} ${a.mac})`);
    expect(d.ip).toBe(a.ip);
    expect(faulty.faults.every((f) => f.times === 0)).toBe(true);
    for (const vm of ['b', 'c', 'd']) await s.deleteVm(vm);
    expect(await onNode('b', b.port)).toEqual([]);
  }, 90_000);

  it('and whose cleanup times out: kept in error, busy until the cleanup ends, then deletable', async () => {
    const s = service({ deleteMs: 1000 });
    // The driver's rollback waits 2.5 s at del-port and then works; the service's cleanup does the same, past its 1 s.
    faulty.inject(/^ethtool -K mcvm/, 1);
    faulty.inject(/del-port/, 2, 2500);
    const err = await failure(create(s, 't'));
    const t = s.getVm('t');
    console.log(`create t: ${err.message}\n  record: ${t.state}: ${t.error}`);
    expect(err).toBeInstanceOf(BackendFailed);
    expect(err.message).toContain("cleaning up the node failed too (cleaning up VM 't' on node 'mcv-n1' timed out after 1 s (it may still be running on the node))");
    expect(t).toMatchObject({ state: 'error', error: expect.stringContaining('cleanup pending') });
    // The cleanup still runs on the node: nothing else may touch the VM meanwhile.
    const busy = await failure(s.deleteVm('t'));
    expect(busy).toBeInstanceOf(Conflict);
    expect(busy.message).toBe("VM 't' is busy (cleanup after a failed create in progress)");
    expect(s.listVms().map((v) => v.ip)).toContain(t.ip);
    expect(await deleteOnceIdle(s, 't')).toBe('deleted');
    expect(await onNode('t', t.port)).toEqual([]);
    expect(s.listVms()).toEqual([]);
  }, 60_000);

  it('that times out itself: kept in error while the create may still run on the node, deletable once it ended', async () => {
    const s = service({ createMs: 1000 });
    faulty.inject(/add-port/, 1, 2500);
    const err = await failure(create(s, 'slow'));
    const slow = s.getVm('slow');
    console.log(`create slow: ${err.message}\n  record: ${slow.state}: ${slow.error}`);
    expect(err).toBeInstanceOf(BackendFailed);
    expect(err.message).toBe(
      "creating VM 'slow' on node 'mcv-n1' timed out after 1 s (it may still be running on the node): VM 'slow' is kept in state error with its IP and MAC reserved; delete it once the create has ended to clean up the node",
    );
    expect(slow.state).toBe('error');
    expect((await failure(s.deleteVm('slow'))).message).toBe("VM 'slow' is busy (create in progress)");
    // The create went on and made the VM; the delete that follows removes it all.
    expect(await deleteOnceIdle(s, 'slow')).toBe('deleted');
    expect(await onNode('slow', slow.port)).toEqual([]);
  }, 60_000);
});
