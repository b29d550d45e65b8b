// Drift repair and provisioning retry on real nodes (prefix `mcdr`), with a short `sync.verifyIntervalSeconds` (2 s,
// so 1.6..2.4 s): `ovs-ofctl del-flows br0` on a compute node under a VM ping, then `mod-flows` turning every flow of
// another into a drop; each time the flows come back on the same OpenFlow connection (no reconnect), the repair is
// counted in /metrics, and the ping resumes (the gap is printed). Then a node reached over SSH is added while its sshd
// is down: its provisioning fails with the error and a scheduled retry in the API and /metrics; once sshd is up it
// is retried by itself (no change made through the API) and becomes ready and connected.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabCloud } from '../../src/lab/cloud.js';
import { standardNodes, type LabNodeDef } from '../../src/lab/lab.js';
import type { NodeDetails, VmView } from '../../src/cloud/index.js';
import type { Datapath } from '../../src/runtime/index.js';
import { TestSshd, type InNodeSshd } from '../hosts/helpers/sshd.js';
import { waitFor } from '../helpers/wait.js';
import type { PingResult } from '../helpers/ping.js';
import { flowSummaries } from '../runtime/helpers.js';
import { apiNode, stopSshLab, waitDatapath, waitNode } from './helpers.js';
import { pingFrom } from './traffic.js';

const P = 'mcdr';
const DIR = join('/tmp/minicloud-lab', P);
const GW1 = `${P}-gw1`;
const C1 = `${P}-c1`;
const C2 = `${P}-c2`;
const C3 = `${P}-c3`;
const SW = `${P}-sw`;
const VERIFY_S = 2;
/** The longest a verification can be away (interval + 20 % jitter), plus its own run on a loaded 2-core machine. */
const REPAIR_BOUND_MS = VERIFY_S * 1.2 * 1000 + 6_000;

let cloud: LabCloud | undefined;
let c3Sshd: InNodeSshd | undefined;
const vms = new Map<string, VmView>();
const lab = (): LabCloud => cloud!;

/** One counter's value for a node in /metrics (0 when the series is absent). */
async function metric(name: string, labels: string): Promise<number> {
  const text = await lab().server.metrics.render();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const datapathOf = (node: string): Datapath | undefined => lab().server.network.datapathOf(node);

/** The longest time without a reply (s) over a -D ping, counting from its start (a lost head counts). */
function longestGapS(r: PingResult, startedS: number): number {
  let gap = 0;
  let prev = startedS;
  for (const t of r.replyTimes) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return gap;
}

/** Runs `change` on `node` under a ping a1 -> a2, waits for the repair; answers what was measured. */
async function drill(node: string, change: () => Promise<void>): Promise<{ backMs: number; gapS: number; ping: PingResult; repaired: number; flows: number }> {
  const before = await flowSummaries(lab().lab.node(node));
  const dp = datapathOf(node)!;
  expect(dp).toBeDefined();
  const connects = await metric('minicloud_datapath_connects_total', `node="${node}"`);
  const repairs = await metric('minicloud_flow_repairs_total', `node="${node}"`);
  const a2 = vms.get('a2')!.ip;
  const startedS = Date.now() / 1000;
  const pinging = pingFrom(lab(), 'a1', a2, { count: 75, interval: '0.2', waitS: 1, numeric: true, timestamps: true });
  await new Promise((r) => setTimeout(r, 1500));
  const t0 = Date.now();
  await change();
  await waitFor(`${node}'s flows back`, () => flowSummaries(lab().lab.node(node)), (now) => JSON.stringify(now) === JSON.stringify(before), REPAIR_BOUND_MS, 100);
  const backMs = Date.now() - t0;
  const ping = await pinging;
  // The same connection did it: no reconnect, no new handshake.
  expect(datapathOf(node)).toBe(dp);
  expect(dp.connection.closed).toBe(false);
  expect(await metric('minicloud_datapath_connects_total', `node="${node}"`)).toBe(connects);
  const repaired = (await metric('minicloud_flow_repairs_total', `node="${node}"`)) - repairs;
  expect(await metric('minicloud_flow_verifications_total', `node="${node}",outcome="repaired"`)).toBeGreaterThan(0);
  return { backMs, gapS: longestGapS(ping, startedS), ping, repaired, flows: before.length };
}

beforeAll(async () => {
  const t0 = Date.now();
  c3Sshd = await TestSshd.startInNode({ netns: C3, ovsDir: join(DIR, 'nodes', C3) });
  const nodes: LabNodeDef[] = standardNodes(P, 3)
    .filter((n) => [GW1, C1, C2, C3, SW].includes(n.name))
    .map((n) => (n.name === C3 ? { ...n, sshTarget: c3Sshd!.target } : n));
  cloud = await LabCloud.start({ prefix: P, dir: DIR, nodes, ssh: c3Sshd.labSsh, verifyIntervalSeconds: VERIFY_S, provisioningRetrySeconds: { min: 1, max: 4 } });
  expect((await lab().api('POST', '/api/v1/subnets', { name: 'front' })).status).toBe(201);
  for (const [name, node] of [['a1', C1], ['a2', C2]] as const) {
    const res = await lab().api<{ vm: VmView }>('POST', '/api/v1/vms', { name, subnet: 'front', node, gateway: GW1, flavor: 'tiny', image: 'busybox' });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    vms.set(name, res.json.vm);
  }
  const warm = await pingFrom(lab(), 'a1', vms.get('a2')!.ip, { count: 3, numeric: true });
  expect(warm.received, warm.text).toBeGreaterThan(0);
  console.log(`lab: ${nodes.length} nodes (${C3} over SSH), verify every ${VERIFY_S} s +-20 %, 2 VMs, in ${Date.now() - t0} ms`);
}, 180_000);

afterAll(() => stopSshLab(cloud, c3Sshd, P), 90_000);

describe('drift repair', () => {
  it('del-flows br0 on a compute node: the flows come back on the same connection, counted, and the ping resumes', async () => {
    // All of them deleted: the repair puts every one back (counted below), none was left.
    const r = await drill(C1, () => lab().lab.node(C1).ofctl('-O', 'OpenFlow13', 'del-flows', 'br0').then(() => undefined));
    console.log(
      `del-flows on ${C1}: ${r.flows} flows back ${r.backMs} ms later (verify every ${VERIFY_S} s +-20 %); repairs counted ${r.repaired}; ping a1 -> a2 ${r.ping.received}/${r.ping.sent}, longest gap ${r.gapS.toFixed(2)} s`,
    );
    expect(r.repaired).toBe(r.flows);
    expect(r.ping.received, r.ping.text).toBeGreaterThan(0);
    // The last replies came after the repair: the ping resumed.
    expect(r.ping.replyTimes.at(-1)! * 1000).toBeGreaterThan(Date.now() - 10_000);
    expect(r.gapS).toBeLessThan(REPAIR_BOUND_MS / 1000 + 2);
    const after = await pingFrom(lab(), 'a1', vms.get('a2')!.ip, { count: 3, numeric: true });
    expect(after.received, after.text).toBe(3);
  }, 60_000);

  it('mod-flows turning table 0 (the classifier) of a node into drops: put back the same way', async () => {
    const table0 = (await flowSummaries(lab().lab.node(C2))).filter((l) => /\btable=0,/.test(l) || !/\btable=/.test(l));
    const r = await drill(C2, () => lab().lab.node(C2).ofctl('-O', 'OpenFlow13', 'mod-flows', 'br0', 'table=0,actions=drop').then(() => undefined));
    console.log(
      `mod-flows table=0,actions=drop on ${C2}: ${r.repaired} flows put back ${r.backMs} ms later (${table0.length} in table 0, ${r.flows} in all); ping a1 -> a2 ${r.ping.received}/${r.ping.sent}, longest gap ${r.gapS.toFixed(2)} s`,
    );
    expect(r.repaired).toBeGreaterThan(0);
    expect(r.repaired).toBeLessThanOrEqual(table0.length);
    const after = await pingFrom(lab(), 'a1', vms.get('a2')!.ip, { count: 3, numeric: true });
    expect(after.received, after.text).toBe(3);
  }, 60_000);

  it('a clean switch is verified without sending anything', async () => {
    const clean = await metric('minicloud_flow_verifications_total', `node="${GW1}",outcome="clean"`);
    await waitFor(`${GW1} verified again`, () => metric('minicloud_flow_verifications_total', `node="${GW1}",outcome="clean"`), (n) => n > clean, REPAIR_BOUND_MS, 200);
    expect(await metric('minicloud_flow_repairs_total', `node="${GW1}"`)).toBe(0);
  }, 30_000);
});

describe('provisioning retry', () => {
  it('a node added while its sshd is down fails, shows its retry, and is provisioned by itself once sshd is up', async () => {
    const def = lab().nodes.find((n) => n.name === C3)!;
    expect((await lab().api('DELETE', `/api/v1/nodes/${C3}`)).status).toBe(200);
    await waitFor(`${C3} removed`, () => lab().server.provisioner!.samples().some((s) => s.node === C3), (present) => !present, 30_000, 100);
    await c3Sshd!.sshd.halt();
    const t0 = Date.now();
    const res = await lab().api('POST', '/api/v1/nodes', { name: C3, roles: def.roles, underlayIp: def.underlayIp, sshTarget: def.sshTarget, cpus: 16, memoryMiB: 32 * 1024 });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const failed = (await waitNode(lab(), C3, (n) => n?.provisioning?.state === 'failed' && n.provisioning.nextRetryAt !== undefined, 30_000)) as NodeDetails;
    const p = failed.provisioning!;
    expect(p.error).toMatch(/ECONNREFUSED|connect|refused/i);
    expect(p.attempts).toBeGreaterThanOrEqual(1);
    const retryIn = Date.parse(p.nextRetryAt!) - Date.parse(p.at);
    expect(retryIn).toBeGreaterThan(0);
    expect(retryIn).toBeLessThanOrEqual(4_000);
    expect(await metric('minicloud_node_provisioning', `node="${C3}",state="failed"`)).toBe(1);
    expect(await metric('minicloud_node_provisioning_next_retry_timestamp_seconds', `node="${C3}"`)).toBeGreaterThan(Date.now() / 1000 - 10);
    console.log(`${C3} with sshd down: ${p.state} (attempt ${p.attempts}, next retry in ${retryIn} ms): ${p.error}`);
    // A few more retries while sshd stays down: the backoff grows, bounded by retryMaxSeconds.
    const later = (await waitNode(lab(), C3, (n) => (n?.provisioning?.attempts ?? 0) >= 3, 30_000))!.provisioning!;
    expect(Date.parse(later.nextRetryAt!) - Date.parse(later.at)).toBeLessThanOrEqual(4_000);
    const upAt = Date.now();
    await c3Sshd!.sshd.resume();
    await waitNode(lab(), C3, (n) => n?.provisioning?.state === 'ready', 60_000);
    await waitDatapath(lab(), C3, true, 30_000);
    const ready = (await apiNode(lab(), C3))!.provisioning!;
    expect(ready.nextRetryAt).toBeUndefined();
    expect(await metric('minicloud_node_provisioning_failures_total', `node="${C3}"`)).toBeGreaterThanOrEqual(3);
    console.log(`${C3}: ${later.attempts} failed attempts over ${upAt - t0} ms; ready and connected ${Date.now() - upAt} ms after sshd came up, with no change made`);
  }, 150_000);
});
