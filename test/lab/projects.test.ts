// Issue 22, overlapping projects with real packets (prefix `mcpj`): the default project and `blue` both have
// 192.168.20.0/27 (`a-net`, `b-net`) and 192.168.20.32/27 (`a-two`, `b-two`), with the same VM addresses on the same
// two compute nodes: a1/b1 on c1 (.2), a2/b2 on c2 (.3), a3/b3 on c2 (.34). Both projects' default groups admit ICMP
// from anywhere, so what keeps them apart here is the pipeline's routing domain, not a security group. Each VM gets
// its address from the controller's DHCP (by port), pings its own twin and its own other subnet, and the other
// project's twins (same addresses) never see a frame of it; both reach the outside world through gw1, whose SNAT
// address is the only source the outside sees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmView } from '../../src/cloud/index.js';
import { LabCloud } from '../../src/lab/cloud.js';
import { run } from '../../src/lab/exec.js';
import { INTERNET_HOST, namespacesWith, standardNodes } from '../../src/lab/lab.js';
import { parsePing, pingArgv, type PingResult } from '../helpers/ping.js';
import { capture } from './traffic.js';

const P = 'mcpj';
const C1 = `${P}-c1`;
const C2 = `${P}-c2`;
const GW1 = `${P}-gw1`;
const SUBNETS = [
  { project: 'default', name: 'a-net', cidr: '192.168.20.0/27' },
  { project: 'default', name: 'a-two', cidr: '192.168.20.32/27' },
  { project: 'blue', name: 'b-net', cidr: '192.168.20.0/27' },
  { project: 'blue', name: 'b-two', cidr: '192.168.20.32/27' },
] as const;
const VMS = [
  { name: 'a1', subnet: 'a-net', node: C1 },
  { name: 'b1', subnet: 'b-net', node: C1 },
  { name: 'a2', subnet: 'a-net', node: C2 },
  { name: 'b2', subnet: 'b-net', node: C2 },
  { name: 'a3', subnet: 'a-two', node: C2 },
  { name: 'b3', subnet: 'b-two', node: C2 },
] as const;

let cloud: LabCloud;
const vms = new Map<string, VmView>();
/** A VM's namespace: the netns backend's prefix and its instance name (`blue--b1` for blue's). */
const ns = (vm: string): string => `${P}v-${vms.get(vm)?.instance ?? vm}`;
const ip = (vm: string): string => vms.get(vm)!.ip;

/** An API call acting in `project` (X-Project), as the admin. */
async function api<T>(project: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${cloud.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${cloud.token}`, 'x-project': project, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as T };
}

async function ping(from: string, to: string, count = 5): Promise<PingResult> {
  const out = await run('ip', ['netns', 'exec', ns(from), ...pingArgv(to, { count, interval: '0.2', waitS: 2 })], { timeoutMs: 30_000 }).catch(
    (e: { stdout?: string }) => e.stdout ?? '',
  );
  return parsePing(out);
}

/** Frames arriving at a VM's eth0 from `fromIp` or `fromMac` (ARP and ICMP) while `act` runs. */
async function seenBy(vm: string, fromIp: string, fromMac: string, act: () => Promise<unknown>): Promise<string[]> {
  const cap = await capture(ns(vm), 'eth0', `(icmp and src host ${fromIp}) or (arp and ether src ${fromMac}) or (icmp and ether src ${fromMac})`, ['-Q', 'in']);
  await act();
  return cap.stop();
}

beforeAll(async () => {
  const t0 = Date.now();
  // One gateway, two computes, no switch or DHCP node (head-end broadcast, the controller's DHCP): what the test needs.
  const nodes = standardNodes(P).filter((n) => [GW1, C1, C2].includes(n.name));
  cloud = await LabCloud.start({ prefix: P, nodes });
  expect((await api('default', 'POST', '/api/v1/projects', { name: 'blue' })).status).toBe(201);
  for (const s of SUBNETS) {
    const res = await api(s.project, 'POST', '/api/v1/subnets', { name: s.name, cidr: s.cidr });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  }
  // ICMP from anywhere in both projects' default groups: only the routing domain keeps the twins apart.
  for (const [project, group] of [['default', 'default'], ['blue', 'blue-default']] as const) {
    const res = await api(project, 'POST', `/api/v1/security-groups/${group}/rules`, { direction: 'ingress', protocol: 'icmp', remoteCidr: '0.0.0.0/0' });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  }
  for (const vm of VMS) {
    const project = vm.name.startsWith('b') ? 'blue' : 'default';
    const res = await api<{ vm: VmView }>(project, 'POST', '/api/v1/vms', { ...vm, gateway: GW1, flavor: 'tiny', image: 'busybox' });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    vms.set(vm.name, res.json.vm);
  }
  // Every VM has its lease (DHCP from the controller, by port) when its own twin answers; bounded.
  const end = Date.now() + 60_000;
  for (const [from, to] of [['a1', 'a2'], ['b1', 'b2'], ['a2', 'a3'], ['b2', 'b3']] as const) {
    while ((await ping(from, ip(to), 1)).received === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 300));
  }
  console.log(`projects lab: ${cloud.nodes.length} nodes, ${VMS.length} VMs, leases in ${Date.now() - t0} ms`);
}, 300_000);

afterAll(async () => {
  await cloud?.stop();
  expect(await namespacesWith(`${P}-`, `${P}v-`)).toEqual([]);
}, 60_000);

describe('two projects with the same addresses (issue 22)', () => {
  it('the twins have the same addresses, the second project transit ones', () => {
    for (const [a, b] of [['a1', 'b1'], ['a2', 'b2'], ['a3', 'b3']] as const) expect(ip(a)).toBe(ip(b));
    expect(ip('a1')).toBe('192.168.20.2');
    expect(ip('a3')).toBe('192.168.20.34');
    const transit = ['b1', 'b2', 'b3'].map((v) => vms.get(v)!.transitIp);
    expect(transit.every((t) => t !== undefined && t.startsWith('100.64.'))).toBe(true);
    expect(new Set(transit).size).toBe(3);
    expect(vms.get('a1')!.transitIp).toBeUndefined();
  });

  it('each VM reaches its own twin and its own other subnet, never the other project (ARP/ICMP counted 0)', async () => {
    const measured: Record<string, number> = {};
    for (const [me, other] of [['a', 'b'], ['b', 'a']] as const) {
      const from = vms.get(`${me}1`)!;
      let twin: PingResult | undefined;
      let routed: PingResult | undefined;
      // While me1 pings its twin (L2, other node) and its other subnet (routed), the other project's VMs with those
      // very addresses see nothing of it; its own do.
      const seenOther2 = await seenBy(`${other}2`, from.ip, from.mac, async () => {
        const seenOther3 = await seenBy(`${other}3`, from.ip, from.mac, async () => {
          const seenOwn2 = await seenBy(`${me}2`, from.ip, from.mac, async () => {
            twin = await ping(`${me}1`, ip(`${me}2`), 10);
            routed = await ping(`${me}1`, ip(`${me}3`), 10);
          });
          measured[`${me}2 saw from ${me}1`] = seenOwn2.length;
        });
        measured[`${other}3 saw from ${me}1`] = seenOther3.length;
      });
      measured[`${other}2 saw from ${me}1`] = seenOther2.length;
      measured[`${me}1 -> ${me}2 (twin, other node) replies`] = twin!.received;
      measured[`${me}1 -> ${me}3 (other subnet, routed) replies`] = routed!.received;
    }
    console.log('projects, isolation:', JSON.stringify(measured));
    for (const me of ['a', 'b']) {
      const other = me === 'a' ? 'b' : 'a';
      expect(measured[`${me}1 -> ${me}2 (twin, other node) replies`]).toBe(10);
      expect(measured[`${me}1 -> ${me}3 (other subnet, routed) replies`]).toBe(10);
      expect(measured[`${me}2 saw from ${me}1`]).toBeGreaterThanOrEqual(10);
      expect(measured[`${other}2 saw from ${me}1`]).toBe(0);
      expect(measured[`${other}3 saw from ${me}1`]).toBe(0);
    }
  }, 180_000);

  it('both twins reach the outside world at once through gw1; the outside sees only its SNAT address', async () => {
    const gw1 = cloud.nodes.find((n) => n.name === GW1)!;
    const cap = await capture(`${P}-out`, 'any', `icmp and dst host ${INTERNET_HOST}`);
    const [a, b] = await Promise.all([ping('a1', INTERNET_HOST, 10), ping('b1', INTERNET_HOST, 10)]);
    const lines = await cap.stop();
    const sources = new Set(lines.map((l) => / ([\d.]+) > [\d.]+: ICMP echo request/.exec(l)?.[1]).filter((s): s is string => s !== undefined));
    console.log('projects, north-south:', JSON.stringify({ a1: a.received, b1: b.received, 'echo requests outside': lines.length, sources: [...sources] }));
    expect(a.received).toBe(10);
    expect(b.received).toBe(10);
    expect([...sources]).toEqual([gw1.outsideIp]);
  }, 120_000);

  it('a VM of one project cannot reach the other through the gateway by a transit address', async () => {
    // The gateway's kernel would route 100.64.x back into br0: OVS hands it nothing of a VM's to a transit address.
    const seen = await seenBy('b2', ip('a1'), vms.get('a1')!.mac, async () => {
      const r = await ping('a1', vms.get('b2')!.transitIp!, 3);
      expect(r.received).toBe(0);
    });
    console.log('projects, via the gateway:', JSON.stringify({ 'b2 saw from a1 (to its transit address)': seen.length }));
    expect(seen).toEqual([]);
  }, 60_000);

  it('names are per project: both projects have a VM `web` on one node, each with its lease and its own subnet; one goes, the other stays', async () => {
    const made: Record<string, VmView> = {};
    for (const [project, subnet] of [['default', 'a-net'], ['blue', 'b-net']] as const) {
      const res = await api<{ vm: VmView }>(project, 'POST', '/api/v1/vms', { name: 'web', subnet, node: C1, gateway: GW1, flavor: 'tiny', image: 'busybox' });
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      made[project] = res.json.vm;
    }
    // A third `web` in a project that has one is refused; the node holds the two apart by instance name.
    expect((await api('blue', 'POST', '/api/v1/vms', { name: 'web', subnet: 'b-two', flavor: 'tiny', image: 'busybox' })).status).toBe(409);
    expect([made['default']!.instance, made['blue']!.instance]).toEqual(['web', 'blue--web']);
    expect(made['default']!.ip).toBe(made['blue']!.ip); // the same first free address, in two routing domains
    vms.set('web', made['default']!);
    vms.set('blue-web', made['blue']!);
    expect((await namespacesWith(`${P}v-web`, `${P}v-blue--web`)).sort()).toEqual([`${P}v-blue--web`, `${P}v-web`]);
    // Both get their lease (DHCP from the controller) and reach their own subnet's VM on the other node; bounded.
    const reach = async (from: string, to: string): Promise<number> => {
      const end = Date.now() + 60_000;
      let got = 0;
      while ((got = (await ping(from, ip(to), 1)).received) === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 300));
      return got;
    };
    expect([await reach('web', 'a2'), await reach('blue-web', 'b2')]).toEqual([1, 1]);
    // Deleting blue's leaves the default project's running and reachable.
    expect((await api('blue', 'DELETE', '/api/v1/vms/web')).status).toBe(200);
    vms.delete('blue-web');
    expect((await namespacesWith(`${P}v-web`, `${P}v-blue--web`)).sort()).toEqual([`${P}v-web`]);
    expect((await api<{ vm: VmView }>('default', 'GET', '/api/v1/vms/web')).json.vm.state).toBe('running');
    expect((await ping('web', ip('a2'), 3)).received).toBe(3);
    expect((await api('default', 'DELETE', '/api/v1/vms/web')).status).toBe(200);
    vms.delete('web');
  }, 240_000);
});
