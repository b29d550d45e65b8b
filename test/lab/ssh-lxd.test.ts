// VMs on a compute node reached over real SSH with the LXD backend (prefix `mcy`): the production path (docs/
// operations.md) in the lab. c2 has an sshTarget `root@127.0.0.1:PORT` and the `lxd` VM backend; LabCloud runs c2's own
// LXD daemon inside its namespace (as in lxd.test.ts), and c2's sshd ForceCommand runs each command line inside that
// namespace with c2's OVS directories and LXD_DIR, so every `lxc` of the controller's LXD driver reaches c2's daemon
// over SSH. c1 keeps netns VMs, reached by `ip netns exec`. Through the HTTP API: c2 provisioned 'ready' over SSH, an
// LXD VM on c2 made by `lxc` commands in sshd's log, its MAC and IP, pings with a netns VM on c1 and its gateway, a
// create failing after `lxc init` rolled back over SSH (502), one with an image c2 lacks refused (400), nothing left of
// either, and DELETE removing container, port and flows; one SSH connection carries it all.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labLxdBaseDir, labLxdDir } from '../../src/daemon/node-executors.js';
import { LocalExecutor } from '../../src/hosts/local.js';
import { LabCloud } from '../../src/lab/cloud.js';
import { namespacesWith, standardNodes } from '../../src/lab/lab.js';
import { LXC_LINE, TestSshd, lxcLines, vsctlBr0, type InNodeSshd } from '../hosts/helpers/sshd.js';
import { apiNode, stopSshLab } from './helpers.js';
import { flowsMentioning, lxcOn, pingFrom, vmExec } from './traffic.js';
import type { SubnetView, VmView } from '../../src/cloud/index.js';

const P = 'mcy';
const DIR = join('/tmp/minicloud-lab', P); // LabCloud's default: node N's OVS lives in DIR/nodes/N
const NODES_DIR = join(DIR, 'nodes');
const SW = `${P}-sw`;
const C1 = `${P}-c1`;
const C2 = `${P}-c2`;
const GW1 = `${P}-gw1`;

let node: InNodeSshd | undefined;
let cloud: LabCloud | undefined;
let subnet: SubnetView;
const vms = new Map<string, VmView>();

const lab = (): LabCloud => cloud!;
const c2 = (): InNodeSshd => node!;
const vm = (name: string): VmView => vms.get(name)!;

async function c2Containers(): Promise<string[]> {
  return JSON.parse((await lxcOn(lab(), C2).run(['lxc', 'query', '/1.0/instances'])).stdout) as string[];
}

async function c2Ports(): Promise<string[]> {
  return (await lab().lab.node(C2).vsctl('list-ports', 'br0')).split('\n').filter(Boolean);
}

beforeAll(async () => {
  execFileSync('bash', ['scripts/install-lxd.sh'], { stdio: 'pipe', timeout: 300_000 });
  const t0 = Date.now();
  // No cleanupLab here: LabCloud.start shuts a leftover LXD daemon of c2's down cleanly, then removes the rest.
  // c2's side of SSH: every command in c2's namespace, with its OVS directories and its own LXD daemon's LXD_DIR.
  node = await TestSshd.startInNode({ netns: C2, ovsDir: join(NODES_DIR, C2), env: { LXD_DIR: labLxdDir(NODES_DIR, C2) } });
  const nodes = standardNodes(P, 2)
    .filter((n) => [GW1, C1, C2, SW].includes(n.name))
    .map((n) => (n.name === C2 ? { ...n, sshTarget: c2().target } : n));
  cloud = await LabCloud.start({ prefix: P, dir: DIR, nodes, lxdComputes: [C2], ssh: c2().labSsh });
  expect(lab().config.vms.labDir).toBe(NODES_DIR);
  expect((await lab().api('POST', '/api/v1/subnets', { name: 'front' })).status).toBe(201);
  subnet = (await lab().api<{ subnets: SubnetView[] }>('GET', '/api/v1/subnets')).json.subnets.find((s) => s.name === 'front')!;
  console.log(`lab: ${nodes.length} nodes (${C2} over SSH on port ${c2().sshd.port}, with its LXD daemon) provisioned, image imported in ${Date.now() - t0} ms`);
}, 300_000);

afterAll(async () => {
  await stopSshLab(cloud, node, P); // the cloud stops c2's LXD daemon (and so its containers) and removes its directory
  expect(existsSync(labLxdBaseDir(NODES_DIR, C2))).toBe(false);
}, 120_000);

describe('LXD VMs on a node reached over real SSH', () => {
  it('1: c2 is provisioned over SSH, its bootstrap commands in sshd\'s log', async () => {
    const view = await apiNode(lab(), C2);
    const cmds = c2().commandLog();
    console.log(`step 1: ${C2} (${view?.sshTarget}) provisioning ${view?.provisioning?.state}; ${cmds.length} commands came through sshd (${cmds.filter((c) => c.includes('ovs-vsctl')).length} ovs-vsctl); sshd connections ${c2().sshd.connectionPids().length}`);
    expect(view?.provisioning?.state).toBe('ready');
    expect(cmds.some((c) => vsctlBr0('add-br').test(c))).toBe(true);
    expect(c2().sshd.connectionPids()).toHaveLength(1);
  });

  it('2: an LXD VM on c2 is made by lxc commands over SSH; a netns VM on c1 beside it', async () => {
    for (const [name, node] of [['n1', C1], ['l1', C2]] as const) {
      const logged = c2().commandLog().length;
      const t = Date.now();
      const res = await lab().api<{ vm: VmView }>('POST', '/api/v1/vms', { name, subnet: 'front', node, gateway: GW1, flavor: 'tiny', image: 'busybox' });
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      vms.set(name, res.json.vm);
      const lxc = lxcLines(c2().commandLog().slice(logged));
      console.log(`step 2: ${name} on ${node} (${res.json.vm.ip}, ${res.json.vm.mac}) created in ${Date.now() - t} ms; ${lxc.length} lxc commands over SSH`);
      if (node === C1) expect(lxc).toEqual([]);
      else {
        expect(lxc.some((c) => c.includes(`'lxc' init busybox l1`))).toBe(true);
        expect(lxc.some((c) => c.includes(`'lxc' start l1`))).toBe(true);
      }
    }
    const { mac, ip, port } = vm('l1');
    const state = JSON.parse((await lxcOn(lab(), C2).run(['lxc', 'query', '/1.0/instances/l1/state'])).stdout) as { status: string; network: Record<string, { hwaddr: string }> };
    expect(state.status).toBe('Running');
    expect(state.network['eth0']?.hwaddr).toBe(mac);
    expect((await lab().lab.node(C2).vsctl('port-to-br', port)).trim()).toBe('br0');
    expect(await lab().lab.node(C2).vsctl('get', 'interface', port, 'external_ids:attached-mac')).toBe(`"${mac}"\n`);
    // Inside the guest (exec through the API, so `lxc exec` over SSH): our MAC and address on eth0.
    const addr = (await vmExec(lab(), 'l1', ['ip', 'addr', 'show', 'eth0'])).stdout;
    expect(addr).toContain(`link/ether ${mac}`);
    expect(addr).toContain(`inet ${ip}/`);
    // Not on the machine's own LXD, and the netns VM is a namespace.
    expect((await new LocalExecutor().run(['lxc', 'query', '/1.0/instances/l1'], { okCodes: [0, 1] })).code).toBe(1);
    expect(await namespacesWith(`${P}v-n1`)).toEqual([`${P}v-n1`]);
  }, 180_000);

  it('3: the LXD VM pings the netns VM on c1 (10/10 each way) and its gateway', async () => {
    const pairs = [['l1', vm('n1').ip], ['n1', vm('l1').ip], ['l1', subnet.gatewayIp]] as const;
    for (const [from, to] of pairs) await pingFrom(lab(), from, to, { count: 1 }); // warm-up: the guests' ARP
    for (const [from, to] of pairs) {
      const r = await pingFrom(lab(), from, to);
      console.log(`step 3: ${from} -> ${to}: ${r.received}/${r.sent} received, avg ${r.avgMs ?? '-'} ms`);
      expect(r.sent).toBe(10);
      expect(r.lost).toBe(0);
    }
  }, 90_000);

  it('4: a create failing half-way over SSH (after lxc init) is rolled back over SSH: nothing left on c2', async () => {
    // A veth left on c2 with the name l8's port will take (what a crashed start leaves): `lxc start` cannot make it.
    // The controller names ports `mcvm<sequence>`; no VM has been created since l1.
    const port = `mcvm${Number(/^mcvm(\d+)$/.exec(vm('l1').port)![1]) + 1}`;
    await lab().lab.node(C2).exec('ip', ['link', 'add', port, 'type', 'veth', 'peer', 'name', `${port}p`]);
    const logged = c2().commandLog().length;
    const before = { containers: await c2Containers(), ports: await c2Ports() };
    const t = Date.now();
    const res = await lab().api<{ error?: { code: string; message: string } }>('POST', '/api/v1/vms', { name: 'l8', subnet: 'front', node: C2, gateway: GW1, flavor: 'tiny', image: 'busybox' });
    if (res.status === 201) expect((await lab().api('DELETE', '/api/v1/vms/l8')).status).toBe(200); // not left for step 5
    const lxc = lxcLines(c2().commandLog().slice(logged));
    const links = (await lab().lab.node(C2).exec('ip', ['-o', 'link', 'show'])).split('\n').filter((l) => l.includes(` ${port}`));
    console.log(`step 4: l8 with its port ${port} taken on ${C2}: ${res.status} ${res.json.error?.code}: ${res.json.error?.message.split('\n')[0] ?? JSON.stringify(res.json)} (${Date.now() - t} ms); lxc over SSH: ${lxc.map((c) => c.replace(LXC_LINE, '').split(' ')[0]).join(', ')}`);
    expect({ status: res.status, code: res.json.error?.code }).toEqual({ status: 502, code: 'backend_failed' });
    expect(res.json.error?.message).toContain(`creating VM 'l8' on node '${C2}' failed`);
    expect(lxc.some((c) => c.includes(`'lxc' init busybox l8`))).toBe(true);
    expect(lxc.some((c) => c.includes(`'lxc' delete l8 --force`))).toBe(true);
    expect((await lab().api('GET', '/api/v1/vms/l8')).status).toBe(404);
    expect(await c2Containers()).toEqual(before.containers);
    expect(await c2Ports()).toEqual(before.ports);
    expect(links).toEqual([]);
  }, 120_000);

  it('4b: an image c2 lacks: 400 over SSH, and nothing left of the VM on c2', async () => {
    const logged = c2().commandLog().length;
    const before = { containers: await c2Containers(), ports: await c2Ports() };
    const t = Date.now();
    const res = await lab().api<{ error?: { code: string; message: string } }>('POST', '/api/v1/vms', { name: 'l9', subnet: 'front', node: C2, gateway: GW1, flavor: 'tiny', image: 'no-such-image' });
    const lxc = lxcLines(c2().commandLog().slice(logged));
    console.log(`step 4b: l9 with image no-such-image on ${C2}: ${res.status} ${res.json.error?.message ?? JSON.stringify(res.json)} (${Date.now() - t} ms, ${lxc.length} lxc commands over SSH)`);
    expect({ status: res.status, code: res.json.error?.code }).toEqual({ status: 400, code: 'invalid' });
    expect(res.json.error?.message).toContain("'no-such-image'");
    expect(res.json.error?.message).toContain(`on node '${C2}'`);
    expect(lxc.length).toBeGreaterThan(0); // the image lookup itself went over SSH
    expect(lxc.filter((c) => c.includes(`'lxc' init `))).toEqual([]);
    expect((await lab().api('GET', '/api/v1/vms/l9')).status).toBe(404);
    expect(await c2Containers()).toEqual(before.containers);
    expect(await c2Ports()).toEqual(before.ports);
    const subnets = (await lab().api<{ subnets: SubnetView[] }>('GET', '/api/v1/subnets')).json.subnets;
    expect(subnets.find((s) => s.name === 'front')?.addresses.used).toBe(2); // l8's and l9's addresses went back
  }, 60_000);

  it('5: DELETE removes the container over SSH, its port and its flows', async () => {
    const logged = c2().commandLog().length;
    const t = Date.now();
    const res = await lab().api('DELETE', '/api/v1/vms/l1');
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const ms = Date.now() - t;
    const lxc = lxcLines(c2().commandLog().slice(logged));
    const { mac, ip, port } = vm('l1');
    const mentions = await flowsMentioning(lab(), { mac, ip });
    const containers = await c2Containers();
    const ports = await c2Ports();
    console.log(`step 5: l1 deleted in ${ms} ms (${lxc.length} lxc commands over SSH); left: containers ${JSON.stringify(containers)}, port ${ports.includes(port)}, ${mentions} flows`);
    expect(lxc.some((c) => c.includes(`'lxc' delete l1 --force`))).toBe(true);
    expect(containers).toEqual([]);
    expect(ports).not.toContain(port);
    expect(mentions).toBe(0);
    expect((await lab().api('DELETE', '/api/v1/vms/n1')).status).toBe(200);
    expect(await namespacesWith(`${P}v-`)).toEqual([]);
    expect(c2().sshd.connectionPids()).toHaveLength(1); // every command of every step on the controller's one connection
  }, 90_000);
});
