// The scale lab: the compute nodes of a synthetic cloud (topology/examples.ts) as userspace OVS bridges, several per
// ovs-vswitchd instance (each instance in a namespace of its own, as the connect storm has them), each bridge with its
// node's datapath id, synced by a runtime Controller through the daemon's own NodePipelines (the real pipeline,
// compiled per datapath on connect). Shared by bench/scale.ts (figures) and test/runtime/pipeline-scale.test.ts (correctness).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { symlink, writeFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { NodePipelines } from '../../src/daemon/node-pipelines.js';
import { OWNERSHIP_COOKIE } from '../../src/daemon/network.js';
import { cleanupLab } from '../../src/lab/lab.js';
import { OvsInstance } from '../../src/lab/ovs.js';
import { quoteArgv } from '../../src/hosts/quote.js';
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import { PATH_MTU_METER_TEXT } from '../../src/pipeline/mtu.js';
import { Controller, type ControllerOptions } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import type { SyncStats } from '../../src/runtime/sync.js';
import { syntheticCloud } from '../../src/topology/examples.js';
import type { Cloud, Vm } from '../../src/topology/model.js';

export interface ScaleLabOptions {
  /** Namespace/instance prefix (instances `${prefix}-0`, ...; a crashed run's leftovers are removed first). */
  readonly prefix: string;
  readonly baseDir: string;
  /** Compute nodes, one bridge each. */
  readonly nodes: number;
  /** VMs in the cloud (default 100 per node: 10k at 100 nodes). */
  readonly vms?: number;
  /** Bridges per ovs-vswitchd (default 10). */
  readonly perInstance?: number;
  /**
   * Niceness of every ovs-vswitchd (all its threads; default: as this process). The bench runs the simulated switches
   * below the controller: on a real cloud they are other machines and do not take the controller's cores.
   */
  readonly switchNice?: number;
}

/** What one storm of syncs looked like from this process. */
export interface Storm {
  /** Per bridge: ms from the storm's start to its first sync (after `since`). */
  readonly perSwitch: readonly number[];
  readonly totalMs: number;
  readonly flowMods: number;
  readonly unchanged: number;
  readonly loopMaxMs: number;
  readonly loopP99Ms: number;
  /**
   * The most CPU time the main thread used in one gap between two turns of a 5 ms probe timer (from
   * /proc/self/task/PID/stat, 10 ms ticks): what our own work held the loop for, where `loopMaxMs` also counts the
   * time the machine's other processes had the cores (a loaded machine deschedules us mid-turn). NaN off Linux.
   */
  readonly loopMaxCpuMs: number;
  /**
   * The probe's worst gaps (by main-thread CPU, then wall time): where each ended on the monotonic clock in µs (that
   * of `--cpu-prof` profiles' timestamps, so a profile shows what ran in it), its wall time and CPU.
   */
  readonly worstGaps: readonly Gap[];
}

export interface Gap {
  readonly endUs: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** A child process that GETs `url` every 100 ms and reports each latency (it shares nothing with our event loop). */
const POLLER = `
const http = require('node:http');
const url = process.argv[1];
const end = Date.now() + 600000;
process.stdout.on('error', () => process.exit(0));
const tick = () => {
  if (Date.now() > end) process.exit(0);
  const t = performance.now();
  http.get(url, (res) => { res.resume(); res.on('end', () => { process.stdout.write((performance.now() - t).toFixed(1) + '\\n'); }); })
    .on('error', () => process.stdout.write('-1\\n'));
};
setInterval(tick, 100);
`;

/**
 * A bash started once, running the lab's commands during a measurement: spawning a process from this one (a fork of
 * a large process, 150-250 ms on a loaded machine) would stall the very event loop being measured.
 */
class Shell {
  private readonly child: ChildProcessWithoutNullStreams = spawn('bash', ['--norc', '--noprofile'], { stdio: 'pipe' });
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void; cmd: string }>();
  private next = 0;
  private buf = '';

  constructor() {
    this.child.stdout.on('data', (d: Buffer) => {
      this.buf += d.toString();
      const lines = this.buf.split('\n');
      this.buf = lines.pop()!;
      for (const l of lines) {
        const m = /^__mcsc_done (\d+) (\d+)$/.exec(l);
        const w = m && this.waiting.get(Number(m[1]));
        if (!m || !w) continue;
        this.waiting.delete(Number(m[1]));
        if (m[2] === '0') w.resolve();
        else w.reject(new Error(`${w.cmd}: exit status ${m[2]}`));
      }
    });
    this.child.stderr.resume();
  }

  /** Runs `argv` in `ovs`'s namespace with its OVS environment. */
  run(ovs: OvsInstance, argv: readonly string[]): Promise<void> {
    const id = ++this.next;
    const env = Object.entries(ovs.ovsEnv).map(([k, v]) => `${k}=${v}`);
    const cmd = quoteArgv([...(ovs.netns ? ['ip', 'netns', 'exec', ovs.netns] : []), 'env', ...env, ...argv]);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, cmd });
      this.child.stdin.write(`${cmd} </dev/null >/dev/null 2>&1; echo "__mcsc_done ${id} $?"\n`);
    });
  }

  close(): void {
    for (const w of this.waiting.values()) w.reject(new Error('shell closed'));
    this.child.stdin.end();
  }
}

/**
 * The cloud side of the scale lab, no OVS: the synthetic cloud, its compute nodes and the daemon's pipelines over it,
 * with its revisions (a VM added). What a controller needs, so a controller in another process (bench/scale.ts runs
 * it in a child of its own) builds the very same one from the same two numbers.
 */
export class ScaleCloud {
  readonly cloud: Cloud;
  readonly nodes: readonly string[];
  /** The daemon's datapath <-> node mapping and compile, over `cloud` (and `revision`). */
  readonly pipelines: NodePipelines;
  private current: Cloud;
  private revision = 1;

  constructor(nodes: number, vms = nodes * 100) {
    this.cloud = syntheticCloud({ computeNodes: nodes, vms });
    this.current = this.cloud;
    this.nodes = this.cloud.nodes.filter((n) => n.roles.includes('compute')).map((n) => n.name);
    this.pipelines = new NodePipelines({ cloud: () => this.current, revision: () => this.revision });
  }

  /** The flows the pipeline wants on `node`'s bridge (it has no VM ports: as the controller compiles it). */
  desiredFlows(node: string): string[] {
    return this.pipelines.compile(node, { ports: [] }).map((f) => formatFlow(f));
  }

  /** A controller over these pipelines listening on `listen` (not started). */
  controller(listen: string, extra: Partial<ControllerOptions> = {}): Controller {
    return new Controller({
      listen: [listen],
      desiredState: this.pipelines.desiredState,
      manages: (dpid) => this.pipelines.manages(dpid),
      sync: { cookie: OWNERSHIP_COOKIE },
      resyncOnPortChange: false,
      ...extra,
    });
  }

  /** Adds one VM to `node` (a new cloud revision, as the store would have it); returns it. */
  addVm(node: string): Vm {
    // The last subnet is the one with room (the synthetic cloud fills them in order).
    const s = this.current.subnets.at(-1)!;
    const used = new Set(this.current.vms.filter((v) => v.subnet === s.name).map((v) => v.ip));
    const base = s.cidr.split('/')[0]!.split('.').map(Number);
    let ip = '';
    for (let i = 2; i < 31 && !ip; i++) {
      const candidate = [base[0], base[1], base[2], base[3]! + i].join('.');
      if (!used.has(candidate)) ip = candidate;
    }
    if (!ip) throw new Error(`subnet ${s.name} is full (use a VM count that is not a multiple of 29)`);
    const n = this.current.vms.length;
    const vm: Vm = { name: `vm-added-${n}`, subnet: s.name, node, gateway: 'gw0', ip, mac: `02:fe:00:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}:01`, port: `tap-added-${n}` };
    this.current = { ...this.current, vms: [...this.current.vms, vm] };
    this.revision++;
    return vm;
  }

  /** Removes the VMs `addVm` added (back to the synthetic cloud). */
  resetVms(): void {
    this.current = this.cloud;
    this.revision++;
  }
}

export class ScaleLab {
  readonly model: ScaleCloud;
  private readonly instances: OvsInstance[] = [];
  private sockets = 0;
  private readonly shell = new Shell();

  private constructor(private readonly opts: ScaleLabOptions) {
    this.model = new ScaleCloud(opts.nodes, opts.vms);
  }

  get cloud(): Cloud {
    return this.model.cloud;
  }

  get nodes(): readonly string[] {
    return this.model.nodes;
  }

  get pipelines(): NodePipelines {
    return this.model.pipelines;
  }

  static async start(opts: ScaleLabOptions): Promise<ScaleLab> {
    const lab = new ScaleLab(opts);
    await cleanupLab(opts.prefix);
    try {
      for (let k = 0; k * lab.per < lab.nodes.length; k++) {
        // Sequentially: OVS start-up is mostly waiting, and parallel starts only contend for the cores.
        const ovs = await OvsInstance.start({ name: `${opts.prefix}-${k}`, baseDir: opts.baseDir });
        lab.instances.push(ovs);
        const args: string[] = [];
        for (const node of lab.nodesOf(k)) {
          const br = lab.bridgeOf(node);
          const dpid = lab.pipelines.dpidOf(node).toString(16).padStart(16, '0');
          args.push('--', 'add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow13', `other_config:datapath-id=${dpid}`);
        }
        await ovs.vsctl('--timeout=60', ...args.slice(1));
        if (opts.switchNice !== undefined) reniceVswitchd(ovs, opts.switchNice);
      }
    } catch (e) {
      await lab.stop();
      throw e;
    }
    return lab;
  }

  private get per(): number {
    return this.opts.perInstance ?? 10;
  }

  private nodesOf(k: number): string[] {
    return this.nodes.slice(k * this.per, (k + 1) * this.per);
  }

  bridgeOf(node: string): string {
    return `b${node}`;
  }

  private where(node: string): { ovs: OvsInstance; bridge: string } {
    return { ovs: this.instances[Math.floor(this.nodes.indexOf(node) / this.per)]!, bridge: this.bridgeOf(node) };
  }

  desiredFlows(node: string): string[] {
    return this.model.desiredFlows(node);
  }

  /**
   * A controller over the lab's pipelines, listening on a unix socket every bridge can reach: a fresh one, or with
   * `sameAs` the socket of an earlier (stopped) controller, which the bridges reconnect to by themselves as they
   * would to a restarted controller. (Removing a bridge's controller makes OVS flush its flows: not a restart.)
   */
  async controller(extra: Partial<ControllerOptions> = {}, sameAs?: string): Promise<{ ctl: Controller; sock: string; path: string }> {
    const { sock, path } = sameAs ? { sock: sameAs, path: join(this.opts.baseDir, sameAs) } : await this.newSocket();
    const ctl = this.model.controller(`unix:${path}`, extra);
    await ctl.start();
    return { ctl, sock, path };
  }

  /**
   * A new controller socket's name (for `connectAll`) and path (for the controller to listen on), reachable from every
   * instance's run directory (a symlink there: a unix socket path is limited to 107 bytes).
   */
  async newSocket(): Promise<{ sock: string; path: string }> {
    const sock = `ctl-${++this.sockets}.sock`;
    const path = join(this.opts.baseDir, sock);
    for (const ovs of this.instances) await symlink(path, join(ovs.dir, sock));
    return { sock, path };
  }

  /** Points every bridge at `sock` (a name from `controller()`), one ovs-vsctl transaction per instance. */
  async connectAll(sock: string): Promise<void> {
    await Promise.all(
      this.instances.map((ovs, k) => {
        const args: string[] = [];
        for (const node of this.nodesOf(k)) {
          const br = this.bridgeOf(node);
          args.push('--', `--id=@c${br}`, 'create', 'Controller', `target="unix:${join(ovs.dir, sock)}"`, 'max_backoff=1000');
          args.push('--', 'set', 'bridge', br, `controller=@c${br}`);
        }
        return this.shell.run(ovs, ['ovs-vsctl', `--db=unix:${ovs.dbSocket}`, '--no-wait', ...args.slice(1)]);
      }),
    );
  }

  /** Kills every ovs-vswitchd and starts them all again at once (ovsdb keeps the bridges; their flows are gone). */
  async restartVswitchd(): Promise<void> {
    await Promise.all(this.instances.map((ovs) => ovs.killVswitchd()));
    const nice = this.opts.switchNice === undefined ? [] : ['nice', '-n', String(this.opts.switchNice)];
    await Promise.all(this.instances.map((ovs) => this.shell.run(ovs, [...nice, 'ovs-vswitchd', ...ovs.vswitchdArgs()])));
  }

  /** Removes every flow and meter from every bridge. */
  async clearAll(): Promise<void> {
    await this.eachBridge(4, async (node) => {
      const { ovs, bridge } = this.where(node);
      await ovs.ofctl('-O', 'OpenFlow13', 'del-flows', bridge);
      await ovs.ofctl('-O', 'OpenFlow13', 'del-meters', bridge);
    });
  }

  /** Runs `fn` for every node, `workers` at a time; returns each one's duration (ms), in node order. */
  async eachBridge(workers: number, fn: (node: string) => Promise<void>): Promise<number[]> {
    const times = new Array<number>(this.nodes.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < this.nodes.length; i = next++) {
        const t = performance.now();
        await fn(this.nodes[i]!);
        times[i] = performance.now() - t;
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    return times;
  }

  /** Baseline of a first sync: `ovs-ofctl --bundle add-flows` of each bridge's desired flows (files written first). */
  async baselineAddFlows(workers: number): Promise<number[]> {
    const files = new Map<string, string>();
    for (const node of this.nodes) {
      const { ovs, bridge } = this.where(node);
      const file = join(ovs.dir, `flows-${bridge}.txt`);
      await writeFile(file, this.desiredFlows(node).join('\n') + '\n');
      files.set(node, file);
    }
    return this.eachBridge(workers, async (node) => {
      const { ovs, bridge } = this.where(node);
      await ovs.ofctl('-O', 'OpenFlow13', 'add-meter', bridge, PATH_MTU_METER_TEXT);
      await ovs.ofctl('-O', 'OpenFlow13', '--bundle', 'add-flows', bridge, files.get(node)!);
    });
  }

  /** Baseline of a restart: `ovs-ofctl dump-flows` of each bridge; also returns each bridge's flow count. */
  async baselineDump(workers: number): Promise<{ times: number[]; counts: Map<string, number> }> {
    const counts = new Map<string, number>();
    const times = await this.eachBridge(workers, async (node) => {
      const { ovs, bridge } = this.where(node);
      const out = await ovs.ofctl('-O', 'OpenFlow13', '--no-names', 'dump-flows', bridge);
      counts.set(node, out.split('\n').filter((l) => l.includes('actions=')).length);
    });
    return { times, counts };
  }

  addVm(node: string): Vm {
    return this.model.addVm(node);
  }

  resetVms(): void {
    this.model.resetVms();
  }

  async stop(): Promise<void> {
    this.shell.close();
    await Promise.all(this.instances.splice(0).map((i) => i.stop()));
  }
}

/**
 * Watches `ctl` until every node in `nodes` has had a sync that started after now; `start` is what sets the storm
 * off (connecting the bridges, restarting OVS). Measures the event loop meanwhile.
 */
export async function watchStorm(
  ctl: Controller,
  lab: Pick<ScaleCloud, 'nodes' | 'pipelines'>,
  start: () => Promise<void>,
  opts: { timeoutMs?: number; during?: (synced: number, flowModsSoFar: number) => void } = {},
): Promise<Storm> {
  const want = new Set(lab.nodes.map((n) => lab.pipelines.dpidOf(n)));
  const synced = new Map<bigint, number>();
  let flowMods = 0;
  let unchanged = 0;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  let done: () => void = () => undefined;
  let failed: (e: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => ((done = resolve), (failed = reject)));
  const failures: string[] = [];
  /** Switches whose last sync failed and that have not synced since: nothing here retries them (no verifier). */
  const failedOnly = new Set<bigint>();
  const onSynced = (dp: Datapath, stats: SyncStats): void => {
    flowMods += stats.flowMods;
    unchanged += stats.unchanged;
    failedOnly.delete(dp.dpid);
    if (want.has(dp.dpid) && !synced.has(dp.dpid)) {
      synced.set(dp.dpid, performance.now());
      opts.during?.(synced.size, flowMods);
    }
    if (synced.size === want.size) done();
  };
  const onFailed = (dp: Datapath, err: Error): void => {
    failures.push(`${dp.id}: ${err.message}`);
    if (want.has(dp.dpid) && !synced.has(dp.dpid)) failedOnly.add(dp.dpid);
    // Every switch synced or failed: unless a closed connection comes back and syncs within a grace period, waiting
    // longer would only reach the timeout.
    const stuck = (): boolean => failedOnly.size > 0 && synced.size + failedOnly.size === want.size;
    if (stuck()) {
      setTimeout(() => {
        if (stuck()) failed(new Error(`${synced.size} of ${want.size} switches synced, ${failedOnly.size} failed: ${failures.slice(0, 5).join('; ')}`));
      }, 30_000).unref();
    }
  };
  ctl.on('synced', onSynced);
  ctl.on('syncFailed', onFailed);
  loop.enable();
  let lastCpu = mainThreadCpuMs();
  let lastAt = performance.now();
  let maxCpuMs = 0;
  let worstByCpu: Gap | undefined;
  let worstByWall: Gap | undefined;
  const probe = setInterval(() => {
    const c = mainThreadCpuMs();
    const at = performance.now();
    const gap: Gap = { endUs: Number(process.hrtime.bigint() / 1000n), wallMs: at - lastAt, cpuMs: c - lastCpu };
    if (!worstByCpu || gap.cpuMs > worstByCpu.cpuMs || (gap.cpuMs === worstByCpu.cpuMs && gap.wallMs > worstByCpu.wallMs)) worstByCpu = gap;
    if (!worstByWall || gap.wallMs > worstByWall.wallMs) worstByWall = gap;
    maxCpuMs = Math.max(maxCpuMs, gap.cpuMs);
    lastCpu = c;
    lastAt = at;
  }, 5);
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const timer = setTimeout(() => failed(new Error(`only ${synced.size} of ${want.size} switches synced after ${timeoutMs} ms; failures: ${failures.slice(0, 5).join('; ')}`)), timeoutMs);
  try {
    await start();
    await finished;
  } finally {
    clearTimeout(timer);
    clearInterval(probe);
    loop.disable();
    ctl.off('synced', onSynced);
    ctl.off('syncFailed', onFailed);
  }
  const end = Math.max(...synced.values());
  return {
    perSwitch: [...synced.values()].map((t) => t - t0),
    totalMs: end - t0,
    flowMods,
    unchanged,
    loopMaxMs: loop.max / 1e6,
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxCpuMs: maxCpuMs,
    worstGaps: [worstByCpu, worstByWall].filter((g): g is Gap => g !== undefined),
  };
}

/** Sets the niceness of every thread of `ovs`'s ovs-vswitchd (Linux niceness is per thread; new ones inherit it). */
function reniceVswitchd(ovs: OvsInstance, nice: number): void {
  const pid = readFileSync(join(ovs.dir, 'vswitchd.pid'), 'utf8').trim();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      setPriority(Number(tid), nice);
    } catch {
      // A thread that ended meanwhile.
    }
  }
}

/** CPU time of this process's main thread so far (ms, in 10 ms ticks), from /proc; NaN where there is none. */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1');
    // The fields after the command name (which may hold spaces), from field 3 on: utime and stime are 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

export { POLLER as API_POLLER_SCRIPT };
