// The LXD backend for real: scripts/install-lxd.sh installs and starts LXD (lab.md's way); a lab node gets its own
// LXD daemon in its namespace (talking to its own OVS); the busybox image is built there and imported once; VMs of
// two flavors are created on br0 and checked (limits, MAC, port, exec, traffic, DHCP), stopped, deleted; creates
// that fail part-way are rolled back.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapNode, removeNode, type NodeBootstrapSpec } from '../../src/hosts/bootstrap/index.js';
import { ExecOutputLimitError, type Executor } from '../../src/hosts/executor.js';
import { LocalExecutor } from '../../src/hosts/local.js';
import { ensureBusyboxImage } from '../../src/hosts/lxd/image.js';
import { LabLxd } from '../../src/hosts/lxd/lab-daemon.js';
import { NetnsExecutor } from '../../src/hosts/netns.js';
import { ValidationError } from '../../src/hosts/validate.js';
import { ImageNotFoundError, LxdVmDriver } from '../../src/hosts/vm/lxd.js';
import { VmExistsError, type VmSpec } from '../../src/hosts/vm/driver.js';
import { cleanup, startLabNode, type LabNode } from './helpers/lab.js';
import { FailingExecutor } from './helpers/failing.js';

const NODE = 'mchl-node';
const host = new LocalExecutor();
let node: LabNode;
let lxd: LabLxd | undefined;
let exec: NetnsExecutor; // the node, with the node's LXD_DIR
let driver: LxdVmDriver;
let nodeSpec: NodeBootstrapSpec;

const small: VmSpec = {
  name: 'lx-small',
  mac: '02:00:00:00:03:01',
  flavor: { cpus: 1, memoryMiB: 64 },
  network: { mode: 'static', address: '192.168.31.10/24', gateway: '192.168.31.1', dns: ['192.0.2.53'] },
  // Asked for explicitly: without an mtu LXD gives the veth its parent bridge's MTU, and OVS lowers br0's to its
  // smallest port's, so a VM created beside lx-big (1450) would get 1450 or 1500 by the race.
  mtu: 1500,
};
const big: VmSpec = { name: 'lx-big', mac: '02:00:00:00:03:02', flavor: { cpus: 2, memoryMiB: 128 }, network: { mode: 'dhcp' }, mtu: 1450 };

/** The container's cgroup (v1) directory of a controller, from its init's /proc/PID/cgroup. */
function cgroupFile(pid: number, controller: string, file: string): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller));
  return readFileSync(`/sys/fs/cgroup/${controller}${line!.split(':')[2]}/${file}`, 'utf8').trim();
}

async function lxcJson<T>(path: string): Promise<T> {
  return JSON.parse((await exec.run(['lxc', 'query', path])).stdout) as T;
}

async function leftovers(name: string, port: string): Promise<string[]> {
  const found: string[] = [];
  if ((await exec.run(['lxc', 'query', `/1.0/instances/${name}`], { okCodes: [0, 1] })).code === 0) found.push('container');
  if ((await node.ovs.vsctl('list-ports', 'br0')).split('\n').includes(port)) found.push('OVS port');
  if ((await exec.run(['ip', 'link', 'show', 'dev', port], { okCodes: [0, 1] })).code === 0) found.push('veth');
  return found;
}

beforeAll(async () => {
  execFileSync('bash', ['scripts/install-lxd.sh'], { stdio: 'pipe', timeout: 300_000 });
  node = await startLabNode(NODE);
  try {
    lxd = await LabLxd.start({ host, netns: NODE, dir: `${node.ovs.dir}/lxd`, env: { OVS_RUNDIR: node.ovs.dir } });
    exec = new NetnsExecutor(host, NODE, { env: { OVS_RUNDIR: node.ovs.dir, ...lxd.env } });
    nodeSpec = {
      name: NODE,
      roles: ['dhcp'],
      tunnelIp: '10.213.0.1',
      controller: 'tcp:127.0.0.1:6653',
      stateDir: `${node.ovs.dir}/state`,
      dhcp: { addresses: ['192.168.31.1/24'], reservations: [{ vm: 'lx-big', mac: big.mac, ip: '192.168.31.20', router: '192.168.31.1' }] },
    };
    await bootstrapNode(exec, nodeSpec);
    await node.ovs.ofctl('-O', 'OpenFlow13', 'add-flow', 'br0', 'actions=NORMAL'); // stands in for the pipeline
    driver = new LxdVmDriver({ node: exec, stopTimeoutS: 5 });
  } catch (e) {
    await teardown();
    throw e;
  }
}, 300_000);

async function teardown(): Promise<void> {
  if (driver) for (const vm of ['lx-small', 'lx-big', 'lx-fail0', 'lx-fail1']) await driver.delete(vm).catch(() => undefined);
  await lxd?.stop().catch(() => undefined);
  if (exec) await removeNode(exec, nodeSpec).catch(() => undefined);
  await cleanup(node?.ovs);
}

afterAll(teardown, 120_000);

describe('LXD VM driver', () => {
  it('builds the busybox image on the node and imports it once', async () => {
    // beforeAll left the store empty; the first call builds and imports, the second finds it.
    expect(await ensureBusyboxImage(exec)).toBe(true);
    expect(await ensureBusyboxImage(exec)).toBe(false);
    const images = await lxcJson<string[]>('/1.0/images');
    expect(images).toHaveLength(1);
    // The same image answers to 'busybox' (the name the docs and the demo use); a third call changes nothing.
    const target = async (alias: string): Promise<string> => (await lxcJson<{ target: string }>(`/1.0/images/aliases/${alias}`)).target;
    expect(await target('busybox')).toBe(await target('minicloud-busybox'));
    expect(images[0]).toContain(await target('busybox'));
    expect(await ensureBusyboxImage(exec)).toBe(false);
    expect((await lxcJson<string[]>('/1.0/images/aliases')).sort()).toEqual(['/1.0/images/aliases/busybox', '/1.0/images/aliases/minicloud-busybox']);
  });

  it("refuses an image the node's LXD does not have, naming it and the images there, and leaves nothing", async () => {
    const err = await driver.create({ ...small, name: 'lx-noimg', image: 'no-such-image' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFoundError);
    expect((err as Error).message).toBe(`no LXD image 'no-such-image' on ${exec.target} (its images: busybox, minicloud-busybox)`);
    expect(await leftovers('lx-noimg', 'vm-lx-noimg')).toEqual([]);
  });

  it('creates VMs of two flavors on br0 with our MAC, port name and limits', async () => {
    const [s, b] = await Promise.all([driver.create(small), driver.create(big)]);
    expect(s).toMatchObject({ name: 'lx-small', state: 'running', mac: small.mac, port: 'vm-lx-small' });
    expect(b).toMatchObject({ name: 'lx-big', state: 'running', mac: big.mac, port: 'vm-lx-big' });

    for (const [spec, cpus, bytes] of [[small, '1', 64 * 1024 * 1024], [big, '2', 128 * 1024 * 1024]] as const) {
      const inst = await lxcJson<{ config: Record<string, string> }>(`/1.0/instances/${spec.name}`);
      expect(inst.config['limits.cpu']).toBe(cpus);
      expect(inst.config['limits.memory']).toBe(`${spec.flavor!.memoryMiB}MiB`);
      // The MAC we allocated, three ways: LXD's record, the guest's eth0, the OVS port.
      expect(inst.config['volatile.eth0.hwaddr']).toBe(spec.mac);
      expect((await driver.exec(spec.name, ['cat', `/sys/class/net/eth0/address`])).stdout.trim()).toBe(spec.mac);
      expect(await node.ovs.vsctl('get', 'interface', `vm-${spec.name}`, 'external_ids:attached-mac')).toBe(`"${spec.mac}"\n`);
      expect((await node.ovs.vsctl('port-to-br', `vm-${spec.name}`)).trim()).toBe('br0');
      // And the kernel enforces the flavor.
      const { pid } = await lxcJson<{ pid: number }>(`/1.0/instances/${spec.name}/state`);
      expect(Number(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'))).toBe(bytes);
      const cpuset = cgroupFile(pid, 'cpuset', 'cpuset.cpus');
      const count = cpuset.split(',').reduce((n, r) => n + (r.includes('-') ? Number(r.split('-')[1]) - Number(r.split('-')[0]) + 1 : 1), 0);
      expect(count).toBe(Number(cpus));
      // The MTU asked for (LXD's nic mtu).
      expect((await driver.exec(spec.name, ['cat', '/sys/class/net/eth0/mtu'])).stdout.trim()).toBe(String(spec.mtu));
      // tx offload is off inside the guest (netdev bridge).
      expect((await exec.run(['nsenter', '-t', String(pid), '-n', 'ethtool', '-k', 'eth0'])).stdout).toMatch(/tx-checksumming: off/);
    }
  });

  it('configures the network (static and DHCP) and the VMs talk over br0', async () => {
    expect((await driver.exec('lx-small', ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout).toContain('192.168.31.10/24');
    expect((await driver.exec('lx-small', ['cat', '/etc/resolv.conf'])).stdout).toBe('nameserver 192.0.2.53\n');
    let addrs = (await driver.info('lx-big'))?.addresses;
    for (let i = 0; i < 60 && !addrs?.length; i++) {
      await new Promise((r) => setTimeout(r, 250));
      addrs = (await driver.info('lx-big'))?.addresses;
    }
    expect(addrs).toEqual(['192.168.31.20/24']);
    expect((await driver.exec('lx-big', ['ip', 'route'])).stdout).toContain('default via 192.168.31.1 dev eth0');
    await driver.exec('lx-small', ['ping', '-c', '1', '-W', '5', '192.168.31.20']);
  });

  it('runs commands as argument vectors, with exit codes', async () => {
    const r = await driver.exec('lx-small', ['sh', '-c', 'echo "$0"; exit 4', 'a b; $(x)'], { okCodes: [4] });
    expect(r).toMatchObject({ stdout: 'a b; $(x)\n', code: 4 });
    await expect(driver.create(small)).rejects.toBeInstanceOf(VmExistsError);
  });

  it('kills a command in the container whose output passes the limit (killing `lxc exec` ends it inside)', async () => {
    const err = await driver.exec('lx-small', ['sh', '-c', 'head -c 600000000 /dev/zero; sleep 42.125'], { maxOutputBytes: 1024 * 1024 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecOutputLimitError);
    const alive = (): boolean => {
      try {
        execFileSync('pgrep', ['-f', '^sleep 42.125$']); // the container's processes are visible from here
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toBe(false);
    expect((await driver.exec('lx-small', ['echo', 'ok'])).stdout).toBe('ok\n');
  }, 60_000);

  it('stops and starts a VM (the port leaves br0 and comes back, checked again)', async () => {
    await driver.stop('lx-small');
    expect((await driver.info('lx-small'))?.state).toBe('stopped');
    expect((await node.ovs.vsctl('list-ports', 'br0')).split('\n')).not.toContain('vm-lx-small');
    await driver.stop('lx-small'); // already stopped: nothing to do
    await driver.start('lx-small');
    expect((await driver.info('lx-small'))?.state).toBe('running');
    expect(await node.ovs.vsctl('get', 'interface', 'vm-lx-small', 'external_ids:attached-mac')).toBe(`"${small.mac}"\n`);
    await driver.exec('lx-small', ['ping', '-c', '1', '-W', '5', '192.168.31.20']);
  });

  it('deletes VMs completely; deleting again is fine', async () => {
    await Promise.all([driver.delete('lx-small'), driver.delete('lx-big')]);
    expect(await leftovers('lx-small', 'vm-lx-small')).toEqual([]);
    expect(await leftovers('lx-big', 'vm-lx-big')).toEqual([]);
    expect(await driver.info('lx-small')).toBeUndefined();
    await driver.delete('lx-small');
  });

  const faults: [string, (argv: readonly string[]) => boolean][] = [
    ['lxc start', (argv) => argv.includes('lxc') && argv.includes('start')],
    ['after start (tx offload)', (argv) => argv.includes('nsenter')],
  ];
  faults.forEach(([step, when], i) => {
    it(`rolls back a create that fails at ${step}`, async () => {
      const failing: Executor = new FailingExecutor(exec, when);
      const d = new LxdVmDriver({ node: failing, stopTimeoutS: 5 });
      const name = `lx-fail${i}`;
      await expect(d.create({ ...small, name, mac: `02:00:00:00:03:1${i}` })).rejects.toThrow(/injected failure/);
      expect(await leftovers(name, `vm-${name}`)).toEqual([]);
    });
  });

  it('rejects unsafe VM and image names before running anything', async () => {
    for (const name of ['a;b', '$(id)', '-rf', 'a b']) await expect(driver.create({ ...small, name })).rejects.toBeInstanceOf(ValidationError);
    await expect(driver.create({ ...small, name: 'ok', image: 'x`id`' })).rejects.toBeInstanceOf(ValidationError);
    await expect(driver.delete('--all')).rejects.toBeInstanceOf(ValidationError);
  });
});
