// LXD VMs in the lab (issue 7): LabCloud's `lxdComputes` gives c2 an LXD daemon of its own (inside its namespace,
// talking to its OVS) and the `lxd` VM backend, while c1 keeps netns VMs. Through the public API: a netns VM and an
// LXD VM in one subnet on different nodes (VXLAN), an LXD VM in another subnet (routed), pings both ways, the
// container checked on the node's br0 with our MAC, then everything deleted and nothing left behind. One LXD VM asks
// for image 'busybox' (an alias of the lab's image), and one for an image the node lacks. Prefix `mcx`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labLxdBaseDir } from '../../src/daemon/node-executors.js';
import { LocalExecutor } from '../../src/hosts/local.js';
import { LabCloud } from '../../src/lab/cloud.js';
import { namespacesWith } from '../../src/lab/lab.js';
import type { PingResult } from '../helpers/ping.js';
import { flowsMentioning, lxcOn, pingFrom, vmExec } from './traffic.js';
import type { VmExecResult, VmView } from '../../src/cloud/index.js';
import type { NetnsExecutor } from '../../src/hosts/netns.js';

const P = 'mcx';
const C1 = `${P}-c1`;
const C2 = `${P}-c2`;
// l1 asks for 'busybox' (the name the docs and the demo use, an alias of the lab's image), l2 for `vms.lxdImage`.
const VMS = [
  { name: 'n1', subnet: 'front', node: C1, lxd: false, image: 'busybox' },
  { name: 'l1', subnet: 'front', node: C2, lxd: true, image: 'busybox' },
  { name: 'l2', subnet: 'back', node: C2, lxd: true, image: undefined },
] as const;

let cloud: LabCloud | undefined;
let lxdBase = '';
const vms = new Map<string, VmView>();
const vm = (name: string): VmView => vms.get(name)!;
const subnetOf = (name: string): string => VMS.find((v) => v.name === name)!.subnet;

/** `lxc` against c2's own daemon (the executor the controller uses for c2 carries the same environment). */
const c2Lxc = (): NetnsExecutor => lxcOn(cloud!, C2);
const exec = (name: string, command: string[]): Promise<VmExecResult> => vmExec(cloud!, name, command);
const ping = (from: string, to: string, count = 10): Promise<PingResult> => pingFrom(cloud!, from, vm(to).ip, { count });

function show(r: PingResult): string {
  return `${r.received}/${r.sent} received, avg ${r.avgMs ?? '-'} ms`;
}

beforeAll(async () => {
  execFileSync('bash', ['scripts/install-lxd.sh'], { stdio: 'pipe', timeout: 300_000 });
  const t0 = Date.now();
  cloud = await LabCloud.start({ prefix: P, lxdComputes: [C2] });
  lxdBase = labLxdBaseDir(cloud.config.vms.labDir!, C2);
  console.log(`lab with an LXD daemon on ${C2}: started, provisioned and image imported in ${Date.now() - t0} ms`);
  for (const name of ['front', 'back']) expect((await cloud.api('POST', '/api/v1/subnets', { name })).status).toBe(201);
}, 240_000);

afterAll(async () => {
  await cloud?.stop();
  expect(await namespacesWith(`${P}-`, `${P}v-`)).toEqual([]);
  if (lxdBase) expect(existsSync(lxdBase)).toBe(false);
}, 90_000);

describe('LXD VMs in the lab', () => {
  it("gives c2's image the alias 'busybox' too", async () => {
    const target = async (alias: string): Promise<string> => (JSON.parse((await c2Lxc().run(['lxc', 'query', `/1.0/images/aliases/${alias}`])).stdout) as { target: string }).target;
    const [own, busybox] = [await target(cloud!.config.vms.lxdImage), await target('busybox')];
    const images = JSON.parse((await c2Lxc().run(['lxc', 'query', '/1.0/images'])).stdout) as string[];
    console.log(`${C2}'s LXD: ${images.length} image(s); ${cloud!.config.vms.lxdImage} -> ${own.slice(0, 12)}, busybox -> ${busybox.slice(0, 12)}`);
    expect(images).toHaveLength(1);
    expect(busybox).toBe(own);
  });

  it('creates a netns VM on c1 and LXD VMs on c2 through the API', async () => {
    for (const v of VMS) {
      const image = v.image ?? cloud!.config.vms.lxdImage;
      const t = Date.now();
      const res = await cloud!.api<{ vm: VmView }>('POST', '/api/v1/vms', { name: v.name, subnet: v.subnet, node: v.node, flavor: 'tiny', image });
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      vms.set(v.name, res.json.vm);
      console.log(`${v.name} (${v.lxd ? 'lxd' : 'netns'} on ${v.node}, image ${image}, ${res.json.vm.ip}) created in ${Date.now() - t} ms`);
    }
  }, 120_000);

  it('an image c2 does not have: a clear error naming the image and the node, and nothing left of the VM', async () => {
    const t = Date.now();
    const res = await cloud!.api<{ error?: { code: string; message: string } }>('POST', '/api/v1/vms', { name: 'l9', subnet: 'front', node: C2, flavor: 'tiny', image: 'no-such-image' });
    console.log(`l9 with image no-such-image on ${C2}: ${res.status} ${res.json.error?.message ?? JSON.stringify(res.json)} (${Date.now() - t} ms)`);
    expect({ status: res.status, code: res.json.error?.code }).toEqual({ status: 400, code: 'invalid' });
    expect(res.json.error?.message).toContain("'no-such-image'");
    expect(res.json.error?.message).toContain(`on node '${C2}'`);
    expect((await cloud!.api('GET', '/api/v1/vms/l9')).status).toBe(404);
    expect((await c2Lxc().run(['lxc', 'query', '/1.0/instances/l9'], { okCodes: [0, 1] })).code).toBe(1);
    expect((await cloud!.lab.node(C2).vsctl('list-ports', 'br0')).split('\n').filter((p) => p.includes('l9'))).toEqual([]);
  }, 60_000);

  it("runs the LXD VMs as containers of c2's daemon, on c2's br0 with our MAC", async () => {
    const lxc = c2Lxc();
    const ovs = cloud!.lab.node(C2);
    for (const name of ['l1', 'l2']) {
      const { mac, port } = vm(name);
      const state = JSON.parse((await lxc.run(['lxc', 'query', `/1.0/instances/${name}/state`])).stdout) as { status: string; network: Record<string, { hwaddr: string }> };
      expect(state.status).toBe('Running');
      expect(state.network['eth0']?.hwaddr).toBe(mac);
      expect((await ovs.vsctl('port-to-br', port)).trim()).toBe('br0');
      expect(await ovs.vsctl('get', 'interface', port, 'external_ids:attached-mac')).toBe(`"${mac}"\n`);
      expect((await exec(name, ['cat', '/sys/class/net/eth0/address'])).stdout.trim()).toBe(mac);
    }
    // The machine's own LXD knows nothing of them.
    const machine = await new LocalExecutor().run(['lxc', 'query', '/1.0/instances/l1'], { okCodes: [0, 1] });
    expect(machine.code).toBe(1);
    // And the netns VM is a netns VM.
    expect(await namespacesWith(`${P}v-n1`)).toEqual([`${P}v-n1`]);
  });

  it('pings both ways across nodes in one subnet (VXLAN) and routed between subnets', async () => {
    // The first packet of each pair also waits for the guests' ARP: one warm-up ping, then the measurement.
    const pairs = [['n1', 'l1'], ['l1', 'n1'], ['n1', 'l2'], ['l2', 'n1']] as const;
    for (const [a, b] of pairs) await ping(a, b, 1);
    for (const [a, b] of pairs) {
      const r = await ping(a, b);
      const how = subnetOf(a) === subnetOf(b) ? 'same subnet, VXLAN' : 'other subnet, routed';
      console.log(`${a} (${vm(a).node}) -> ${b} (${vm(b).node}), ${how}: ${show(r)}`);
      expect(r.sent).toBe(10);
      expect(r.lost).toBe(0);
    }
  }, 90_000);

  it('deletes the VMs and leaves nothing behind (container, OVS port, flows, namespace)', async () => {
    for (const name of ['l1', 'l2', 'n1']) {
      const t = Date.now();
      expect((await cloud!.api('DELETE', `/api/v1/vms/${name}`)).status).toBe(200);
      console.log(`${name} deleted in ${Date.now() - t} ms`);
    }
    const containers = JSON.parse((await c2Lxc().run(['lxc', 'query', '/1.0/instances'])).stdout) as string[];
    const ports = [...(await cloud!.lab.node(C1).vsctl('list-ports', 'br0')).split('\n'), ...(await cloud!.lab.node(C2).vsctl('list-ports', 'br0')).split('\n')];
    let mentions = 0;
    for (const v of vms.values()) mentions += await flowsMentioning(cloud!, v);
    const leftNs = await namespacesWith(`${P}v-`);
    console.log(`left behind: ${containers.length} containers, ${ports.filter((p) => [...vms.values()].some((v) => v.port === p)).length} ports, ${mentions} flows, ${leftNs.length} namespaces`);
    expect(containers).toEqual([]);
    for (const v of vms.values()) expect(ports).not.toContain(v.port);
    expect(mentions).toBe(0);
    expect(leftNs).toEqual([]);
  }, 90_000);
});
