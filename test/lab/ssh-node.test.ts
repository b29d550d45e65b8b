// A lab node reached over real SSH (prefix `mcs`), end to end through the HTTP API. The switch node's record has an
// sshTarget `root@127.0.0.1:PORT`: an sshd on loopback whose ForceCommand runs each requested command line inside the
// node's namespace with the node's OVS directories (`ip netns exec NS env OVS_...=DIR sh -c "$SSH_ORIGINAL_COMMAND"`),
// so the controller provisions it through SshExecutor (host key pinned beforehand in the test's known_hosts) while
// the other nodes go through `ip netns exec`. Checked: provisioning 'ready', bootstrap and flows on the node's OVS,
// broadcast between VMs on two computes crossing it, DELETE undoing the bootstrap over SSH and closing the
// connection, and a changed host key failing provisioning with a clear status until the operator re-pins it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshExecutor } from '../../src/hosts/ssh/executor.js';
import { LabCloud } from '../../src/lab/cloud.js';
import { run } from '../../src/lab/exec.js';
import { standardNodes, type LabNodeDef } from '../../src/lab/lab.js';
import { numberToIpv4, parseCidr } from '../../src/topology/model.js';
import { NASTY_STRINGS } from '../hosts/helpers/nasty.js';
import { TestSshd, vsctlBr0, type InNodeSshd } from '../hosts/helpers/sshd.js';
import { waitFor } from '../helpers/wait.js';
import { dumpFlows } from '../runtime/helpers.js';
import { apiDatapaths, apiNode, stopSshLab, waitDatapath, waitNode } from './helpers.js';
import { capture, pingFrom, vmExec } from './traffic.js';
import type { SubnetView, VmView } from '../../src/cloud/index.js';

const P = 'mcs';
const DIR = join('/tmp/minicloud-lab', P); // LabCloud's default: node N's OVS lives in DIR/nodes/N
const SW = `${P}-sw`;
const C1 = `${P}-c1`;
const C2 = `${P}-c2`;
const GW1 = `${P}-gw1`;

let node: InNodeSshd | undefined;
let cloud: LabCloud | undefined;
let swDef: LabNodeDef;
let swMacBefore = '';
const vms = new Map<string, VmView>();

const lab = (): LabCloud => cloud!;
const sw = (): InNodeSshd => node!;

/** The switch node's OVS as seen from inside its namespace (not over SSH); a bridge deleted meanwhile reads as gone. */
async function swOvs(): Promise<{ bridges: string[]; controller: string; tunnels: string[]; flows: number }> {
  const ovs = lab().lab.node(SW);
  const none = { controller: '', tunnels: [], flows: 0 };
  const bridges = (await ovs.vsctl('list-br')).split('\n').filter(Boolean);
  if (!bridges.includes('br0')) return { bridges, ...none };
  try {
    const controller = (await ovs.vsctl('get-controller', 'br0')).trim();
    const tunnels = [...(await ovs.vsctl('show')).matchAll(/remote_ip="([^"]+)"/g)].map((m) => m[1]!).sort();
    const flows = (await dumpFlows(ovs)).length;
    return { bridges, controller, tunnels, flows };
  } catch {
    return { bridges: ['(changing)'], ...none };
  }
}

/** The MAC of the switch node's br-phy (its tunnel endpoint on the underlay). */
async function swBrPhyMac(): Promise<string> {
  return (JSON.parse(await lab().lab.node(SW).exec('ip', ['-j', 'link', 'show', 'br-phy'])) as { address: string }[])[0]!.address;
}

/** Sum of n_packets over the switch node's br0 flows. */
async function swPackets(): Promise<number> {
  const out = await lab().lab.node(SW).ofctl('-O', 'OpenFlow13', 'dump-flows', 'br0');
  return [...out.matchAll(/n_packets=(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
}

function broadcastOf(cidr: string): string {
  const { network, prefix } = parseCidr(cidr);
  return numberToIpv4(network + 2 ** (32 - prefix) - 1);
}

/** a1 (on c1) pings the subnet's broadcast address 3 times; answers how many a2 (on c2, behind the switch) saw. */
async function broadcastSeenByA2(): Promise<number> {
  const subnets = (await lab().api<{ subnets: SubnetView[] }>('GET', '/api/v1/subnets')).json.subnets;
  const cap = await capture(`${P}v-a2`, 'eth0', 'icmp and ether broadcast', ['-Q', 'in']);
  await vmExec(lab(), 'a1', ['ping', '-n', '-b', '-c', '3', '-i', '0.2', '-W', '1', broadcastOf(subnets.find((s) => s.name === 'front')!.cidr)]);
  return (await cap.stop()).length;
}

beforeAll(async () => {
  const t0 = Date.now();
  // The node's side of SSH: a login whose every command runs in the node's namespace, with its OVS directories; its
  // host key pinned before the first contact, as an operator would from the node's console (no trust on first use).
  node = await TestSshd.startInNode({ netns: SW, ovsDir: join(DIR, 'nodes', SW) });
  const nodes = standardNodes(P, 2)
    .filter((n) => [GW1, C1, C2, SW].includes(n.name))
    .map((n) => (n.name === SW ? { ...n, sshTarget: sw().target } : n));
  swDef = nodes.find((n) => n.name === SW)!;
  // The node under test is a switch node: broadcast through it (`network.broadcast: switch-node`), not head-end.
  cloud = await LabCloud.start({ prefix: P, dir: DIR, nodes, ssh: sw().labSsh, broadcast: 'switch-node' });
  const t1 = Date.now();
  expect((await lab().api('POST', '/api/v1/subnets', { name: 'front' })).status).toBe(201);
  for (const [name, node] of [['a1', C1], ['a2', C2]] as const) {
    const res = await lab().api<{ vm: VmView }>('POST', '/api/v1/vms', { name, subnet: 'front', node, gateway: GW1, flavor: 'tiny', image: 'busybox' });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    vms.set(name, res.json.vm);
  }
  console.log(`lab: ${nodes.length} nodes (${SW} over SSH, port ${sw().sshd.port}) provisioned and connected in ${t1 - t0} ms; 2 VMs in ${Date.now() - t1} ms`);
}, 150_000);

afterAll(() => stopSshLab(cloud, node, P), 60_000);

describe('a lab node provisioned over real SSH', () => {
  it('1: the SSH node is ready, with its bootstrap and the controller\'s flows, all made through sshd', async () => {
    const view = await apiNode(lab(), SW);
    const ovs = await swOvs();
    const cmds = sw().commandLog();
    const dp = (await apiDatapaths(lab())).find((d) => d.node === SW);
    swMacBefore = await swBrPhyMac();
    console.log(
      `step 1: ${SW} (${view?.sshTarget}) provisioning ${view?.provisioning?.state}; OVS ${JSON.stringify(ovs)}; datapath ${dp?.dpid} connected ${dp?.connected}; ` +
        `${cmds.length} commands came through sshd (${cmds.filter((c) => c.includes('ovs-vsctl')).length} ovs-vsctl); sshd connections ${sw().sshd.connectionPids().length}`,
    );
    expect(view?.provisioning?.state).toBe('ready');
    expect(ovs.bridges).toEqual(['br-phy', 'br0']);
    expect(ovs.controller).toBe(`unix:${join(DIR, 'nodes', SW, 'controller.sock')}`);
    expect(ovs.tunnels).toEqual(['10.99.0.11', '10.99.0.12']); // the computes; a gateway is no broadcast member
    expect(ovs.flows).toBeGreaterThan(0);
    expect(dp?.connected).toBe(true);
    // Every command of its bootstrap, quoted by SshExecutor and read back by `sh -c` inside the namespace.
    expect(cmds.some((c) => vsctlBr0('add-br').test(c))).toBe(true);
    expect(sw().sshd.connectionPids()).toHaveLength(1); // one connection, reused by every command
  });

  it('1b: through the node\'s sshd, a command runs in its namespace with its OVS directories, every argument intact', async () => {
    const ex = new SshExecutor({ host: '127.0.0.1', port: sw().sshd.port, username: 'root', privateKey: sw().sshd.clientKey, knownHosts: sw().knownHostsFile });
    try {
      const ns = (await ex.run(['readlink', '/proc/self/ns/net'])).stdout.trim();
      const env = (await ex.run(['printenv', 'OVS_RUNDIR', 'OVS_DBDIR', 'OVS_LOGDIR'])).stdout.trim().split('\n');
      const echoed = (await ex.run(['printf', '%s\\0', ...NASTY_STRINGS])).stdout.split('\0').slice(0, -1);
      const t0 = Date.now();
      for (let i = 0; i < 10; i++) await ex.run(['true']);
      const sshMs = (Date.now() - t0) / 10;
      const t1 = Date.now();
      for (let i = 0; i < 10; i++) await run('ip', ['netns', 'exec', SW, 'true']);
      const netnsMs = (Date.now() - t1) / 10;
      console.log(`step 1b: one command over SSH (reused connection, \`ip netns exec\` behind it) ${sshMs.toFixed(0)} ms; \`ip netns exec\` alone ${netnsMs.toFixed(0)} ms`);
      expect(ns).toBe((await run('ip', ['netns', 'exec', SW, 'readlink', '/proc/self/ns/net'])).trim());
      expect(ns).not.toBe((await run('readlink', ['/proc/self/ns/net'])).trim());
      expect(env).toEqual(Array(3).fill(join(DIR, 'nodes', SW)));
      expect(echoed).toEqual(NASTY_STRINGS);
    } finally {
      await ex.close();
    }
    await waitFor('back to the controller\'s one connection', () => sw().sshd.connectionPids(), (p) => p.length === 1, 5_000, 50);
  });

  it('2: broadcast between VMs on two computes crosses the SSH node; unicast works', async () => {
    const before = await swPackets();
    const seen = await broadcastSeenByA2();
    // OVS's userspace datapath pushes flow counters up every ~0.5 s: wait for them to count the 3 broadcasts.
    const through = (await waitFor(`${SW}'s flow counters`, swPackets, (n) => n - before >= 3, 5_000, 100)) - before;
    const r = await pingFrom(lab(), 'a1', vms.get('a2')!.ip, { count: 5, interval: '0.1', waitS: 2, numeric: true });
    console.log(`step 2: a1 -> front's broadcast x3: a2 saw ${seen}; ${through} packets through ${SW}'s flows; a1 -> a2 unicast ${r.received}/${r.sent}, avg ${r.avgMs} ms`);
    expect(seen).toBe(3);
    expect(through).toBeGreaterThanOrEqual(3);
    expect(r.received).toBe(5);
  }, 30_000);

  it('3: DELETE undoes the bootstrap over SSH, then closes the SSH connection', async () => {
    const logged = sw().commandLog().length;
    const t0 = Date.now();
    const res = await lab().api('DELETE', `/api/v1/nodes/${SW}`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const ovs = await waitFor(`${SW} unprovisioned`, swOvs, (o) => o.bridges.length === 0, 20_000);
    const undoneMs = Date.now() - t0;
    const pids = await waitFor('sshd connection closed', () => sw().sshd.connectionPids(), (p) => p.length === 0, 10_000, 50);
    const removal = sw().commandLog().slice(logged);
    console.log(`step 3: DELETE ${SW}: ${res.status}; bootstrap undone within ${undoneMs} ms by ${removal.length} commands over SSH; OVS now ${JSON.stringify(ovs)}; sshd connections ${pids.length} after ${Date.now() - t0} ms`);
    expect(removal.some((c) => vsctlBr0('del-br').test(c))).toBe(true);
    expect(ovs).toEqual({ bridges: [], controller: '', tunnels: [], flows: 0 });
    expect(pids).toEqual([]);
  }, 40_000);

  it('4: a changed host key fails provisioning with a clear status; re-pinned, the node is provisioned again', async () => {
    const oldKey = sw().sshd.hostFingerprint();
    await sw().sshd.restart({ newHostKey: true }); // a reinstalled node, or an impostor on its address
    const logged = sw().commandLog().length;
    const res = await lab().api('POST', '/api/v1/nodes', { name: SW, roles: swDef.roles, underlayIp: swDef.underlayIp, sshTarget: swDef.sshTarget });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const failed = await waitNode(lab(), SW, (n) => n?.provisioning?.state === 'failed');
    const error = failed?.provisioning?.error ?? '';
    console.log(`step 4: ${SW} with a new host key: ${failed?.provisioning?.state}: ${error}`);
    expect(error).toContain(`host key of [127.0.0.1]:${sw().sshd.port} has CHANGED`);
    expect(error).not.toContain('Open vSwitch is not running'); // the cause, not a guess about the node
    expect(error).toContain(`pinned ${oldKey}`);
    expect(error).toContain(`offered ${sw().sshd.hostFingerprint()}`);
    expect(sw().commandLog().slice(logged)).toEqual([]); // nothing ran on the impostor
    expect((await swOvs()).bridges).toEqual([]);

    // The operator checks the new key and pins it: the next retry (backoff) provisions the node.
    sw().pin();
    const t0 = Date.now();
    const ready = await waitNode(lab(), SW, (n) => n?.provisioning?.state === 'ready', 60_000, 250);
    const dp = await waitDatapath(lab(), SW);
    const ovs = await waitFor(`${SW} has flows`, swOvs, (o) => o.flows > 0, 15_000);
    for (const n of [C1, C2]) await waitNode(lab(), n, (v) => v?.provisioning?.state === 'ready');
    // br-phy takes the underlay NIC's MAC: the re-created one answers with the MAC the other nodes' tunnel neighbour
    // caches hold, so they need not relearn it (with a MAC of OVS's choosing, broadcast was 0/3 here until they did).
    const swMacAfter = await swBrPhyMac();
    expect(swMacAfter).toBe(swMacBefore);
    // Up to 3 rounds, 1 s apart, until one sees all 3.
    const rounds: number[] = [];
    const seen = await waitFor(
      'a2 to see a1\'s 3 broadcasts in one round',
      async () => (rounds.push(await broadcastSeenByA2()), rounds.at(-1)!),
      (n) => n === 3 || rounds.length >= 3,
      30_000,
      1_000,
    );
    console.log(`step 4: re-pinned: ${SW} ${ready?.provisioning?.state} after ${Date.now() - t0} ms, connected ${dp?.connected}, OVS ${JSON.stringify(ovs)}; br-phy MAC ${swMacBefore} -> ${swMacAfter}; broadcast a1 -> a2 per round ${JSON.stringify(rounds)} of 3`);
    expect(ovs.tunnels).toEqual(['10.99.0.11', '10.99.0.12']);
    expect(seen).toBe(3);
  }, 120_000);
});
