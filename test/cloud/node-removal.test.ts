// A node removal whose undo on the node has not gone through is kept in the store (node_removals), retried with
// backoff, and retried again after a controller restart, until it goes through (prefix `mcvr`). The real parts:
// SQLite, CloudService, the Provisioner, and in the first test a lab node (own namespace and OVS) bootstrapped and
// undone by src/hosts. The node being unreachable is injected into its executor (FaultyExecutor), as a down SSH
// target would fail each command; the decisions around a pending removal (a node added back, another node on the
// same host) are checked with fake provisioning operations.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudService, Conflict, type AddNodeInput } from '../../src/cloud/index.js';
import { storeRemovalLedger } from '../../src/daemon/removal-ledger.js';
import { Provisioner, type ProvisioningOps, type ProvisioningSettings } from '../../src/daemon/provisioning.js';
import type { Executor } from '../../src/hosts/executor.js';
import { cleanupLab, namespacesWith } from '../../src/lab/lab.js';
import type { NodeRecord } from '../../src/topology/records.js';
import { openSqliteStore, type SqliteStore } from '../../src/topology/sqlite-store.js';
import { FakeBackend, FakeDatapaths } from '../api/fakes.js';
import { makeHarness } from '../api/harness.js';
import { waitFor } from '../helpers/wait.js';
import { cleanup, startLabNode, type LabNode } from '../hosts/helpers/lab.js';
import { FaultyExecutor } from '../daemon/faults.js';

const P = 'mcvr';
let dir: string;

interface Controller {
  readonly store: SqliteStore;
  readonly service: CloudService;
  readonly provisioner: Provisioner;
  readonly errors: string[];
  stop(): Promise<void>;
}

/**
 * What startServer wires for node provisioning, on the store file in `dir`: the Provisioner with the store's removal
 * ledger, CloudService recording each removal's undo in the transaction that deletes the node. Started as the
 * server starts it: one notify.
 */
function startController(file: string, settings: ProvisioningSettings, executorFor: (n: NodeRecord) => Executor, ops?: ProvisioningOps): Controller {
  const store = openSqliteStore(join(dir, file));
  const ref: { service?: CloudService } = {};
  const errors: string[] = [];
  const log = { info: () => undefined, warn: () => undefined, error: (o: object) => void errors.push(JSON.stringify(o)) };
  const provisioner = new Provisioner({
    records: () => ref.service!.records(),
    revision: () => ref.service!.revision(),
    removals: storeRemovalLedger(store),
    settings,
    executorFor,
    ...(ops && { ops }),
    log,
    retryMs: 100,
    // Failures pile up while the node is unreachable: a capped backoff keeps the next retry within the test's waits.
    retryMaxMs: 2_000,
  });
  const datapaths = new FakeDatapaths();
  const service = new CloudService({
    store,
    network: { apply: (_cloud, nodes) => (provisioner.notify(), Promise.resolve({ confirmed: [], pending: [...nodes] })) },
    backend: new FakeBackend(),
    flows: datapaths,
    datapaths,
    resyncer: datapaths,
    provisioning: (n) => provisioner.status(n),
    nodeUndo: (n, records) => provisioner.undoFor(n, records),
  });
  ref.service = service;
  provisioner.notify();
  return {
    store,
    service,
    provisioner,
    errors,
    stop: async () => {
      await provisioner.stop();
      store.close();
    },
  };
}

const settingsIn = (stateRoot: string): ProvisioningSettings => ({
  // Nothing listens there: the bridge's controller target only has to be set, not reached.
  controllerFor: () => ['tcp:127.0.0.1:9'],
  overlay: '192.168.20.0/22',
  stateDirFor: (node) => join(stateRoot, node),
});

beforeAll(async () => {
  await cleanupLab(P);
  dir = mkdtempSync(join(tmpdir(), `${P}-`));
});

afterAll(async () => {
  await cleanupLab(P);
  if (dir) rmSync(dir, { recursive: true, force: true });
  expect(await namespacesWith(`${P}-`, `${P}v-`)).toEqual([]);
});

describe('a node removal whose undo fails, on a real node', () => {
  const NODE = `${P}-gw`;
  let node: LabNode | undefined;
  let controller: Controller | undefined;

  afterAll(async () => {
    await controller?.stop().catch(() => undefined);
    await cleanup(node?.ovs);
  });

  /** What the gateway's bootstrap made, as its namespace shows it. */
  async function footprint(): Promise<{ bridges: string[]; gatewayAddress: boolean; snatRules: number }> {
    const bridges = (await node!.ovs.vsctl('list-br')).split('\n').filter(Boolean);
    const addrs = (await node!.exec.run(['ip', '-4', '-o', 'addr', 'show'])).stdout;
    const nat = (await node!.exec.run(['iptables', '-w', '5', '-t', 'nat', '-S'])).stdout;
    return { bridges, gatewayAddress: addrs.includes('192.168.20.1/27'), snatRules: nat.split('\n').filter((l) => l.includes('MINICLOUD')).length };
  }

  it('survives a controller restart and goes through once the node is reachable; nothing is left pending', async () => {
    node = await startLabNode(NODE);
    const faulty = new FaultyExecutor(node.exec);
    const settings = settingsIn(join(dir, 'state'));
    controller = startController('restart.db', settings, () => faulty);
    await controller.service.addNode({ name: NODE, roles: ['gateway'], underlayIp: '10.0.0.1' });
    await controller.service.createSubnet({ name: 'front' });
    await waitFor('the gateway provisioned', () => controller!.provisioner.status(NODE)?.state, (s) => s === 'ready', 30_000, 100);
    const before = await footprint();
    expect(before).toMatchObject({ bridges: ['br0'], gatewayAddress: true });
    expect(before.snatRules).toBeGreaterThan(0);

    // The node goes down; it is removed: the removal is in the store at once, its undo fails and is counted.
    faulty.unreachable = true;
    await controller.service.removeNode(NODE);
    expect(controller.service.listNodes().map((n) => n.name)).toEqual([]);
    expect(controller.service.listNodeRemovals()).toEqual([expect.objectContaining({ name: NODE, roles: ['gateway'], underlayIp: '10.0.0.1' })]);
    const failed = await waitFor('a failed undo', () => controller!.service.listNodeRemovals()[0], (r) => (r?.attempts ?? 0) >= 1, 15_000, 50);
    expect(failed?.lastError).toContain('ECONNREFUSED');
    expect(controller.provisioner.samples()).toEqual([expect.objectContaining({ node: NODE, state: 'removing' })]);

    // The controller stops (a crash would do the same: the removal was committed with the node's deletion).
    await controller.stop();
    const stoppedAt = controller.store;
    controller = undefined;
    expect(() => stoppedAt.read((r) => r.revision())).toThrow();

    // Started again on the same file, with the node still down: the undo is tried at once, and fails again.
    controller = startController('restart.db', settings, () => faulty);
    const attemptsBefore = failed!.attempts;
    const retried = await waitFor('an undo retried after the restart', () => controller!.service.listNodeRemovals()[0], (r) => (r?.attempts ?? 0) > attemptsBefore, 15_000, 50);
    expect(await footprint()).toEqual(before);

    // The node is back: the next retry (backoff) undoes it, and the store forgets the removal.
    faulty.unreachable = false;
    const t0 = Date.now();
    await waitFor('the removal done', () => controller!.service.listNodeRemovals(), (r) => r.length === 0, 20_000, 50);
    const after = await footprint();
    console.log(
      `undo of ${NODE}: ${retried?.attempts} failed attempts across a restart (last: ${retried?.lastError}); went through ${Date.now() - t0} ms after the node came back; ` +
        `before ${JSON.stringify(before)}, after ${JSON.stringify(after)}; commands refused while down: ${faulty.log.filter((l) => l.endsWith('unreachable')).length}`,
    );
    expect(after).toEqual({ bridges: [], gatewayAddress: false, snatRules: 0 });
    expect(controller.store.read((r) => r.listNodeRemovals())).toEqual([]);
    await waitFor('no removal running', () => controller!.provisioner.samples(), (s) => s.length === 0, 5_000, 50);
  }, 90_000);
});

describe('around a pending removal', () => {
  const gw = (over: Partial<AddNodeInput> = {}): AddNodeInput => ({ name: 'gw-1', roles: ['gateway'], underlayIp: '10.0.0.1', sshTarget: 'root@10.0.0.1', ...over });

  /** Fake operations that record where they ran (`op node@target`); `down` holds the targets that fail. */
  function fakeOps() {
    const calls: string[] = [];
    const down = new Set<string>();
    const where = (e: Executor): string => e.target;
    const ops: ProvisioningOps = {
      bootstrap: async (e, spec) => {
        calls.push(`bootstrap ${spec.name}@${where(e)}`);
        if (down.has(where(e))) throw new Error(`[ssh:${where(e)}] connect ECONNREFUSED`);
        return { changes: ['made'] };
      },
      remove: async (e, spec) => {
        calls.push(`remove ${spec.name}@${where(e)}`);
        if (down.has(where(e))) throw new Error(`[ssh:${where(e)}] connect ECONNREFUSED`);
        return { changes: ['undone'] };
      },
      syncReservations: () => Promise.resolve([]),
    };
    const executorFor = (n: NodeRecord): Executor => ({ target: n.sshTarget ?? n.name, run: () => Promise.reject(new Error('not used')), close: () => Promise.resolve() });
    return { ops, calls, down, executorFor };
  }

  async function removedWhileDown(file: string) {
    const f = fakeOps();
    const c = startController(file, settingsIn('/var/lib/minicloud'), f.executorFor, f.ops);
    await c.service.addNode(gw());
    await waitFor('gw-1 ready', () => c.provisioner.status('gw-1')?.state, (s) => s === 'ready', 5_000, 10);
    f.down.add('root@10.0.0.1');
    await c.service.removeNode('gw-1');
    await waitFor('a failed undo', () => c.service.listNodeRemovals()[0]?.attempts ?? 0, (n) => n >= 1, 5_000, 10);
    return { ...f, c };
  }

  it('the same node added back on the same host: the pending undo is dropped, the host is bootstrapped in full', async () => {
    const { c, calls, down } = await removedWhileDown('same-host.db');
    down.clear();
    await c.service.addNode(gw());
    await waitFor('gw-1 ready again', () => c.provisioner.status('gw-1')?.state, (s) => s === 'ready', 5_000, 10);
    expect(c.service.listNodeRemovals()).toEqual([]);
    expect(calls.filter((x) => x.startsWith('bootstrap')).at(-1)).toBe('bootstrap gw-1@root@10.0.0.1');
    expect(calls.at(-1)).toBe('bootstrap gw-1@root@10.0.0.1');
    await c.stop();
  });

  it('the same node added back at another host: the old host is undone first, then the new one set up', async () => {
    const { c, calls, down } = await removedWhileDown('new-host.db');
    await c.service.addNode(gw({ underlayIp: '10.0.0.2', sshTarget: 'root@10.0.0.2' }));
    // While the old host is down the new node waits, failed with the old host's error; then both go through.
    const failed = await waitFor('gw-1 failed on the old host', () => c.provisioner.status('gw-1'), (s) => s?.state === 'failed', 5_000, 10);
    expect(failed?.error).toBe('undoing its earlier removal from root@10.0.0.1 must go first: [ssh:root@10.0.0.1] connect ECONNREFUSED');
    expect(calls).not.toContain('bootstrap gw-1@root@10.0.0.2');
    down.clear();
    await waitFor('gw-1 ready at the new host', () => c.provisioner.status('gw-1')?.state, (s) => s === 'ready', 5_000, 10);
    const tail = calls.slice(calls.lastIndexOf('remove gw-1@root@10.0.0.1'));
    expect(tail).toEqual(['remove gw-1@root@10.0.0.1', 'bootstrap gw-1@root@10.0.0.2']);
    expect(c.service.listNodeRemovals()).toEqual([]);
    await c.stop();
  });

  it('another node on the host whose undo is pending is refused (the undo would tear it down), and accepted once it went through', async () => {
    const { c, down } = await removedWhileDown('other-name.db');
    const other = gw({ name: 'gw-2' });
    const refused = await c.service.addNode(other).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Conflict);
    expect((refused as Error).message).toMatch(
      /^name: node 'gw-1' was removed from that host \(root@10\.0\.0\.1\) and undoing its bootstrap there is still pending \(last attempt: .*ECONNREFUSED\): add this node once that is done, or add it back as 'gw-1'$/,
    );
    // Same host by SSH target even at another underlay address (user and port aside).
    expect(await c.service.addNode(gw({ name: 'gw-3', underlayIp: '10.0.0.3', sshTarget: 'admin@10.0.0.1:2222' })).catch((e: Error) => e.name)).toBe('Conflict');
    down.clear();
    await waitFor('the removal done', () => c.service.listNodeRemovals(), (r) => r.length === 0, 5_000, 10);
    expect((await c.service.addNode(other)).value.name).toBe('gw-2');
    await c.stop();
  });

  it('a node removed again while an earlier removal at another host is pending keeps the earlier one (the newer was never set up)', async () => {
    const { c, calls, down } = await removedWhileDown('twice.db');
    await c.service.addNode(gw({ underlayIp: '10.0.0.2', sshTarget: 'root@10.0.0.2' }));
    await c.service.removeNode('gw-1');
    expect(c.service.listNodeRemovals()).toEqual([expect.objectContaining({ name: 'gw-1', sshTarget: 'root@10.0.0.1' })]);
    down.clear();
    await waitFor('the removal done', () => c.service.listNodeRemovals(), (r) => r.length === 0, 5_000, 10);
    expect(calls).not.toContain('bootstrap gw-1@root@10.0.0.2');
    await c.stop();
  });

  it('a host gone for good: a second remove says the undo is pending (409); with force it is dropped and no longer tried', async () => {
    const { c, calls, down } = await removedWhileDown('force.db');
    const again = await c.service.removeNode('gw-1').catch((e: Error) => e);
    expect(again).toBeInstanceOf(Conflict);
    expect((again as Error).message).toMatch(
      /^node 'gw-1' is already removed; undoing its bootstrap on root@10\.0\.0\.1 is pending \(\d+ failed attempts, last: .*ECONNREFUSED\) and retried until it goes through; remove it with force if that host is gone for good$/,
    );
    await c.service.removeNode('gw-1', {}, { force: true });
    expect(c.service.listNodeRemovals()).toEqual([]);
    await waitFor('the removal no longer run', () => c.provisioner.samples(), (x) => x.length === 0, 5_000, 10);
    const tries = calls.length;
    await new Promise((r) => setTimeout(r, 500)); // past the next retry it would have had (backoff 100 ms doubling)
    expect(calls.length).toBe(tries);
    // Another node may now use that host; removed with force, nothing is kept to undo on it.
    down.clear();
    await c.service.addNode(gw({ name: 'gw-2' }));
    await waitFor('gw-2 ready', () => c.provisioner.status('gw-2')?.state, (x) => x === 'ready', 5_000, 10);
    await c.service.removeNode('gw-2', {}, { force: true });
    expect(c.service.listNodeRemovals()).toEqual([]);
    await waitFor('gw-2 forgotten', () => c.provisioner.samples(), (x) => x.length === 0, 5_000, 10);
    expect(calls.filter((x) => x.startsWith('remove gw-2'))).toEqual([]);
    await c.stop();
  });

  it('GET /api/v1/nodes lists pending removals beside the nodes; DELETE ?force=true drops one', async () => {
    const h = await makeHarness();
    try {
      const node: NodeRecord = { name: 'gw-9', roles: ['gateway'], underlayIp: '10.0.0.9', sshTarget: 'root@10.0.0.9', cpus: 0, memoryMiB: 0, createdAt: '2026-01-01T00:00:00.000Z' };
      const at = '2026-01-02T00:00:00.000Z';
      await h.store.write((w) => w.putNodeRemoval({ node, undo: '{}', requestedAt: at, attempts: 3, lastError: 'connect ECONNREFUSED', nextAttemptAt: at }));
      const res = await h.call('GET', '/api/v1/nodes');
      expect(res.status).toBe(200);
      expect(res.json).toEqual({
        nodes: [],
        removals: [{ name: 'gw-9', roles: ['gateway'], underlayIp: '10.0.0.9', sshTarget: 'root@10.0.0.9', requestedAt: at, attempts: 3, lastError: 'connect ECONNREFUSED', nextAttemptAt: at }],
      });
      const refused = await h.call('DELETE', '/api/v1/nodes/gw-9');
      expect(refused.status).toBe(409);
      expect(refused.json.error.message).toContain("node 'gw-9' is already removed; undoing its bootstrap on root@10.0.0.9 is pending (3 failed attempts, last: connect ECONNREFUSED)");
      expect((await h.call('DELETE', '/api/v1/nodes/gw-9?force=maybe')).status).toBe(400);
      const forced = await h.call('DELETE', '/api/v1/nodes/gw-9?force=true');
      expect(forced.status).toBe(200);
      expect(forced.json.deleted).toBe('gw-9');
      expect((await h.call('GET', '/api/v1/nodes')).json.removals).toEqual([]);
      expect((await h.call('DELETE', '/api/v1/nodes/gw-9?force=true')).status).toBe(404);
    } finally {
      await h.close();
    }
  });
});
