// The bootstrap spec each node gets from the cloud records (src/daemon/provisioning.ts).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/daemon/metrics.js';
import { resolveConfig } from '../../src/daemon/config.js';
import { dpidForNode, dpidTextForNode, NodePipelines } from '../../src/daemon/node-pipelines.js';
import { bootstrapSpecFor, NotYetProvisionable, Provisioner, provisioningSettings, type ProvisioningOps, type ProvisioningSettings } from '../../src/daemon/provisioning.js';
import type { Executor, NodeBootstrapSpec } from '../../src/hosts/index.js';
import { validateNodeSpec } from '../../src/hosts/index.js';
import type { CloudRecords, NodeRecord, VmRecord } from '../../src/topology/records.js';
import { hasOpenssl, opensslTime, TestPki } from '../helpers/pki.js';
import { waitFor } from '../helpers/wait.js';

const created = '2026-01-01T00:00:00.000Z';
const node = (name: string, roles: NodeRecord['roles'], underlayIp: string, extra: Partial<NodeRecord> = {}): NodeRecord => ({
  name,
  roles,
  underlayIp,
  cpus: 0,
  memoryMiB: 0,
  createdAt: created,
  ...extra,
});
const vm = (name: string, subnet: string, ip: string, mac: string): VmRecord => ({
  name,
  subnet,
  node: 'c1',
  gateway: 'gw1',
  flavor: 'tiny',
  cpus: 1,
  memoryMiB: 512,
  image: 'busybox',
  ip,
  mac,
  port: `p-${name}`,
  state: 'running',
  createdAt: created,
});

const records: CloudRecords = {
  nodes: [
    node('gw1', ['gateway'], '10.0.0.1'),
    node('gw2', ['gateway'], '10.0.0.2', { serviceIp: '198.51.100.7' }),
    node('c1', ['compute'], '10.0.0.11'),
    node('sw', ['switch', 'management'], '10.0.0.100'),
    node('dh', ['dhcp'], '10.0.0.101'),
    node('mgmt', ['management'], '10.0.0.200'),
  ],
  subnets: [
    { name: 'front', cidr: '192.168.20.0/27', gatewayIp: '192.168.20.1', vni: 1, createdAt: created },
    { name: 'back', cidr: '192.168.20.32/27', gatewayIp: '192.168.20.33', vni: 2, createdAt: created },
  ],
  vms: [vm('web-2', 'front', '192.168.20.3', '02:00:00:00:00:03'), vm('db-1', 'back', '192.168.20.34', '02:00:00:00:00:22'), { ...vm('gone', 'front', '192.168.20.9', '02:00:00:00:00:09'), state: 'deleting' }],
};

const settings: ProvisioningSettings = {
  controllerFor: () => ['tcp:10.0.0.200:6653'],
  overlay: '192.168.20.0/22',
  underlay: { device: 'eth0', prefixLength: 24 },
  egressInterface: 'eth1',
  stateDirFor: () => '/var/lib/minicloud',
};
const spec = (name: string, r: CloudRecords = records, s: ProvisioningSettings = settings) => bootstrapSpecFor(r.nodes.find((n) => n.name === name)!, r, s);

describe('bootstrapSpecFor', () => {
  it('a compute node: tunnel on its underlay IP, the switch for broadcast, its derived datapath id', () => {
    const s = spec('c1')!;
    expect(s).toEqual({
      name: 'c1',
      roles: ['compute'],
      tunnelIp: '10.0.0.11',
      controller: ['tcp:10.0.0.200:6653'],
      datapathId: dpidTextForNode('c1'),
      stateDir: '/var/lib/minicloud',
      underlay: { device: 'eth0', address: '10.0.0.11/24' },
      switchIp: '10.0.0.100',
    });
    validateNodeSpec(s);
  });

  it('BFD (gateway failover): compute nodes to every gateway, gateways to every compute node, nobody else', () => {
    const bfd: ProvisioningSettings = { ...settings, bfdIntervalMs: 300 };
    expect(spec('c1', records, bfd)!.bfd).toEqual({ peers: ['10.0.0.1', '198.51.100.7'], intervalMs: 300 });
    expect(spec('gw1', records, bfd)!.bfd).toEqual({ peers: ['10.0.0.11'], intervalMs: 300 });
    expect(spec('gw2', records, bfd)!.bfd).toEqual({ peers: ['10.0.0.11'], intervalMs: 300 });
    for (const n of ['sw', 'dh']) expect(spec(n, records, bfd)!.bfd).toBeUndefined();
    validateNodeSpec(spec('c1', records, bfd)!);
    expect(provisioningSettings(resolveConfig({})).bfdIntervalMs).toBe(300);
    expect(provisioningSettings(resolveConfig({ gatewayFailover: { bfd: { enabled: false } } })).bfdIntervalMs).toBeUndefined();
  });

  it('a gateway: every subnet gateway address with its prefix, the overlay, MASQUERADE out of the egress interface', () => {
    const s = spec('gw1')!;
    expect(s.gateway).toEqual({ addresses: ['192.168.20.1/27', '192.168.20.33/27'], overlayCidr: '192.168.20.0/22', egressInterface: 'eth1' });
    expect(s.switchIp).toBeUndefined();
    validateNodeSpec(s);
  });

  it('a gateway with a service IP: that is its tunnel endpoint and its SNAT source (the seed)', () => {
    const s = spec('gw2')!;
    expect(s.tunnelIp).toBe('198.51.100.7');
    expect(s.gateway?.snatTo).toBe('198.51.100.7');
    expect(s.underlay?.address).toBe('10.0.0.2/24');
  });

  it('the switch: one peer per compute and DHCP node; the management role is dropped', () => {
    const s = spec('sw')!;
    expect(s.roles).toEqual(['switch']);
    expect(s.switchPeers).toEqual([
      { name: 'c1', ip: '10.0.0.11' },
      { name: 'dh', ip: '10.0.0.101' },
    ]);
    validateNodeSpec(s);
  });

  it('the DHCP node: server addresses per subnet and a reservation per VM (router = its subnet gateway), none for a VM being deleted', () => {
    const s = spec('dh')!;
    expect(s.dhcp).toEqual({
      addresses: ['192.168.20.1/27', '192.168.20.33/27'],
      reservations: [
        { vm: 'db-1', mac: '02:00:00:00:00:22', ip: '192.168.20.34', router: '192.168.20.33' },
        { vm: 'web-2', mac: '02:00:00:00:00:03', ip: '192.168.20.3', router: '192.168.20.1' },
      ],
      mtu: 1450,
    });
    expect(s.overlayMtu).toBe(1450);
    expect(s.switchIp).toBe('10.0.0.100');
    validateNodeSpec(s);
  });

  it('a DHCP node without subnets gets its bridge only; a management-only node gets nothing', () => {
    const bare = { ...records, subnets: [], vms: [] };
    expect(spec('dh', bare)).toMatchObject({ roles: [] });
    expect(spec('dh', bare)!.dhcp).toBeUndefined();
    expect(spec('mgmt')).toBeUndefined();
  });

  it('a compute node waits for a switch node (switch-node broadcast only); provisioning needs a controller target', () => {
    const noSwitch = { ...records, nodes: records.nodes.filter((n) => n.name !== 'sw') };
    expect(() => spec('c1', noSwitch)).toThrow(NotYetProvisionable);
    // Head-end broadcast needs no switch node: the compute is set up now, and without a vxlan-sw port (one left
    // from a removed switch node goes with the next run).
    expect(spec('c1', noSwitch, { ...settings, broadcast: 'head-end' })).toMatchObject({ name: 'c1', roles: ['compute'] });
    expect(spec('c1', noSwitch, { ...settings, broadcast: 'head-end' })!.switchIp).toBeUndefined();
    expect(spec('c1', records, { ...settings, broadcast: 'head-end' })!.switchIp).toBeDefined();
    expect(() => spec('gw1', records, { ...settings, controllerFor: () => [] })).toThrow(/provisioning.controller/);
  });

  it('lab mode: each node reaches the controller through the socket link in its run directory', () => {
    const config = resolveConfig({ vms: { labDir: '/tmp/lab/nodes' }, provisioning: { enabled: true, maxBackoffMs: 1000 }, openflow: { datapathIds: { gw1: 'ABC' } } });
    const s = spec('gw1', records, provisioningSettings(config))!;
    expect(s.controller).toEqual(['unix:/tmp/lab/nodes/gw1/controller.sock']);
    // Several controllers (demo --ha): relative unix: targets are links in each node's run directory, others as given.
    const ha = resolveConfig({ vms: { labDir: '/tmp/lab/nodes' }, provisioning: { enabled: true, controller: ['unix:c1.sock', 'unix:c2.sock', 'tcp:1.2.3.4:6653'] } });
    expect(spec('gw1', records, provisioningSettings(ha))!.controller).toEqual(['unix:/tmp/lab/nodes/gw1/c1.sock', 'unix:/tmp/lab/nodes/gw1/c2.sock', 'tcp:1.2.3.4:6653']);
    expect(s.controllerMaxBackoffMs).toBe(1000); // set by bootstrap with the controller target
    expect(s.stateDir).toBe('/tmp/lab/nodes/gw1/state');
    expect(s.datapathId).toBe('0000000000000abc');
    expect(spec('c1', records, provisioningSettings(resolveConfig({ provisioning: { controller: ['tcp:1.2.3.4:6653'] } })))!.controller).toEqual(['tcp:1.2.3.4:6653']);
  });

  it('the datapath id: the openflow.datapathIds entry (any case, any length) or the derived one, as the glue maps it', () => {
    const overrides = { gw1: 'ABC' };
    expect(dpidTextForNode('gw1', overrides)).toBe('0000000000000abc');
    expect(dpidForNode('c1', overrides)).toBe(dpidForNode('c1'));
    expect(dpidTextForNode('c1')).toMatch(/^4d43[0-9a-f]{12}$/);
    // Own keys only: an inherited property is no override.
    expect(dpidForNode('constructor', overrides)).toBe(dpidForNode('constructor'));
    const pipelines = new NodePipelines({ cloud: () => ({ nodes: [], subnets: [], vms: [] }), datapathIds: overrides });
    for (const n of ['gw1', 'c1', 'constructor']) expect(pipelines.dpidOf(n), n).toBe(dpidForNode(n, overrides));
  });

  it('config: provisioning keys, defaults and MINICLOUD_* overrides', () => {
    expect(resolveConfig({}).provisioning).toEqual({ enabled: false, controller: [], stateDir: '/var/lib/minicloud', retryMinSeconds: 5, retryMaxSeconds: 300 });
    const c = resolveConfig({}, {
      MINICLOUD_PROVISIONING_ENABLED: 'true',
      MINICLOUD_PROVISIONING_CONTROLLER: 'tcp:10.0.0.1:6653,ssl:10.0.0.1:6654',
      MINICLOUD_PROVISIONING_UNDERLAY_DEVICE: 'eth0',
      MINICLOUD_PROVISIONING_UNDERLAY_PREFIX_LENGTH: '24',
      MINICLOUD_PROVISIONING_EGRESS_INTERFACE: 'eth1',
    });
    expect(c.provisioning).toEqual({
      enabled: true,
      controller: ['tcp:10.0.0.1:6653', 'ssl:10.0.0.1:6654'],
      underlay: { device: 'eth0', prefixLength: 24 },
      egressInterface: 'eth1',
      stateDir: '/var/lib/minicloud',
      retryMinSeconds: 5,
      retryMaxSeconds: 300,
    });
    expect(() => resolveConfig({ provisioning: { underlay: { device: 'eth0' } } })).toThrow(/provisioning.underlay: missing prefixLength/);
    expect(resolveConfig({ provisioning: { retryMinSeconds: 600 } }).provisioning).toMatchObject({ retryMinSeconds: 600, retryMaxSeconds: 600 });
    expect(() => resolveConfig({ provisioning: { retryMinSeconds: 10, retryMaxSeconds: 5 } })).toThrow(/provisioning.retryMaxSeconds \(5\) is below provisioning.retryMinSeconds \(10\)/);
    expect(() => resolveConfig({ provisioning: { retryMinSeconds: 0 } })).toThrow(/provisioning.retryMinSeconds/);
  });
});

describe.skipIf(!hasOpenssl)('provisioning.tls: each node gets its own key and certificate, checked first', () => {
  let dir: string;
  let pki: TestPki;
  /** `who`'s key and certificate under ovs-pki's names for node `node`. */
  const install = (who: string, node: string, opts: Parameters<TestPki['issue']>[1] = {}): void => {
    const made = pki.issue(who, opts);
    copyFileSync(made.key, join(dir, 'nodes', `${node}-privkey.pem`));
    copyFileSync(made.cert, join(dir, 'nodes', `${node}-cert.pem`));
  };
  const withTls = (): ProvisioningSettings => provisioningSettings(resolveConfig({ provisioning: { controller: ['ssl:10.0.0.200:6653'], tls: { dir: join(dir, 'nodes'), ca: join(dir, 'ca-cert.pem') } } }));

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mct-prov-'));
    mkdirSync(join(dir, 'nodes'));
    pki = new TestPki(dir);
    pki.makeCa();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("puts the node's key, certificate and the CA in its spec; a node without files yet waits", () => {
    install('c1', 'c1', { cn: 'c1 id:0a1b2c3d' });
    const s = spec('c1', records, withTls())!;
    expect(s.ssl).toEqual({ privateKey: readFileSync(join(dir, 'nodes/c1-privkey.pem'), 'utf8'), certificate: readFileSync(join(dir, 'nodes/c1-cert.pem'), 'utf8'), caCertificate: readFileSync(join(dir, 'ca-cert.pem'), 'utf8') });
    validateNodeSpec(s);
    expect(() => spec('gw1', records, withTls())).toThrow(NotYetProvisionable);
    expect(() => spec('gw1', records, withTls())).toThrow(`provisioning.tls: no ${join(dir, 'nodes/gw1-privkey.pem')} yet (make it: cd ${join(dir, 'nodes')} && ovs-pki req+sign gw1 switch)`);
  });

  it("refuses to hand out another node's certificate, an expired one, or a key that is not the certificate's", () => {
    install('wrong', 'gw1', { cn: 'gw2' });
    expect(() => spec('gw1', records, withTls())).toThrow(/gw1-cert\.pem is not node gw1's \(the controller would refuse it\): switch claims datapath [0-9a-f]{16} \(node gw1's\) but its certificate names 'gw2'/);
    install('old', 'gw1', { cn: 'gw1', notBefore: opensslTime(-3 * 86_400_000), notAfter: opensslTime(-86_400_000) });
    expect(() => spec('gw1', records, withTls())).toThrow(/gw1-cert\.pem expired on /);
    install('gw1', 'gw1', { cn: 'gw1' });
    copyFileSync(join(dir, 'nodes/c1-privkey.pem'), join(dir, 'nodes/gw1-privkey.pem'));
    expect(() => spec('gw1', records, withTls())).toThrow(/gw1-privkey\.pem is not the key of .*gw1-cert\.pem/);
  });

  it('config: provisioning.tls from the file or MINICLOUD_PROVISIONING_TLS_*, absolute paths only', () => {
    expect(resolveConfig({}, { MINICLOUD_PROVISIONING_TLS_DIR: '/etc/minicloud/pki', MINICLOUD_PROVISIONING_TLS_CA: '/etc/minicloud/pki/controllerca/cacert.pem' }).provisioning.tls).toEqual({
      dir: '/etc/minicloud/pki',
      ca: '/etc/minicloud/pki/controllerca/cacert.pem',
    });
    expect(() => resolveConfig({ provisioning: { tls: { dir: 'pki', ca: '/ca.pem' } } })).toThrow(/provisioning\.tls\.dir/);
  });
});

describe('Provisioner', () => {
  const without = (name: string): CloudRecords => ({ ...records, nodes: records.nodes.filter((n) => n.name !== name) });
  /** The cloud with gw2 reached at another SSH target. */
  const at = (target: string): CloudRecords => ({ ...records, nodes: records.nodes.map((n) => (n.name === 'gw2' ? { ...n, sshTarget: target } : n)) });
  /** Polls fast: a failed state lasts only the retry delay (20 ms). */
  const waitBriefly = <T>(what: string, probe: () => T, ok: (v: T) => boolean): Promise<T> => waitFor(what, probe, ok, 5_000, 2);
  const exec: Executor = { target: 'fake', run: () => Promise.reject(new Error('not used')), close: () => Promise.resolve() };
  function setup(initial: CloudRecords, opts: { failBootstrap?: number; delayMs?: number; retry?: { retryMs?: number; retryMaxMs?: number; random?: () => number } } = {}) {
    let current = initial;
    let revision = 1;
    const counts = { reads: 0 };
    const calls: string[] = [];
    /** How many of the next bootstrap / remove calls throw (tests may raise them later). */
    const fail = { bootstrap: opts.failBootstrap ?? 0, remove: 0 };
    const wait = (): Promise<void> => new Promise((r) => setTimeout(r, opts.delayMs ?? 1));
    const ops: ProvisioningOps = {
      bootstrap: async (_e, spec: NodeBootstrapSpec) => {
        await wait();
        calls.push(`bootstrap ${spec.name}`);
        if (fail.bootstrap-- > 0) throw new Error(`[netns:${spec.name}] ovs-vsctl add-br br0 exited 1: boom`);
        return { changes: ['x'] };
      },
      remove: async (_e, spec) => {
        await wait();
        calls.push(`remove ${spec.name}`);
        if (fail.remove-- > 0) throw new Error(`[netns:${spec.name}] ovs-vsctl del-br br0 exited 1: boom`);
        return { changes: ['gone'] };
      },
      syncReservations: async (_e, spec, r) => (await wait(), calls.push(`sync ${spec.name} ${r.map((x) => x.vm).join(',')}`), ['synced']),
    };
    const errors: object[] = [];
    const log = { info: () => undefined, warn: () => undefined, error: (o: object) => errors.push(o) };
    const records = (): CloudRecords => (counts.reads++, current);
    /** Where each bootstrap or removal ran: `node@sshTarget`. */
    const reachedAt: string[] = [];
    const executorFor = (n: NodeRecord): Executor => (reachedAt.push(`${n.name}@${n.sshTarget ?? '-'}`), exec);
    const p = new Provisioner({ records, revision: () => revision, settings, executorFor, ops, log, retryMs: 20, ...opts.retry });
    const settle = async (): Promise<void> => {
      for (const n of ['gw1', 'gw2', 'c1', 'sw', 'dh', 'mgmt']) await p.ready(n, 2000);
    };
    const set = (r: CloudRecords): void => {
      current = r;
      revision++;
    };
    /** Every node provisioned, and the calls that took forgotten. */
    const started = async (): Promise<void> => {
      p.notify();
      await settle();
      calls.length = 0;
    };
    /** The store now holds `r`. */
    const change = (r: CloudRecords): void => {
      set(r);
      p.notify();
    };
    return { p, calls, errors, fail, settle, started, change, counts, reachedAt };
  }

  it('bootstraps every node once; the same cloud again changes nothing', async () => {
    const t = setup(records);
    t.p.notify();
    await t.settle();
    expect(t.calls.sort()).toEqual(['bootstrap c1', 'bootstrap dh', 'bootstrap gw1', 'bootstrap gw2', 'bootstrap sw']);
    expect(t.p.status('gw1')).toMatchObject({ state: 'ready', changes: ['x'] });
    expect(t.p.status('mgmt')).toMatchObject({ state: 'ready', changes: [] });
    t.calls.length = 0;
    t.p.notify();
    await t.settle();
    expect(t.calls).toEqual([]);
    await t.p.stop();
  });

  it('a node named under the older rules fails once, with the reason, is not retried, and holds no one else up', async () => {
    const t = setup({ ...records, nodes: [...records.nodes, node('Compute_2', ['compute'], '10.0.0.12')] });
    t.p.notify();
    await t.settle();
    await waitFor('legacy node failed', async () => t.p.status('Compute_2'), (s) => s?.state === 'failed');
    expect(t.p.status('Compute_2')?.error).toMatch(/^'Compute_2' is not a valid node name: 1-12 characters.*add it again under a valid name\)$/);
    expect(t.calls.sort()).toEqual(['bootstrap c1', 'bootstrap dh', 'bootstrap gw1', 'bootstrap gw2', 'bootstrap sw']);
    await new Promise((r) => setTimeout(r, 300)); // 15 retry periods
    expect(t.errors.filter((e) => (e as { node?: string }).node === 'Compute_2')).toHaveLength(1);
    await t.p.stop();
  });

  it('a new VM only syncs the DHCP reservations; a new subnet re-bootstraps gateways and DHCP, not compute nodes', async () => {
    const t = setup(records);
    await t.started();
    t.change({ ...records, vms: [...records.vms, vm('new-1', 'front', '192.168.20.4', '02:00:00:00:00:04')] });
    await t.settle();
    expect(t.calls).toEqual(['sync dh db-1,new-1,web-2']);
    t.calls.length = 0;
    t.change({ ...records, subnets: [...records.subnets, { name: 'ops', cidr: '192.168.20.64/27', gatewayIp: '192.168.20.65', vni: 3, createdAt: created }] });
    await t.settle();
    expect(t.calls.sort()).toEqual(['bootstrap dh', 'bootstrap gw1', 'bootstrap gw2']);
    await t.p.stop();
  });

  it('coalesces changes that arrive while a node is being provisioned into one more run', async () => {
    const t = setup(records, { delayMs: 50 });
    t.p.notify();
    t.p.notify();
    t.p.notify();
    await t.settle();
    expect(t.calls.filter((c) => c === 'bootstrap gw1')).toHaveLength(1);
    t.calls.length = 0;
    t.p.recheck('gw1');
    t.p.recheck('gw1');
    t.p.recheck('gw1');
    await t.settle();
    expect(t.calls).toEqual(['bootstrap gw1', 'bootstrap gw1']);
    await t.p.stop();
  });

  it('reads the store once per revision, not once per node', async () => {
    const t = setup(records);
    t.p.notify();
    await t.settle();
    expect(t.counts.reads).toBe(1);
    t.change(without('gw2'));
    await t.settle();
    expect(t.counts.reads).toBe(2);
    await t.p.stop();
  });

  it('undoes a node removed from the store with the spec it last applied', async () => {
    const t = setup(records);
    await t.started();
    t.change(without('gw2'));
    await t.settle();
    expect(t.calls).toEqual(['remove gw2']);
    expect(t.p.status('gw2')).toBeUndefined();
    await t.p.stop();
  });

  it('logs a failure with the node and the failing command, shows it, and retries until it works', async () => {
    const t = setup({ ...records, nodes: records.nodes.filter((n) => n.name === 'gw1') }, { failBootstrap: 2 });
    t.p.notify();
    await waitBriefly('gw1 failed', () => t.p.status('gw1'), (s) => s?.state === 'failed');
    expect(t.p.status('gw1')).toMatchObject({ state: 'failed', error: expect.stringContaining('ovs-vsctl add-br br0 exited 1') });
    expect(t.p.samples()).toEqual([{ node: 'gw1', state: 'failed', failures: 1, nextRetryAt: expect.any(Number) }]);
    expect(t.p.status('gw1')).toMatchObject({ attempts: 1, nextRetryAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(t.errors[0]).toMatchObject({ node: 'gw1', err: expect.stringContaining('[netns:gw1] ovs-vsctl') });
    await t.p.ready('gw1', 2000);
    await new Promise((r) => setTimeout(r, 100));
    expect(t.calls).toEqual(['bootstrap gw1', 'bootstrap gw1', 'bootstrap gw1']);
    expect(t.p.status('gw1')?.state).toBe('ready');
    expect(t.p.samples()).toEqual([{ node: 'gw1', state: 'ready', failures: 2 }]);
    expect(t.p.status('gw1')).not.toHaveProperty('nextRetryAt');
    expect(t.p.status('gw1')).not.toHaveProperty('attempts');
    await t.p.stop();
  });

  it('retries with an exponential backoff, capped, each delay jittered within +-20 %', async () => {
    const only = { ...records, nodes: records.nodes.filter((n) => n.name === 'gw1') };
    const t = setup(only, { failBootstrap: 5, retry: { retryMs: 20, retryMaxMs: 80, random: () => 0.5 } });
    t.p.notify();
    await t.p.ready('gw1', 5000);
    expect(t.p.status('gw1')?.state).toBe('ready');
    expect(t.errors.map((e) => (e as { retryInMs: number }).retryInMs)).toEqual([20, 40, 80, 80, 80]);
    expect(t.errors.map((e) => (e as { attempts: number }).attempts)).toEqual([1, 2, 3, 4, 5]);
    await t.p.stop();
    for (const [r, first, capped] of [[0, 800, 1200], [0.999999, 1200, 1500]] as const) {
      const j = setup(only, { failBootstrap: 100, retry: { retryMs: 1000, retryMaxMs: 1500, random: () => r } });
      j.p.notify();
      await waitBriefly('gw1 failed', () => j.p.status('gw1'), (s) => s?.state === 'failed');
      expect((j.errors[0] as { retryInMs: number }).retryInMs).toBe(first);
      await j.p.stop();
      // The cap holds after jitter too: 2000 +-20 % is never above 1500.
      const k = setup(only, { failBootstrap: 100, retry: { retryMs: 1000, retryMaxMs: 1500, random: () => r } });
      (k.p as unknown as { tasks: Map<string, unknown> }).tasks.clear();
      expect((k.p as unknown as { retryDelay(n: number): number }).retryDelay(2)).toBe(capped);
      await k.p.stop();
    }
  });

  it('a waiting node (no switch node yet) is retried by itself, not only on the next change', async () => {
    const noSwitch = { ...records, nodes: records.nodes.filter((n) => n.name === 'c1') };
    const t = setup(noSwitch, { retry: { retryMs: 20, retryMaxMs: 40 } });
    t.p.notify();
    const first = await waitBriefly('c1 waiting', () => t.p.status('c1'), (s) => s?.state === 'waiting' && s.nextRetryAt !== undefined);
    expect(first?.error).toContain('waits for a switch node');
    await waitBriefly('c1 retried by itself', () => t.p.status('c1'), (s) => (s?.attempts ?? 0) >= 3);
    expect(t.p.samples()).toEqual([{ node: 'c1', state: 'waiting', failures: 0, nextRetryAt: expect.any(Number) }]);
    t.change({ ...records, nodes: records.nodes.filter((n) => n.name === 'c1' || n.name === 'sw') });
    await waitBriefly('c1 ready once the switch node exists', () => t.p.status('c1')?.state, (s) => s === 'ready');
    await t.p.stop();
  });

  it('a node removed after its bootstrap failed is still undone (the failed run may have made half of it)', async () => {
    const only = (...names: string[]): CloudRecords => ({ ...records, nodes: records.nodes.filter((n) => names.includes(n.name)) });
    const t = setup(only('gw1'), { failBootstrap: 100 });
    t.p.notify();
    await waitBriefly('gw1 failed', () => t.p.status('gw1')?.state, (s) => s === 'failed');
    t.change(only());
    await waitBriefly('gw1 removed', () => ({ calls: t.calls, status: t.p.status('gw1') }), (v) => v.calls.includes('remove gw1') && v.status === undefined);
    expect(t.calls.at(-1)).toBe('remove gw1');
    await t.p.stop();
  });

  it('a forced re-bootstrap (recheck) that fails is retried until it runs through, never reported ready before', async () => {
    const t = setup(records);
    await t.started();
    t.fail.bootstrap = 1;
    t.p.recheck('gw1');
    await waitBriefly('gw1 failed after the recheck', () => t.p.status('gw1')?.state, (s) => s === 'failed');
    await waitBriefly('gw1 ready after the retry', () => t.p.status('gw1')?.state, (s) => s === 'ready');
    expect(t.calls).toEqual(['bootstrap gw1', 'bootstrap gw1']);
    await t.p.stop();
  });

  it('a node whose removal fails shows as removing (not in the API), counts its failures, and is gone once removed', async () => {
    const t = setup(records);
    const metrics = createMetrics({ processMetrics: false });
    metrics.setProvisioning(() => t.p.samples());
    const scrape = async (): Promise<string[]> => (await metrics.render()).split('\n').filter((l) => l.includes('node="gw2"') && !l.endsWith(' 0'));
    t.p.notify();
    await t.settle();
    expect(await scrape()).toEqual(['minicloud_node_provisioning{node="gw2",state="ready"} 1']);
    t.calls.length = 0;
    t.fail.remove = 2;
    t.change(without('gw2'));
    const gw2 = () => t.p.samples().find((s) => s.node === 'gw2');
    expect(gw2()).toEqual({ node: 'gw2', state: 'removing', failures: 0 }); // its removal is running
    await waitBriefly('a failed removal of gw2', gw2, (s) => s?.failures === 1);
    expect(gw2()?.state).toBe('removing');
    expect(t.p.status('gw2')).toBeUndefined(); // the record is gone: the API has no node to show it on
    expect(t.errors.at(-1)).toMatchObject({ node: 'gw2', err: expect.stringContaining('ovs-vsctl del-br br0 exited 1') });
    expect(await scrape()).toEqual([
      'minicloud_node_provisioning{node="gw2",state="removing"} 1',
      'minicloud_node_provisioning_failures_total{node="gw2"} 1',
      expect.stringMatching(/^minicloud_node_provisioning_next_retry_timestamp_seconds\{node="gw2"\} \d{10}\.\d+$/),
    ]);
    await waitBriefly('gw2 removed', gw2, (s) => s === undefined);
    expect(t.calls).toEqual(['remove gw2', 'remove gw2', 'remove gw2']);
    expect(t.p.samples().map((s) => s.node).sort()).toEqual(['c1', 'dh', 'gw1', 'mgmt', 'sw']);
    expect(await scrape()).toEqual([]);
    await t.p.stop();
  });

  it('a node added back at a new SSH target while its removal is pending is undone at the old one first', async () => {
    const t = setup(at('root@old-host'));
    await t.started();
    t.reachedAt.length = 0;
    t.fail.remove = 1;
    t.change(without('gw2'));
    await waitBriefly('a removal of gw2', () => t.calls, (c) => c.includes('remove gw2'));
    t.change(at('root@new-host'));
    await waitBriefly('gw2 bootstrapped again', () => ({ calls: t.calls, status: t.p.status('gw2') }), (v) => v.status?.state === 'ready' && v.calls.includes('bootstrap gw2'));
    expect(t.calls).toEqual(['remove gw2', 'remove gw2', 'bootstrap gw2']);
    expect(t.reachedAt.filter((r) => r.startsWith('gw2@'))).toEqual(['gw2@root@old-host', 'gw2@root@old-host', 'gw2@root@new-host']);
    await t.p.stop();
  });

  it('a node whose removal failed and that is added back is bootstrapped again, not taken as still set up', async () => {
    const t = setup(records);
    await t.started();
    t.fail.remove = 1;
    t.change(without('gw2'));
    await waitBriefly('a removal of gw2', () => t.calls, (c) => c.includes('remove gw2'));
    t.change(records);
    await waitBriefly('gw2 bootstrapped again', () => ({ calls: t.calls, status: t.p.status('gw2') }), (v) => v.status?.state === 'ready' && v.calls.includes('bootstrap gw2'));
    expect(t.calls).toEqual(['remove gw2', 'bootstrap gw2']);
    await t.p.stop();
  });
});
