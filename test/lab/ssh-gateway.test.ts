// A gateway node reached over real SSH (prefix `mcg`), end to end through the HTTP API: the same loopback sshd as
// test/lab/ssh-node.test.ts (ForceCommand runs each command line in the node's namespace with its OVS directories),
// this time standing for a gateway, whose bootstrap also has its SNAT rules and uplink to make. Checked: provisioning
// 'ready' with the bootstrap's iptables and ovs-vsctl commands coming through sshd; a VM's traffic to the outside
// leaving through it SNATed (masqueraded) to the gateway's outside address, replies back; DELETE of the node undoing the NAT rules
// and the bridges over SSH and closing the connection.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabCloud } from '../../src/lab/cloud.js';
import { run } from '../../src/lab/exec.js';
import { INTERNET_HOST, standardNodes, type LabNodeDef } from '../../src/lab/lab.js';
import { NAT_CHAIN } from '../../src/hosts/bootstrap/nat.js';
import { TestSshd, linesOf, vsctlBr0, type InNodeSshd } from '../hosts/helpers/sshd.js';
import { waitFor } from '../helpers/wait.js';
import { apiNode, stopSshLab, waitNode } from './helpers.js';
import { capture, pingFrom } from './traffic.js';
import type { VmView } from '../../src/cloud/index.js';

const P = 'mcg';
const DIR = join('/tmp/minicloud-lab', P); // LabCloud's default: node N's OVS lives in DIR/nodes/N
const GW1 = `${P}-gw1`;
const C1 = `${P}-c1`;
const SW = `${P}-sw`; // a compute's vxlan-sw port needs a switch node to point to

let node: InNodeSshd | undefined;
let cloud: LabCloud | undefined;
let gwDef: LabNodeDef;
let vm: VmView;

const lab = (): LabCloud => cloud!;
const gw = (): InNodeSshd => node!;

/** The gateway's NAT table as iptables prints it (-S), read from inside its namespace, not over SSH. */
const natRules = async (): Promise<string> => run('ip', ['netns', 'exec', GW1, 'iptables', '-w', '5', '-t', 'nat', '-S']);
const gwBridges = async (): Promise<string[]> => (await lab().lab.node(GW1).vsctl('list-br')).split('\n').filter(Boolean);

beforeAll(async () => {
  const t0 = Date.now();
  node = await TestSshd.startInNode({ netns: GW1, ovsDir: join(DIR, 'nodes', GW1) });
  const nodes = standardNodes(P, 1)
    .filter((n) => [GW1, C1, SW].includes(n.name))
    .map((n) => (n.name === GW1 ? { ...n, sshTarget: gw().target } : n));
  gwDef = nodes.find((n) => n.name === GW1)!;
  cloud = await LabCloud.start({ prefix: P, dir: DIR, nodes, ssh: gw().labSsh });
  const t1 = Date.now();
  expect((await lab().api('POST', '/api/v1/subnets', { name: 'front' })).status).toBe(201);
  const res = await lab().api<{ vm: VmView }>('POST', '/api/v1/vms', { name: 'a1', subnet: 'front', node: C1, gateway: GW1, flavor: 'tiny', image: 'busybox' });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  vm = res.json.vm;
  console.log(`lab: ${nodes.length} nodes (${GW1} over SSH, port ${gw().sshd.port}) provisioned and connected in ${t1 - t0} ms; a VM in ${Date.now() - t1} ms`);
}, 150_000);

afterAll(() => stopSshLab(cloud, node, P), 60_000);

describe('a gateway node provisioned over real SSH', () => {
  it('1: the gateway is ready; its SNAT rule and bridges were made by commands that came through sshd', async () => {
    const view = await waitNode(lab(), GW1, (n) => n?.provisioning?.state === 'ready');
    const cmds = gw().commandLog();
    const nat = await natRules();
    console.log(
      `step 1: ${GW1} (${view?.sshTarget}) provisioning ${view?.provisioning?.state}; ${cmds.length} commands through sshd ` +
        `(${linesOf(cmds, 'iptables').length} iptables, ${linesOf(cmds, 'ovs-vsctl').length} ovs-vsctl); bridges ${(await gwBridges()).join(' ')}; ` +
        `NAT: ${nat.split('\n').filter((l) => l.includes(NAT_CHAIN)).join(' | ')}`,
    );
    expect(view?.provisioning?.state).toBe('ready');
    expect(linesOf(cmds, 'iptables').some((c) => c.includes(`-A ${NAT_CHAIN} `) && c.endsWith('-j MASQUERADE'))).toBe(true);
    expect(cmds.some((c) => vsctlBr0('add-br').test(c))).toBe(true);
    // The seed's rule: the overlay's traffic to anywhere but the overlay, leaving by the outside interface, masqueraded.
    expect(nat).toMatch(new RegExp(`^-A POSTROUTING -j ${NAT_CHAIN}$`, 'm'));
    expect(nat).toMatch(new RegExp(`^-A ${NAT_CHAIN} -s (\\S+) ! -d \\1 -o eth1 .*-j MASQUERADE$`, 'm'));
    expect(gw().sshd.connectionPids()).toHaveLength(1);
  });

  it("1b: the lab's underlay is warm: every node's OVS knows every other node as a tunnel neighbour", async () => {
    // Else the first VXLAN packet to a peer is dropped while OVS resolves it (the egress ping below lost its first).
    const nodes = [...lab().lab.ovs.keys()];
    const known = new Map<string, string[]>();
    for (const n of nodes) known.set(n, [...(await lab().lab.node(n).appctl('tnl/neigh/show')).matchAll(/^(\d+\.\d+\.\d+\.\d+)\s/gm)].map((m) => m[1]!).sort());
    console.log(`step 1b: tunnel neighbours per node ${JSON.stringify(Object.fromEntries(known))}`);
    for (const n of nodes) {
      const peers = lab().lab.opts.nodes.filter((d) => d.name !== n).map((d) => d.underlayIp).sort();
      expect(known.get(n), n).toEqual(expect.arrayContaining(peers));
    }
  });

  it("2: the VM's traffic to the outside leaves through the SSH gateway, SNATed to its outside address; replies come back", async () => {
    const cap = await capture(lab().lab.outsideNs, 'out', 'icmp');
    const r = await pingFrom(lab(), 'a1', INTERNET_HOST, { count: 5 });
    const lines = await cap.stop();
    const requests = lines.filter((l) => l.includes(`${gwDef.outsideIp} > ${INTERNET_HOST}: ICMP echo request`)).length;
    const replies = lines.filter((l) => l.includes(`${INTERNET_HOST} > ${gwDef.outsideIp}: ICMP echo reply`)).length;
    console.log(`step 2: a1 (${vm.ip}) -> ${INTERNET_HOST}: ${r.received}/${r.sent}, avg ${r.avgMs} ms; seen outside: ${requests} requests from ${gwDef.outsideIp}, ${replies} replies`);
    expect(r.received).toBe(5);
    expect(requests).toBe(5);
    expect(replies).toBe(5);
    expect(lines.filter((l) => l.includes(vm.ip))).toEqual([]); // the overlay's address never reaches the outside
  }, 30_000);

  it('3: DELETE undoes the NAT rules and the bridges over SSH, then closes the connection', async () => {
    expect((await lab().api('DELETE', '/api/v1/vms/a1')).status).toBe(200);
    const logged = gw().commandLog().length;
    const t0 = Date.now();
    const res = await lab().api('DELETE', `/api/v1/nodes/${GW1}`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    await waitFor(`${GW1} unprovisioned`, gwBridges, (b) => b.length === 0, 20_000);
    const nat = await waitFor(`${GW1}'s NAT chain gone`, natRules, (n) => !n.includes(NAT_CHAIN), 10_000);
    const undoneMs = Date.now() - t0;
    const pids = await waitFor('sshd connection closed', () => gw().sshd.connectionPids(), (p) => p.length === 0, 10_000, 50);
    const removal = gw().commandLog().slice(logged);
    console.log(
      `step 3: DELETE ${GW1}: ${res.status}; undone within ${undoneMs} ms by ${removal.length} commands over SSH ` +
        `(${linesOf(removal, 'iptables').length} iptables); node listed: ${(await apiNode(lab(), GW1)) !== undefined}; sshd connections ${pids.length}`,
    );
    expect(linesOf(removal, 'iptables').some((c) => c.endsWith(`-X ${NAT_CHAIN}`))).toBe(true);
    expect(removal.some((c) => vsctlBr0('del-br').test(c))).toBe(true);
    expect(nat).not.toContain(NAT_CHAIN);
    expect(pids).toEqual([]);
  }, 40_000);
});
