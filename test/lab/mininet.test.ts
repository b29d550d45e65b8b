// Many datapaths at once (issue 7, "mininet is used where it serves"): 50 compute nodes and a gateway, each a mininet
// OVSSwitch (user-space datapath, dpid = the node's derived datapath id), all in one OVS instance inside a namespace
// this test made, with one mininet host per VM attached on a port named as the VM's port. All 51 bridges are pointed
// at the real controller (startServer, in this process) in one ovs-vsctl transaction through the unix-socket link of
// lab.md, and must come to hold exactly their compiled pipelines (checked by OVS itself: `ovs-ofctl diff-flows`
// between the bridge and the pipeline's text). Then a subnet and a VM added through the API reach every datapath,
// pings between hosts go through our flows (same subnet on one switch; routed between subnets on one switch), and
// after ovs-vswitchd is killed and restarted all 51 resync by themselves. Each step prints what it measured.
//
// One OVS instance means interface names are unique across all bridges, so no bridge has the seed's tunnel ports
// (only one could be called `vxlan-int`): the pipelines here are the tunnel-less ones (no remote delivery flows);
// test/daemon/e2e.test.ts covers tunnels with an OVS instance per node.
//
// The python side (test/lab/mininet-cloud.py, system Python) runs inside the lab namespace and ends on stdin's EOF,
// so it dies with this process. Never mininet's cleanup / `mn -c`: they kill every OVS on the machine.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/daemon/config.js';
import { dpidForNode, dpidTextForNode } from '../../src/daemon/node-pipelines.js';
import { startServer, type Server } from '../../src/daemon/server.js';
import { callApi } from '../../src/lab/cloud.js';
import { CommandError, run } from '../../src/lab/exec.js';
import { OvsInstance } from '../../src/lab/ovs.js';
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import type { Datapath, SyncStats } from '../../src/runtime/index.js';
import { waitFor } from '../helpers/wait.js';

const COMPUTE = Array.from({ length: 50 }, (_, i) => `mcm-h${String(i + 1).padStart(2, '0')}`);
const GATEWAY = 'mcm-gw';
const NODES = [GATEWAY, ...COMPUTE];
/** One VM per compute node, plus a second on the first node for a ping that stays on one switch. */
const VMS = [
  ...COMPUTE.map((node, i) => ({ name: `mcm-v${String(i + 1).padStart(2, '0')}`, node })),
  { name: 'mcm-v01b', node: COMPUTE[0]! },
];
const LAB = 'mcm-lab';
/** The VM on COMPUTE[1] that the VM added later, in another subnet on the same node, pings through our router. */
const ROUTED_PEER = 'mcm-v02';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'mininet-cloud.py');

interface VmView {
  name: string;
  node: string;
  ip: string;
  mac: string;
  port: string;
}

let dir: string;
let server: Server | undefined;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert the JSON shape
const api = <T = any>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => callApi<T>(server!, method, path, body);
let ovs: OvsInstance | undefined;
let mn: Mininet | undefined;
let handshakesRetried = 0;

/** The python process and its line protocol (see mininet-cloud.py). */
class Mininet {
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private stderr = '';
  readonly pids: number[] = [];
  private exited = false;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      this.lines.push(l);
      this.waiter?.();
    });
    child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.stdin.on('error', () => undefined); // EPIPE once it has exited: seen through 'exit'
    child.on('exit', () => {
      this.exited = true;
      this.waiter?.();
    });
  }

  static spawn(ovsDir: string): Mininet {
    const env = { ...process.env, OVS_RUNDIR: ovsDir, OVS_LOGDIR: ovsDir, OVS_DBDIR: ovsDir };
    return new Mininet(spawn('ip', ['netns', 'exec', LAB, '/usr/bin/python3', SCRIPT, LAB], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are JSON of the script's making
  async request(req: unknown, timeoutMs = 30_000): Promise<any> {
    this.child.stdin.write(JSON.stringify(req) + '\n');
    const end = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.exited) throw new Error(`mininet-cloud.py exited: ${this.stderr}`);
      if (Date.now() > end) throw new Error(`mininet-cloud.py did not answer within ${timeoutMs} ms: ${this.stderr}`);
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 200);
      });
    }
    return JSON.parse(this.lines.shift()!);
  }

  /**
   * Asks the script to quit (it ends its shells and leaves bridges and links to `OvsInstance.stop`, which removes
   * the namespace), then closes stdin, which would stop the network the mininet way; kills what is left after that.
   */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.exited) await this.request({ cmd: 'quit' }, graceMs).catch(() => undefined);
    this.child.stdin.end();
    const end = Date.now() + graceMs;
    while (!this.exited && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    if (!this.exited) this.child.kill('SIGKILL');
    // Mininet's shells (`bash ... mininet:<name>`) still alive: checked by command line, never a reused pid.
    for (const pid of this.pids) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes('mininet:')) process.kill(pid, 'SIGKILL');
    }
  }
}



/**
 * What differs between the node's bridge and its compiled pipeline, as `ovs-ofctl diff-flows` sees it (OVS parses both
 * sides and compares match, actions, cookie and timeouts): empty when they are equal. One process per node, so nodes
 * are checked in parallel (e2e.test.ts prints both sides through a scratch bridge instead: too slow for 51).
 */
async function differences(node: string): Promise<{ diff: string[]; flows: number }> {
  const dp = server!.network.datapathOf(node);
  if (!dp) return { diff: ['(not connected)'], flows: 0 };
  const flows = server!.network.compile(node, dp).map(formatFlow);
  const file = join(dir, `expected-${node}.txt`);
  await writeFile(file, flows.join('\n') + '\n');
  try {
    // The bridge's management socket is a file: reachable from here without entering the namespace.
    await run('ovs-ofctl', ['-O', 'OpenFlow13', 'diff-flows', `unix:${ovs!.mgmtSocket(node)}`, file]);
    return { diff: [], flows: flows.length };
  } catch (e) {
    if (e instanceof CommandError && e.code === 2) return { diff: e.stdout.split('\n').filter(Boolean), flows: flows.length };
    throw e;
  }
}

/** Every node's installed flows equal its pipeline; returns the flow count per node. */
async function allNodesMatch(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const queue = [...NODES];
  const worker = async (): Promise<void> => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      const node = n;
      const r = await waitFor(`${node}'s flows to equal its pipeline`, () => differences(node), (x) => x.diff.length === 0 && x.flows > 0, 15_000);
      counts.set(node, r.flows);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  expect(counts.size).toBe(NODES.length);
  return counts;
}

/** Records first sync of each datapath (and flow-mods) from now on. */
function watchSyncs(): { synced: Map<string, number>; flowMods: () => number; stop: () => void } {
  const synced = new Map<string, number>();
  let mods = 0;
  const on = (dp: Datapath, stats: SyncStats): void => {
    mods += stats.flowMods;
    const node = server!.network.nodeOf(dp.dpid);
    if (node !== undefined && !synced.has(node)) synced.set(node, Date.now());
  };
  server!.controller.on('synced', on);
  return { synced, flowMods: () => mods, stop: () => server!.controller.off('synced', on) };
}

const connectedCount = (): number => NODES.filter((n) => server!.network.datapathOf(n) !== undefined).length;
const summary = (m: Map<string, number>): string => {
  const v = [...m.values()];
  return `${v.reduce((a, b) => a + b, 0)} flows (min ${Math.min(...v)}, max ${Math.max(...v)} per datapath)`;
};

async function ping(from: string, to: string): Promise<{ ok: boolean; output: string }> {
  return mn!.request({ cmd: 'ping', host: from, ip: server!.service.getVm(to).ip, count: 3 });
}

/** The cloud through the API: a gateway, 50 compute nodes, subnet 'front', the VMs (backend none: ports by name). */
async function createCloud(): Promise<void> {
  const nodes: object[] = [{ name: GATEWAY, roles: ['gateway'], underlayIp: '10.0.0.1', az: 'AZ-1' }];
  for (const [i, name] of COMPUTE.entries()) nodes.push({ name, roles: ['compute'], underlayIp: `10.0.1.${i + 1}`, az: 'AZ-1', cpus: 8, memoryMiB: 16 * 1024 });
  for (const res of await Promise.all(nodes.map((n) => api('POST', '/api/v1/nodes', n)))) expect(res.status, JSON.stringify(res.json)).toBe(201);
  expect((await api('POST', '/api/v1/subnets', { name: 'front', prefixLength: 25 })).status).toBe(201);
  const vms = VMS.map((vm) => api('POST', '/api/v1/vms', { ...vm, subnet: 'front', flavor: 'tiny', image: 'images:debian/12' }));
  for (const res of await Promise.all(vms)) expect(res.status, JSON.stringify(res.json)).toBe(201);
}

/** The OVS instance in its namespace, the controller's socket linked into it, mininet's switches (no controller yet). */
async function startSwitches(socket: string): Promise<unknown> {
  ovs = await OvsInstance.start({ name: LAB, baseDir: join(dir, 'lab') });
  symlinkSync(socket, join(ovs.dir, 'controller.sock'));
  mn = Mininet.spawn(ovs.dir);
  const r = await mn.request({ switches: NODES.map((name) => ({ name, dpid: dpidTextForNode(name) })) }, 60_000);
  expect(r.ok, JSON.stringify(r)).toBe(true);
  return r.ms;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcm-'));
  const socket = join(dir, 'openflow.sock');
  const config = resolveConfig({
    openflow: { listen: [`unix:${socket}`], echoIntervalSeconds: 2 },
    api: { host: '127.0.0.1', port: 0, auth: true },
    store: { path: join(dir, 'cloud.db') },
    stats: { intervalSeconds: 3600 },
    vms: { backend: 'none', stateDir: join(dir, 'vms') },
    log: { level: 'error' },
  });
  // 'error': a handshake OVS gives up on is a warning, and the test counts those itself.
  server = await startServer(config, { logger: pino({ level: 'error' }), processMetrics: false, onNewToken: () => undefined });
  server.controller.datapaths.on('rejected', () => handshakesRetried++);

  const t0 = Date.now();
  const [, switchMs] = await Promise.all([createCloud(), startSwitches(socket)]);
  const t1 = Date.now();
  const front = server.service.getSubnet('front');
  const hosts = server.service.listVms().map((v: VmView) => ({
    name: v.name,
    switch: v.node,
    port: v.port,
    ip: `${v.ip}/${front.prefixLength}`,
    mac: v.mac,
    // The one host a routed ping reaches (from another subnet on its node) needs a route back.
    ...(v.name === ROUTED_PEER && { gateway: front.gatewayIp }),
  }));
  const ready = await mn!.request({ hosts }, 60_000);
  expect(ready.ready, JSON.stringify(ready)).toBe(true);
  mn!.pids.push(...(ready.pids as number[]));
  console.log(
    `setup: cloud through the API alongside the OVS instance and ${NODES.length} mininet switches ${t1 - t0} ms ` +
      `(${JSON.stringify(switchMs)}); ${VMS.length} mininet hosts and start ${Date.now() - t1} ms (${JSON.stringify(ready.ms)})`,
  );
}, 90_000);

afterAll(async () => {
  await mn?.stop();
  await server?.stop();
  await ovs?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('50 mininet datapaths on one controller', () => {
  it('connects all of them at once and installs exactly each one its compiled pipeline', async () => {
    const watch = watchSyncs();
    const link = join(ovs!.dir, 'controller.sock');
    // One transaction: every bridge gets its controller at the same moment.
    const args: string[] = [];
    for (const [i, n] of NODES.entries()) {
      args.push('--', `--id=@c${i}`, 'create', 'Controller', `target="unix:${link}"`, 'max_backoff=1000');
      args.push('--', 'set', 'Bridge', n, `controller=@c${i}`);
    }
    // How long this process's event loop stalls while 51 handshakes and syncs run: a connection accepted late misses
    // OVS's fixed 1 s connect window and OVS retries it after its backoff.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const t0 = Date.now();
    await ovs!.vsctl(...args.slice(1));
    await waitFor('all datapaths synced', () => watch.synced.size, (n) => n === NODES.length, 60_000);
    const tSynced = Math.max(...watch.synced.values()) - t0;
    loop.disable();
    const retried = handshakesRetried;
    watch.stop();
    for (const n of NODES) expect(server!.network.datapathOf(n)?.dpid, n).toBe(dpidForNode(n));
    const t1 = Date.now();
    const counts = await allNodesMatch();
    // The check sees a flow that is not in the pipeline (someone else's: the controller leaves it alone).
    await ovs!.ofctl('-O', 'OpenFlow13', 'add-flow', COMPUTE[0]!, 'cookie=0x1234,table=0,priority=4321,udp,tp_dst=9,actions=drop');
    expect((await differences(COMPUTE[0]!)).diff).toEqual([expect.stringMatching(/^-priority=4321,.*cookie=0x1234/)]);
    await ovs!.ofctl('-O', 'OpenFlow13', 'del-flows', COMPUTE[0]!, 'cookie=0x1234/-1');
    console.log(
      `connect: ${NODES.length} datapaths connected and synced ${tSynced} ms after one set-controller transaction ` +
        `(${retried} handshakes too slow for OVS's 1 s connect window, retried by OVS; event loop stalled up to ` +
        `${Math.round(loop.max / 1e6)} ms, p99 ${Math.round(loop.percentile(99) / 1e6)} ms); ` +
        `${watch.flowMods()} flow-mods sent; ${summary(counts)}; checked with ovs-ofctl diff-flows in ${Date.now() - t1} ms`,
    );
  }, 90_000);

  it('forwards a ping between two hosts on one switch through our flows', async () => {
    const r = await ping('mcm-v01', 'mcm-v01b');
    expect(r.ok, r.output).toBe(true);
  });

  it('brings a new subnet and a new VM to every datapath', async () => {
    const watch = watchSyncs();
    let t0 = Date.now();
    const subnet = await api<{ network: { confirmed: string[]; pending: string[] } }>('POST', '/api/v1/subnets', { name: 'back', prefixLength: 27 });
    expect(subnet.status).toBe(201);
    const tSubnet = Date.now() - t0;
    expect(subnet.json.network.confirmed).toHaveLength(NODES.length);
    expect(watch.synced.size).toBe(NODES.length);
    const subnetMods = watch.flowMods();

    t0 = Date.now();
    const created = await api<{ vm: VmView; network: { confirmed: string[]; pending: string[] } }>('POST', '/api/v1/vms', {
      name: 'mcm-vx',
      subnet: 'back',
      flavor: 'tiny',
      image: 'images:debian/12',
      node: COMPUTE[1],
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const tVm = Date.now() - t0;
    expect(created.json.network.confirmed).toHaveLength(NODES.length);
    const vmMods = watch.flowMods() - subnetMods;
    watch.stop();

    // Its host appears on the node's switch: the port-status resync programs its local flows.
    const vm = created.json.vm;
    const back = server!.service.getSubnet('back');
    t0 = Date.now();
    const host = { name: vm.name, switch: vm.node, port: vm.port, ip: `${vm.ip}/${back.prefixLength}`, mac: vm.mac, gateway: back.gatewayIp };
    const added = await mn!.request({ cmd: 'add_host', ...host });
    expect(added.ok, JSON.stringify(added)).toBe(true);
    mn!.pids.push(added.pid as number);
    await waitFor(`${vm.node} to program the new port`, () => differences(vm.node), (x) => x.diff.length === 0, 15_000);
    const tPort = Date.now() - t0;
    const counts = await allNodesMatch();
    // Routed on its own node: 'back' to 'front' through the gateway MAC our flows answer for, and back.
    const routed = await ping(vm.name, ROUTED_PEER);
    expect(routed.ok, routed.output).toBe(true);
    console.log(
      `change: subnet confirmed on ${NODES.length} datapaths in ${tSubnet} ms (${subnetMods} flow-mods), ` +
        `VM in ${tVm} ms (${vmMods} flow-mods), its port's flows on ${vm.node} ${tPort} ms after mininet attached its host; ` +
        `then ${summary(counts)}`,
    );
    expect(vmMods).toBeLessThanOrEqual(8 * NODES.length);
  }, 90_000);

  it('resyncs all of them by themselves after ovs-vswitchd is killed and restarted', async () => {
    await ovs!.killVswitchd();
    await waitFor('every datapath to disconnect', connectedCount, (n) => n === 0, 20_000);
    const watch = watchSyncs();
    const before = handshakesRetried;
    const t0 = Date.now();
    await ovs!.startVswitchd();
    await waitFor('all datapaths synced again', () => watch.synced.size, (n) => n === NODES.length, 60_000);
    const tSynced = Math.max(...watch.synced.values()) - t0;
    watch.stop();
    const retried = handshakesRetried - before;
    const counts = await allNodesMatch();
    const r = await ping('mcm-v01', 'mcm-v01b');
    expect(r.ok, r.output).toBe(true);
    console.log(
      `vswitchd restart: ${NODES.length} datapaths resynced ${tSynced} ms after the restart (${retried} handshakes retried), ` +
        `${watch.flowMods()} flow-mods; ${summary(counts)}; ping through the restored flows ok`,
    );
  }, 90_000);
});
