// The netns VM backend on a lab node: lifecycle, traffic over br0, DHCP from the node's dnsmasq, rollback of a
// create that fails part-way, idempotent delete.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapNode, removeNode, type NodeBootstrapSpec } from '../../src/hosts/bootstrap/index.js';
import type { Executor } from '../../src/hosts/executor.js';
import { LocalExecutor } from '../../src/hosts/local.js';
import { NetnsVmDriver } from '../../src/hosts/vm/netns.js';
import { VmExistsError, type VmSpec } from '../../src/hosts/vm/driver.js';
import { cleanup, startLabNode, type LabNode } from './helpers/lab.js';
import { FailingExecutor, RecordingExecutor } from './helpers/failing.js';

const NODE = 'mchn-node';
const PREFIX = 'mchn-'; // VM namespaces: mchn-<vm>
let node: LabNode;
let state: string;
let driver: NetnsVmDriver;
let nodeSpec: NodeBootstrapSpec;
const host = new LocalExecutor();

function makeDriver(over: { node?: Executor; host?: Executor } = {}): NetnsVmDriver {
  return new NetnsVmDriver({ node: over.node ?? node.exec, host: over.host ?? host, nodeNetns: NODE, stateDir: state, netnsPrefix: PREFIX });
}

const vmA: VmSpec = { name: 'a', mac: '02:00:00:00:01:0a', network: { mode: 'static', address: '192.168.30.10/24', gateway: '192.168.30.1', dns: ['192.0.2.53'] } };
const vmB: VmSpec = { name: 'b', mac: '02:00:00:00:01:0b', network: { mode: 'static', address: '192.168.30.11/24' }, mtu: 1450 };
const vmD: VmSpec = { name: 'd', mac: '02:00:00:00:01:0d', network: { mode: 'dhcp' } };

async function leftovers(name: string, port: string): Promise<string[]> {
  const found: string[] = [];
  if ((await host.run(['ip', 'netns', 'list'])).stdout.split('\n').some((l) => l.split(' ')[0] === `${PREFIX}${name}`)) found.push('namespace');
  if ((await node.ovs.vsctl('list-ports', 'br0')).split('\n').includes(port)) found.push('OVS port');
  if ((await node.exec.run(['ip', 'link', 'show', 'dev', port], { okCodes: [0, 1] })).code === 0) found.push('veth');
  if (existsSync(join(state, `${name}.json`))) found.push('record');
  if (existsSync(`/etc/netns/${PREFIX}${name}`)) found.push('/etc/netns dir');
  return found;
}

beforeAll(async () => {
  state = mkdtempSync(join(tmpdir(), 'mc-netns-vm-'));
  node = await startLabNode(NODE);
  // The node is a DHCP node (br0 holds 192.168.30.1, dnsmasq has vm d's reservation); a NORMAL flow stands in for
  // the controller's pipeline so br0 forwards.
  nodeSpec = {
    name: NODE,
    roles: ['dhcp'],
    tunnelIp: '10.212.0.1',
    controller: 'tcp:127.0.0.1:6653',
    stateDir: join(node.ovs.dir, 'state'),
    dhcp: { addresses: ['192.168.30.1/24'], reservations: [{ vm: 'd', mac: vmD.mac, ip: '192.168.30.50', router: '192.168.30.1', dns: ['192.0.2.53'] }], mtu: 1450 },
    overlayMtu: 1450,
  };
  await bootstrapNode(node.exec, nodeSpec);
  await node.ovs.ofctl('-O', 'OpenFlow13', 'add-flow', 'br0', 'actions=NORMAL');
  driver = makeDriver();
});

afterAll(async () => {
  for (const vm of ['a', 'b', 'c', 'd', 'r0', 'r1', 'r2', 'r3', 'r4']) await driver?.delete(vm).catch(() => undefined);
  if (node) await removeNode(node.exec, nodeSpec).catch(() => undefined);
  await cleanup(node?.ovs);
  rmSync(state, { recursive: true, force: true });
});

describe('netns VM driver', () => {
  it('creates VMs on br0 with our MAC and port name, and they talk', async () => {
    const a = await driver.create(vmA);
    expect(a).toEqual({ name: 'a', state: 'running', mac: vmA.mac, port: 'vm-a', addresses: ['192.168.30.10/24'] });
    await driver.create(vmB);
    expect(await node.ovs.vsctl('get', 'interface', 'vm-a', 'external_ids')).toBe('{attached-mac="02:00:00:00:01:0a", vm-name=a}\n');
    expect((await node.ovs.vsctl('port-to-br', 'vm-b')).trim()).toBe('br0');
    expect((await driver.exec('a', ['ip', 'route', 'show', 'default'])).stdout).toContain('default via 192.168.30.1 dev eth0');
    expect((await driver.exec('a', ['cat', '/etc/resolv.conf'])).stdout).toBe('nameserver 192.0.2.53\n');
    // tx offload is off on both ends (lab.md's checksum trap on netdev bridges).
    expect((await driver.exec('a', ['ethtool', '-k', 'eth0'])).stdout).toMatch(/tx-checksumming: off/);
    expect((await node.exec.run(['ethtool', '-k', 'vm-a'])).stdout).toMatch(/tx-checksumming: off/);
    await driver.exec('a', ['ping', '-c', '1', '-W', '5', '192.168.30.11']);
    await driver.exec('b', ['ping', '-c', '1', '-W', '5', '192.168.30.1']); // the node's own br0 address
  });

  it('gives a VM its MTU on eth0 only (the br0 end stays 1500); a DHCP node\'s br0 gets the overlay MTU', async () => {
    expect((await driver.exec('b', ['cat', '/sys/class/net/eth0/mtu'])).stdout.trim()).toBe('1450');
    expect((await node.exec.run(['cat', '/sys/class/net/vm-b/mtu'])).stdout.trim()).toBe('1500');
    expect((await driver.exec('a', ['cat', '/sys/class/net/eth0/mtu'])).stdout.trim()).toBe('1500'); // no mtu asked
    expect((await node.ovs.vsctl('get', 'interface', 'br0', 'mtu_request')).trim()).toBe('1450');
    expect((await node.exec.run(['cat', '/sys/class/net/br0/mtu'])).stdout.trim()).toBe('1450');
  });

  it('creates a VM with 7 commands (each a process the controller starts: what VM creates in bulk cost)', async () => {
    const [h, n] = [new RecordingExecutor(host), new RecordingExecutor(node.exec)];
    const d = makeDriver({ host: h, node: n });
    expect(await d.create({ ...vmA, name: 'c', mac: '02:00:00:00:01:0c', network: { mode: 'static', address: '192.168.30.12/24', gateway: '192.168.30.1' } })).toMatchObject({ state: 'running', addresses: ['192.168.30.12/24'] });
    expect([...h.calls, ...n.calls].length, [...h.calls, ...n.calls].join('\n')).toBe(7);
    await d.exec('c', ['ping', '-c', '1', '-W', '5', '192.168.30.10']);
    await d.delete('c');
  });

  it('refuses to create a VM that exists, leaving it alone', async () => {
    await expect(driver.create(vmA)).rejects.toBeInstanceOf(VmExistsError);
    expect((await driver.info('a'))?.state).toBe('running');
  });

  it('stops and starts a VM', async () => {
    await driver.stop('b');
    expect((await driver.info('b'))?.state).toBe('stopped');
    await expect(driver.exec('a', ['ping', '-c', '1', '-W', '1', '192.168.30.11'])).rejects.toThrow();
    await driver.start('b');
    expect((await driver.info('b'))?.state).toBe('running');
    await driver.exec('a', ['ping', '-c', '1', '-W', '5', '192.168.30.11']);
  });

  it('gets its reserved address, route and DNS from the DHCP node (udhcpc, tx offload off)', async () => {
    await driver.create(vmD);
    let info = await driver.info('d');
    for (let i = 0; i < 60 && !info?.addresses.length; i++) {
      await new Promise((r) => setTimeout(r, 250));
      info = await driver.info('d');
    }
    expect(info?.addresses).toEqual(['192.168.30.50/24']);
    expect((await driver.exec('d', ['ip', 'route', 'show', 'default'])).stdout).toContain('default via 192.168.30.1 dev eth0');
    expect((await driver.exec('d', ['cat', '/etc/resolv.conf'])).stdout).toBe('nameserver 192.0.2.53\n');
    // DHCP option 26 (the DHCP node's dnsmasq), requested with -O mtu and applied by our udhcpc script.
    expect((await driver.exec('d', ['cat', '/sys/class/net/eth0/mtu'])).stdout.trim()).toBe('1450');
    await driver.delete('d');
    expect(await leftovers('d', 'vm-d')).toEqual([]);
    expect(existsSync(join(state, 'd.udhcpc.pid'))).toBe(false);
  });

  it('deletes a VM completely, and deleting again is fine', async () => {
    await driver.delete('b');
    expect(await leftovers('b', 'vm-b')).toEqual([]);
    expect(await driver.info('b')).toBeUndefined();
    await driver.delete('b');
    await driver.delete('never-existed');
  });

  const faults: [string, (argv: readonly string[]) => boolean, 'node' | 'host'][] = [
    ['creating the veth', (argv) => argv.includes('veth'), 'host'],
    ['adding the OVS port', (argv) => argv.includes('add-port'), 'node'],
    ['turning tx offload off', (argv) => argv.includes('ethtool') && argv.includes('eth0'), 'host'],
    ['starting the network', (argv) => argv.includes('-batch'), 'host'],
    ['writing its files', (argv) => argv[0] === 'sh' && argv.some((a) => a.endsWith('.json')), 'host'],
  ];
  faults.forEach(([step, when, where], i) => {
    it(`rolls back a create that fails when ${step}`, async () => {
      const failing = where === 'node' ? new FailingExecutor(node.exec, when) : new FailingExecutor(host, when);
      const d = where === 'node' ? makeDriver({ node: failing }) : makeDriver({ host: failing });
      const name = `r${i}`;
      await expect(d.create({ ...vmA, name, mac: `02:00:00:00:02:0${i}` })).rejects.toThrow(/injected failure/);
      expect(failing.failed).toBe(true);
      expect(await leftovers(name, `vm-${name}`)).toEqual([]);
    });
  });
});
