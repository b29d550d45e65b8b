// Node bootstrap on every role, inside lab nodes (a namespace with its own OVS each), through the namespace
// executor: the first run builds the node, the second changes nothing, a changed spec is reconciled, removal
// restores the node as it was.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapNode, removeNode, syncDhcpReservations, validateNodeSpec, type NodeBootstrapSpec } from '../../src/hosts/bootstrap/index.js';
import type { Executor } from '../../src/hosts/executor.js';
import { LocalExecutor } from '../../src/hosts/local.js';
import { SshConnectError } from '../../src/hosts/ssh/executor.js';
import { dhcpPaths } from '../../src/hosts/bootstrap/dhcp.js';
import { readNodeFile } from '../../src/hosts/files.js';
import { ValidationError } from '../../src/hosts/validate.js';
import { TestPki } from '../helpers/pki.js';
import { waitFor } from '../helpers/wait.js';
import { RecordingExecutor } from './helpers/failing.js';
import { cleanup, startLabNode, Underlay, type LabNode } from './helpers/lab.js';

const P = 'mchb'; // namespace prefix of this file
const CONTROLLER = 'tcp:127.0.0.1:6653'; // nothing listens: OVS just keeps retrying, which is all we need here
const nodes: Record<string, LabNode> = {};
let underlay: Underlay | undefined;

function specs(): Record<string, NodeBootstrapSpec> {
  const base = (name: string, ip: string) => ({
    name: `${P}-${name}`,
    tunnelIp: ip,
    controller: CONTROLLER,
    underlay: { device: 'eth0', address: `${ip}/24` },
    stateDir: `${nodes[name]!.ovs.dir}/state`,
  });
  return {
    cmp: { ...base('cmp', '10.211.0.2'), roles: ['compute'], switchIp: '10.211.0.9', datapathId: '4d43000000000a01', bfd: { peers: ['10.211.0.3'], intervalMs: 300 } },
    gw: {
      ...base('gw', '10.211.0.3'),
      roles: ['gateway'],
      bfd: { peers: ['10.211.0.2'], intervalMs: 300 },
      gateway: { addresses: ['192.168.20.1/27', '192.168.20.33/27'], overlayCidr: '192.168.20.0/22', snatTo: '203.0.113.10', egressInterface: 'eth1' },
      overlayMtu: 1450,
    },
    dhcp: {
      ...base('dhcp', '10.211.0.4'),
      roles: ['dhcp'],
      switchIp: '10.211.0.9',
      dhcp: {
        addresses: ['192.168.20.1/27'],
        domain: 'mc.test',
        reservations: [{ vm: 'vm-a', mac: '02:00:00:00:00:0a', ip: '192.168.20.10', router: '192.168.20.1', dns: ['192.0.2.53'] }],
      },
    },
    sw: {
      ...base('sw', '10.211.0.9'),
      roles: ['switch'],
      controllerMaxBackoffMs: 1000,
      switchPeers: [
        { name: 'cmp', ip: '10.211.0.2' },
        { name: 'dhcp', ip: '10.211.0.4' },
      ],
    },
  };
}

/** Everything bootstrap may touch, as text: OVS config (not counters), iptables, addresses, routes, forwarding. */
async function snapshot(node: LabNode): Promise<Record<string, string>> {
  const x = async (argv: string[]) => (await node.exec.run(argv)).stdout;
  const dump = (table: string, ...cols: string[]) =>
    x(['ovsdb-client', 'dump', `unix:${node.ovs.dbSocket}`, 'Open_vSwitch', table, ...cols]);
  const addrs = JSON.parse(await x(['ip', '-j', '-4', 'addr'])) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
  return {
    // bfd_status is the session's live state (it moves as the peers' sessions come up), not configuration.
    show: (await x(['ovs-vsctl', 'show'])).split('\n').filter((l) => !l.trim().startsWith('bfd_status:')).join('\n'),
    bridges: await dump('Bridge', 'name', 'datapath_type', 'fail_mode', 'protocols', 'controller', 'ports', 'other_config', 'external_ids'),
    ports: await dump('Port', 'name', 'interfaces'),
    interfaces: await dump('Interface', 'name', 'type', 'options', 'bfd', 'external_ids'),
    controllers: await dump('Controller', 'target'),
    iptables: iptablesRules(await x(['iptables-save'])),
    addresses: addrs.map((l) => `${l.ifname}: ${l.addr_info.map((a) => `${a.local}/${a.prefixlen}`).join(' ')}`).join('\n'),
    routes: await x(['ip', '-4', 'route']),
    forward: await x(['cat', '/proc/sys/net/ipv4/ip_forward']),
    redirects: await x(['sysctl', '-n', 'net.ipv4.conf.all.send_redirects']),
  };
}

/**
 * iptables-save without comments and counters, and without tables that hold no rule and only ACCEPT policies: with
 * the nf_tables backend such a table stays after our chain is deleted, and it is the same as no table.
 */
function iptablesRules(save: string): string {
  const tables = save.split(/^(?=\*)/m).map((t) => t.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, '')));
  const meaningful = tables.filter((lines) => lines.some((l) => l.startsWith('-A ') || (l.startsWith(':') && !l.endsWith(' ACCEPT'))));
  return meaningful.map((lines) => lines.join('\n')).join('\n');
}

beforeAll(async () => {
  try {
    underlay = await Underlay.create(`${P}-ul`);
    const names = ['cmp', 'gw', 'dhcp', 'sw'];
    await Promise.all(names.map(async (n) => (nodes[n] = await startLabNode(`${P}-${n}`))));
    for (const [i, n] of names.entries()) await underlay.attach(nodes[n]!, i);
  } catch (e) {
    await teardown();
    throw e;
  }
});

async function teardown(): Promise<void> {
  const s = nodes['dhcp'] ? specs() : undefined;
  if (s && nodes['dhcp']) await removeNode(nodes['dhcp'].exec, s['dhcp']!).catch(() => undefined); // dnsmasq must not outlive its namespace
  await cleanup(...Object.values(nodes).map((n) => n.ovs), underlay);
}

afterAll(teardown);

describe('node bootstrap', () => {
  const before: Record<string, Record<string, string>> = {};

  it('builds every role, and a second run changes nothing', async () => {
    const s = specs();
    await Promise.all(Object.keys(s).map(async (k) => (before[k] = await snapshot(nodes[k]!))));
    const first = await Promise.all(Object.keys(s).map((k) => bootstrapNode(nodes[k]!.exec, s[k]!)));
    for (const r of first) expect(r.changes.length).toBeGreaterThan(0);
    const afterFirst = await Promise.all(Object.keys(s).map((k) => snapshot(nodes[k]!)));
    const second = await Promise.all(Object.keys(s).map((k) => bootstrapNode(nodes[k]!.exec, s[k]!)));
    for (const r of second) expect(r.changes, r.node).toEqual([]);
    const afterSecond = await Promise.all(Object.keys(s).map((k) => snapshot(nodes[k]!)));
    expect(afterSecond).toEqual(afterFirst);
  });

  it('gives each role the seed bridge design', async () => {
    const cmp = nodes['cmp']!.ovs;
    expect(await cmp.vsctl('get', 'bridge', 'br0', 'fail_mode', 'protocols', 'datapath_type')).toBe('secure\n[OpenFlow13]\nnetdev\n');
    expect((await cmp.vsctl('get-controller', 'br0')).trim()).toBe(CONTROLLER);
    expect((await cmp.ofctl('-O', 'OpenFlow13', 'show', 'br0')).split('\n')[0]).toContain('dpid:4d43000000000a01');
    expect(await cmp.vsctl('get', 'interface', 'vxlan-int', 'type', 'options')).toBe('vxlan\n{key=flow, local_ip="10.211.0.2", remote_ip=flow}\n');
    expect(await cmp.vsctl('get', 'interface', 'vxlan-sw', 'options')).toBe('{key=flow, remote_ip="10.211.0.9"}\n');
    expect((await cmp.vsctl('list-ports', 'br-phy')).trim()).toBe('eth0');

    const sw = nodes['sw']!.ovs;
    expect(await sw.vsctl('get', 'controller', 'br0', 'max_backoff')).toBe('1000\n');
    expect((await sw.vsctl('list-ports', 'br0')).trim().split('\n')).toEqual(['sw-cmp', 'sw-dhcp']);
    expect(await sw.vsctl('get', 'interface', 'sw-dhcp', 'options')).toBe('{key=flow, local_ip="10.211.0.9", remote_ip="10.211.0.4"}\n');

    // BFD to the gateway on a tunnel port of its own: a fixed remote and VNI 0, which no subnet has.
    expect(await cmp.vsctl('get', 'interface', 'bfd-0ad30003', 'options', 'bfd')).toBe('{key="0", local_ip="10.211.0.2", remote_ip="10.211.0.3"}\n{enable="true", min_rx="300", min_tx="300"}\n');

    const gw = nodes['gw']!;
    expect((await gw.ovs.vsctl('list-ports', 'br0')).trim().split('\n')).toEqual(['bfd-0ad30002', 'vxlan-int']);
    // The session comes up across the underlay (both ends are configured), which is what failover reads.
    await waitFor('BFD up', () => cmp.vsctl('get', 'interface', 'bfd-0ad30003', 'bfd_status:state'), (st) => st.trim() === 'up', 15_000);
    expect(await gw.ovs.vsctl('get', 'bridge', 'br0', 'other_config:hwaddr')).toBe('"12:00:00:ff:ff:ff"\n');
    // The overlay MTU on br0 (OVS mtu_request, and so the kernel's): the gateway never sends a VM a frame too big
    // for the tunnel, and answers the outside world with fragmentation-needed itself.
    expect(await gw.ovs.vsctl('get', 'interface', 'br0', 'mtu_request')).toBe('1450\n');
    expect((await gw.exec.run(['cat', '/sys/class/net/br0/mtu'])).stdout.trim()).toBe('1450');
    const snap = await snapshot(gw);
    expect(snap['addresses']).toContain('br0: 192.168.20.1/27 192.168.20.33/27');
    expect(snap['forward']).toBe('1\n');
    expect(snap['iptables']).toContain('-A POSTROUTING -j MINICLOUD-SNAT');
    expect(snap['iptables']).toContain('-A MINICLOUD-SNAT -s 192.168.20.0/22 ! -d 192.168.20.0/22 -o eth1 -m comment --comment minicloud-snat -j SNAT --to-source 203.0.113.10');
    expect(snap['routes']).toMatch(/192\.168\.20\.0\/22 dev br0 proto 177/);
    // Underlay: the nodes reach each other over br-phy (the userspace tunnelling layout).
    await gw.exec.run(['ping', '-c', '1', '-W', '5', '10.211.0.2']);

    const dhcp = nodes['dhcp']!;
    const paths = dhcpPaths(specs()['dhcp']!);
    expect(await readNodeFile(dhcp.exec, paths.hosts)).toBe('02:00:00:00:00:0a,set:vm-a,192.168.20.10,vm-a\n');
    expect(await readNodeFile(dhcp.exec, paths.opts)).toBe('tag:vm-a,option:router,192.168.20.1\ntag:vm-a,option:dns-server,192.0.2.53\n');
    expect(await readNodeFile(dhcp.exec, paths.conf)).toContain('dhcp-range=192.168.20.0,static,255.255.255.224,12h');
    const pid = (await readNodeFile(dhcp.exec, paths.pid))!.trim();
    expect((await dhcp.exec.run(['cat', `/proc/${pid}/comm`])).stdout).toBe('dnsmasq\n');
  });

  it('reloads dnsmasq with SIGHUP when reservations change, and only then', async () => {
    const dhcp = nodes['dhcp']!;
    const spec = specs()['dhcp']!;
    const paths = dhcpPaths(spec);
    const pid = (await readNodeFile(dhcp.exec, paths.pid))!.trim();
    const reads = async () => ((await readNodeFile(dhcp.exec, paths.log)) ?? '').split('\n').filter((l) => l.includes(`read ${paths.hosts}`)).length;
    const readsBefore = await reads();
    const vms = [
      ...spec.dhcp!.reservations!,
      { vm: 'vm-b', mac: '02:00:00:00:00:0b', ip: '192.168.20.11', router: '192.168.20.1' },
    ];
    expect(await syncDhcpReservations(dhcp.exec, spec, vms)).toEqual(['dhcp: 2 reservation(s) written, dnsmasq reloaded']);
    expect(await syncDhcpReservations(dhcp.exec, spec, vms)).toEqual([]);
    for (let i = 0; i < 40 && (await reads()) === readsBefore; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await reads()).toBe(readsBefore + 1);
    expect((await readNodeFile(dhcp.exec, paths.pid))!.trim()).toBe(pid); // reloaded, not restarted
    expect(await readNodeFile(dhcp.exec, paths.hosts)).toContain('02:00:00:00:00:0b,set:vm-b,192.168.20.11,vm-b\n');
    await syncDhcpReservations(dhcp.exec, spec, spec.dhcp!.reservations!);
  });

  it('reconciles a changed spec: stale ports, addresses and NAT rules go', async () => {
    const s = specs();
    const sw = { ...s['sw']!, switchPeers: [{ name: 'cmp', ip: '10.211.0.2' }] };
    expect((await bootstrapNode(nodes['sw']!.exec, sw)).changes).toEqual(['port sw-dhcp: removed']);
    const cmp = s['cmp']!;
    expect((await bootstrapNode(nodes['cmp']!.exec, { ...cmp, bfd: { peers: ['10.211.0.3'], intervalMs: 500 } })).changes).toEqual([
      'port bfd-0ad30003: replaced (local_ip=10.211.0.2 remote_ip=10.211.0.3 key=0)',
    ]);
    const { bfd: _bfd, ...noBfd } = cmp;
    expect((await bootstrapNode(nodes['cmp']!.exec, noBfd)).changes).toEqual(['port bfd-0ad30003: removed']);
    expect((await bootstrapNode(nodes['cmp']!.exec, cmp)).changes).toEqual(['port bfd-0ad30003: added (local_ip=10.211.0.2 remote_ip=10.211.0.3 key=0)']);
    const gw = { ...s['gw']!, gateway: { ...s['gw']!.gateway!, addresses: ['192.168.20.1/27'], snatTo: undefined } };
    const changes = (await bootstrapNode(nodes['gw']!.exec, gw)).changes;
    expect(changes).toContain('br0: address 192.168.20.33/27 removed');
    expect(changes.some((c) => c.includes('-j MASQUERADE'))).toBe(true);
    const ipt = (await snapshot(nodes['gw']!))['iptables']!;
    expect(ipt.match(/minicloud-snat/g)).toHaveLength(1);
    expect(ipt).toContain('-j MASQUERADE');
    expect((await bootstrapNode(nodes['gw']!.exec, gw)).changes).toEqual([]);
    // And back to the original spec for the removal test.
    await bootstrapNode(nodes['sw']!.exec, s['sw']!);
    await bootstrapNode(nodes['gw']!.exec, s['gw']!);
  });

  it("brings a gateway's br0 up even without any address: it carries the overlay route", async () => {
    const gw = nodes['gw']!;
    const s = specs()['gw']!;
    const bare = { ...s, gateway: { ...s.gateway!, addresses: [] } };
    await bootstrapNode(gw.exec, bare);
    await gw.exec.run(['ip', 'link', 'set', 'br0', 'down']);
    const changes = (await bootstrapNode(gw.exec, bare)).changes;
    expect(changes).toContain('br0: up');
    expect((await snapshot(gw))['routes']).toMatch(/192\.168\.20\.0\/22 dev br0 proto 177/);
    expect((await bootstrapNode(gw.exec, bare)).changes).toEqual([]);
    await bootstrapNode(gw.exec, s);
  });

  it("gives br-phy the underlay NIC's MAC, so a re-created br-phy answers ARP with the same one", async () => {
    const cmp = nodes['cmp']!;
    const s = specs()['cmp']!;
    const macOf = async (dev: string): Promise<string> => (JSON.parse((await cmp.exec.run(['ip', '-j', 'link', 'show', 'dev', dev])).stdout) as { address: string }[])[0]!.address;
    const nic = await macOf('eth0');
    expect(await macOf('br-phy')).toBe(nic);
    await cmp.ovs.vsctl('del-br', 'br-phy');
    await bootstrapNode(cmp.exec, s);
    expect(await macOf('br-phy')).toBe(nic);
    // Still the underlay: the node reaches its neighbours over the re-created br-phy.
    await cmp.exec.run(['ping', '-c', '1', '-W', '5', '10.211.0.9']);
  });

  it("sets the controller's max_backoff with its target: in place when only it changes, never written when right", async () => {
    const cmp = nodes['cmp']!;
    const exec = new RecordingExecutor(cmp.exec);
    const writes = (): string[] => exec.calls.filter((a) => / (set|create) /.test(a));
    const rows = async (): Promise<string> => cmp.ovs.vsctl('get', 'bridge', 'br0', 'controller');
    const backoffs = async (): Promise<string> => cmp.ovs.vsctl('--columns=max_backoff', '--format=csv', '--no-headings', 'list', 'controller');
    const s = specs()['cmp']!;
    const before = await rows();

    expect((await bootstrapNode(exec, { ...s, controllerMaxBackoffMs: 2000 })).changes).toEqual(['bridge br0: controller max_backoff=2000']);
    expect(await backoffs()).toBe('2000\n');
    expect(await rows()).toBe(before); // the same row: its connection is not dropped
    exec.calls.length = 0;
    expect((await bootstrapNode(exec, { ...s, controllerMaxBackoffMs: 2000 })).changes).toEqual([]);
    expect(writes()).toEqual([]);
    expect((await bootstrapNode(exec, { ...s, controllerMaxBackoffMs: 4000 })).changes).toEqual(['bridge br0: controller max_backoff=4000']);
    expect(await backoffs()).toBe('4000\n');

    // New targets: the rows are made with max_backoff in the same transaction (one write).
    const two = { ...s, controller: [CONTROLLER, 'tcp:127.0.0.1:6654'], controllerMaxBackoffMs: 3000 };
    exec.calls.length = 0;
    expect((await bootstrapNode(exec, two)).changes).toEqual([`bridge br0: controller ${CONTROLLER} tcp:127.0.0.1:6654 max_backoff=3000`]);
    expect(writes()).toHaveLength(1);
    expect(await backoffs()).toBe('3000\n3000\n');
    expect((await bootstrapNode(exec, two)).changes).toEqual([]);

    // Back to the original spec (no max_backoff wanted: the column is left as it is).
    expect((await bootstrapNode(exec, s)).changes).toEqual([`bridge br0: controller ${CONTROLLER}`]);
    expect((await cmp.ovs.vsctl('get-controller', 'br0')).trim()).toBe(CONTROLLER);
    expect(await backoffs()).toBe('[]\n');
  });

  it("installs the node's TLS key and certificates for ssl: targets (key 0600), then changes nothing; a new certificate is rewritten in place", async () => {
    const cmp = nodes['cmp']!;
    const dir = mkdtempSync(join(tmpdir(), 'mct-bootstrap-'));
    try {
      const pki = new TestPki(dir);
      pki.makeCa();
      const pem = (name: string): { privateKey: string; certificate: string; caCertificate: string } => {
        const t = pki.tls(name);
        return { privateKey: readFileSync(t.key, 'utf8'), certificate: readFileSync(t.cert, 'utf8'), caCertificate: readFileSync(t.ca, 'utf8') };
      };
      pki.issue('one', { cn: `${P}-cmp` });
      pki.issue('two', { cn: `${P}-cmp` });
      const s = { ...specs()['cmp']!, controller: 'ssl:127.0.0.1:6653', ssl: pem('one') };
      const state = `${cmp.ovs.dir}/state/ssl`;
      expect((await bootstrapNode(cmp.exec, s)).changes).toEqual([
        `ssl: private key written (${state}/privkey.pem)`,
        `ssl: certificate written (${state}/cert.pem)`,
        `ssl: CA certificate written (${state}/cacert.pem)`,
        `ssl: set-ssl ${state}/privkey.pem ${state}/cert.pem ${state}/cacert.pem`,
        'bridge br0: controller ssl:127.0.0.1:6653',
      ]);
      expect((await cmp.ovs.vsctl('get-ssl')).split('\n').slice(0, 3)).toEqual([`Private key: ${state}/privkey.pem`, `Certificate: ${state}/cert.pem`, `CA Certificate: ${state}/cacert.pem`]);
      expect((await cmp.exec.run(['stat', '-c', '%a', state, `${state}/privkey.pem`])).stdout.trim().split('\n')).toEqual(['700', '600']);
      expect(await readNodeFile(cmp.exec, `${state}/cert.pem`)).toBe(s.ssl.certificate);
      expect((await bootstrapNode(cmp.exec, s)).changes).toEqual([]);
      const renewed = { ...s, ssl: pem('two') };
      expect((await bootstrapNode(cmp.exec, renewed)).changes).toEqual([`ssl: private key written (${state}/privkey.pem)`, `ssl: certificate written (${state}/cert.pem)`]);
      expect(() => validateNodeSpec({ ...s, ssl: { ...s.ssl, privateKey: s.ssl.certificate } })).toThrow(/^invalid ssl\.privateKey "\(\d+ characters\)": a private key in PEM, at most 65536 characters$/);
      expect(() => validateNodeSpec({ ...s, ssl: { ...s.ssl, certificate: 'x'.repeat(70_000) } })).toThrow(/ssl\.certificate/);
      // Back to the plain target; the TLS settings stay until the node is removed (the next test).
      expect((await bootstrapNode(cmp.exec, specs()['cmp']!)).changes).toEqual([`bridge br0: controller ${CONTROLLER}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('removal undoes what bootstrap added, and a second removal does nothing', async () => {
    const s = specs();
    const removed = await Promise.all(Object.keys(s).map((k) => removeNode(nodes[k]!.exec, s[k]!)));
    for (const r of removed) expect(r.changes.length).toBeGreaterThan(0);
    for (const k of Object.keys(s)) {
      const snap = await snapshot(nodes[k]!);
      expect({ ...snap, show: '' }, k).toEqual({ ...before[k], show: '' });
    }
    expect(removed[0]!.changes).toEqual(expect.arrayContaining(['ssl: del-ssl', 'ssl: files removed']));
    expect((await nodes['cmp']!.ovs.vsctl('get-ssl')).trim()).toBe('');
    const again = await Promise.all(Object.keys(s).map((k) => removeNode(nodes[k]!.exec, s[k]!)));
    for (const r of again) expect(r.changes).toEqual([]);
    const dhcp = nodes['dhcp']!;
    expect(await readNodeFile(dhcp.exec, dhcpPaths(s['dhcp']!).pid)).toBeUndefined();
  });

  it('names the node when OVS is missing, and passes an unreachable node\'s own error through', async () => {
    const s = specs()['cmp']!;
    const noOvs = new LocalExecutor({ env: { PATH: '/nonexistent' } });
    await expect(bootstrapNode(noOvs, s)).rejects.toThrow(/^\[local\] Open vSwitch is not running or not installed \(ovs-vsctl failed\): .*ENOENT/);
    const unreachable: Executor = {
      target: 'ssh:root@192.0.2.1:22',
      run: () => Promise.reject(new SshConnectError('ssh:root@192.0.2.1:22', new Error('connect ECONNREFUSED'))),
      close: () => Promise.resolve(),
    };
    await expect(bootstrapNode(unreachable, s)).rejects.toBeInstanceOf(SshConnectError);
  });

  it('refuses bad specs before running anything', async () => {
    const s = specs();
    const bad: NodeBootstrapSpec[] = [
      { ...s['cmp']!, name: 'x; touch /tmp/pwned' },
      { ...s['cmp']!, controller: 'tcp:1.2.3.4:6653; reboot' },
      { ...s['cmp']!, controllerMaxBackoffMs: 999 },
      { ...s['cmp']!, switchIp: '10.211.0.300' },
      { ...s['gw']!, gateway: { ...s['gw']!.gateway!, overlayCidr: '192.168.20.1/22' } },
      { ...s['sw']!, switchPeers: [{ name: '$(id)', ip: '10.0.0.1' }] },
      { ...s['dhcp']!, dhcp: { addresses: ['192.168.20.1/27'], reservations: [{ vm: 'a', mac: '02:00:00:00:00:01\nbad', ip: '192.168.20.2' }] } },
      { ...s['dhcp']!, stateDir: '/var/lib/../../etc' },
    ];
    for (const spec of bad) await expect(bootstrapNode(nodes['cmp']!.exec, spec)).rejects.toBeInstanceOf(ValidationError);
  });
});
