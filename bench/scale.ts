// bench/scale: one controller, the compute nodes of the synthetic cloud (100 VMs per node: 10k VMs at 100 nodes) as
// userspace OVS bridges (10 per ovs-vswitchd, each in a namespace: prefix mcsc), synced through the daemon's own
// NodePipelines (the real pipeline). Each scenario beside its baseline in the same run:
//   (a) first sync of every bridge            vs  ovs-ofctl --bundle add-flows, bridge by bridge (2 at a time)
//   (b) controller restart, every bridge right vs  ovs-ofctl dump-flows of every bridge (2 at a time)
//   (d) one VM added while (b) runs
//   (c) every ovs-vswitchd restarted at once (their flows are gone: a full first sync again)
// For each: total, p50/p99 per switch, the longest event-loop stall, API latency (a child process GETs the API every
// 100 ms), controller RSS and heap; memory per installed flow after (a).
//   Run: npx tsx bench/scale.ts [--nodes 100] [--vms N] [--per-instance 10] [--switch-nice 10] [--controller-nice 0]
//        [--controller-node-args '--trace-gc --cpu-prof --cpu-prof-dir=DIR']
//   --alloc-profile DIR writes where each scenario allocated (bench/alloc-profile.ts). Each scenario's start and end
//   are printed in ms since the controller process started, the clock of its --trace-gc lines and of --cpu-prof.
// The controller runs in a process of its own (bench/scale-controller.ts; (b) is a new process, with an empty heap,
// as a restarted daemon is), at `--controller-nice` (default 0), and every ovs-vswitchd at `--switch-nice` (default
// 10): the lab's stand-in for switches that are other machines. The bench's own work (lab commands, baselines) stays
// in this process. The API is a stand-in in the controller's process: a fastify route GET /api/v1/nodes answering the
// cloud's node list (the daemon's API needs its store and backends); what it measures is whether HTTP requests wait
// behind sync work.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stopAllOvs } from '../src/lab/ovs.js';
import { percentile } from '../test/runtime/storm.js';
import { API_POLLER_SCRIPT, ScaleLab, type Storm } from '../test/runtime/scale-lab.js';
import type { ControllerReport, ControllerRequest, Memory } from './scale-controller.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const NODES = Number(arg('nodes', '100'));
const VMS = Number(arg('vms', String(NODES * 100)));
const PER = Number(arg('per-instance', '10'));
const SWITCH_NICE = Number(arg('switch-nice', '10'));
const CONTROLLER_NICE = Number(arg('controller-nice', '0'));
const CONTROLLER_ARGS = arg('controller-node-args', '').split(' ').filter(Boolean);
const BASE = '/tmp/mcsc-bench';
const ALLOC_DIR = process.argv.includes('--alloc-profile') ? arg('alloc-profile', '') : undefined;
const STORM_TIMEOUT_MS = 600_000;
/** Stall bound of the issue: echo replies, new connections and the API must not wait longer than this. */
const STALL_MS = 100;

const f = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
const mib = (b: number): string => `${(b / 1048576).toFixed(0)} MiB`;
const dist = (xs: readonly number[]): string => `p50 ${f(percentile(xs, 50))} p99 ${f(percentile(xs, 99))}`;

interface Row {
  readonly name: string;
  readonly value: string;
  readonly pass: boolean | undefined;
}
const rows: Row[] = [];
const row = (name: string, value: string, pass?: boolean): void => {
  rows.push({ name, value, pass });
  console.log(`${pass === undefined ? '    ' : pass ? 'PASS' : 'FAIL'}  ${name}: ${value}`);
};

/**
 * The controller in a process of its own (bench/scale-controller.ts), listening on `path`, at CONTROLLER_NICE; with
 * --expose-gc for its memory figures. Its stdout is ours (scenario marks, --trace-gc lines).
 */
class ControllerProcess {
  private readonly child: ChildProcess;
  private readonly reports: ControllerReport[] = [];
  private waiter: (() => void) | undefined;
  private exited: string | undefined;

  private constructor(path: string) {
    const script = fileURLToPath(new URL('./scale-controller.ts', import.meta.url));
    const args = ['--nodes', String(NODES), '--vms', String(VMS), '--listen', `unix:${path}`, ...(ALLOC_DIR ? ['--alloc-profile', ALLOC_DIR] : [])];
    this.child = fork(script, args, { execArgv: [...process.execArgv, '--expose-gc', ...CONTROLLER_ARGS], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    setPriority(this.child.pid!, CONTROLLER_NICE);
    this.child.on('message', (r: ControllerReport) => {
      this.reports.push(r);
      this.waiter?.();
    });
    this.child.on('exit', (code, signal) => {
      this.exited = `controller process exited (${signal ?? code})`;
      this.waiter?.();
    });
  }

  /** Starts one and waits until it serves its API (the OpenFlow listener opens with the first `watch`). */
  static async start(path: string): Promise<{ proc: ControllerProcess; apiUrl: string }> {
    const proc = new ControllerProcess(path);
    const r = await proc.next('ready', 120_000);
    // Niceness is per thread in Linux: V8's GC helpers and libuv's pool too (a parallel scavenge waits for them).
    proc.reniceThreads();
    return { proc, apiUrl: r.apiUrl };
  }

  private reniceThreads(): void {
    for (const tid of readdirSync(`/proc/${this.child.pid}/task`)) {
      try {
        setPriority(Number(tid), CONTROLLER_NICE);
      } catch {
        // A thread that ended meanwhile.
      }
    }
  }

  /** The next report of kind `op` (an error report or the process's exit fails it). */
  async next<K extends ControllerReport['op']>(op: K, timeoutMs: number): Promise<Extract<ControllerReport, { op: K }>> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.reports.findIndex((r) => r.op === op || r.op === 'error');
      if (i >= 0) {
        const [r] = this.reports.splice(i, 1);
        if (r!.op === 'error') throw new Error(`controller process: ${r!.message}`);
        return r as Extract<ControllerReport, { op: K }>;
      }
      if (this.exited) throw new Error(this.exited);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`controller process: no '${op}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  private ask(req: ControllerRequest): void {
    this.child.send(req);
  }

  /** Watches one storm in the controller: `trigger` sets it off once the controller watches (and listens). */
  async storm(label: string, opts: { listen: boolean; addVmAt?: number }, trigger: () => Promise<void>): Promise<Extract<ControllerReport, { op: 'storm' }>> {
    this.ask({ op: 'watch', label, listen: opts.listen, ...(opts.addVmAt !== undefined && { addVmAt: opts.addVmAt }), timeoutMs: STORM_TIMEOUT_MS });
    await this.next('watching', 60_000);
    await trigger();
    return this.next('storm', STORM_TIMEOUT_MS + 10_000);
  }

  async memory(): Promise<Memory> {
    this.ask({ op: 'memory' });
    return this.next('memory', 60_000);
  }

  /** Stops it (its controller first, so no bridge is left talking to a dying process), or kills it after 30 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.ask({ op: 'stop' });
    const t = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await gone;
    clearTimeout(t);
  }
}

/** API latencies seen by a child process while `during` runs. */
async function withApiPoller<T>(url: string, during: () => Promise<T>): Promise<{ result: T; latencies: number[] }> {
  const child = spawn(process.execPath, ['-e', API_POLLER_SCRIPT, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  // As the controller: the poller is what a user's browser would be, not one of the simulated switches.
  if (child.pid !== undefined) setPriority(child.pid, CONTROLLER_NICE);
  const latencies: number[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) latencies.push(Number(l));
  });
  try {
    // Its start-up (a node process) is not part of what is measured.
    for (let i = 0; i < 200 && latencies.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    latencies.length = 0;
    const result = await during();
    return { result, latencies };
  } finally {
    child.kill('SIGTERM');
  }
}

function stormRows(label: string, s: Storm, api: number[], mem: { rss: number; heapUsed: number }, extraPass = true): void {
  const failedApi = api.filter((x) => x < 0).length;
  const ok = api.filter((x) => x >= 0);
  row(`${label}: total`, `${f(s.totalMs)}, per switch ${dist(s.perSwitch)}, ${s.flowMods.toLocaleString('en')} flow-mods, ${s.unchanged.toLocaleString('en')} flows found right`, extraPass);
  row(`${label}: longest event-loop stall`, `${f(s.loopMaxMs)} (p99 ${f(s.loopP99Ms)}); main-thread CPU in the worst gap ${f(s.loopMaxCpuMs)}`, s.loopMaxMs <= STALL_MS);
  row(
    `${label}: API latency (GET /api/v1/nodes every 100 ms)`,
    ok.length ? `${ok.length} requests, ${dist(ok)} max ${f(Math.max(...ok))}${failedApi ? `, ${failedApi} failed` : ''}` : 'no request completed',
    ok.length > 0 && failedApi === 0 && Math.max(...ok) <= STALL_MS + 50,
  );
  row(`${label}: controller memory at its end`, `RSS ${mib(mem.rss)}, heap ${mib(mem.heapUsed)}`);
}

async function main(): Promise<void> {
  console.log(`scale: ${NODES} nodes, ${VMS} VMs, ${PER} bridges per ovs-vswitchd; ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(
    `      the controller runs in a process of its own at nice ${CONTROLLER_NICE}, every ovs-vswitchd at nice ${SWITCH_NICE}: ` +
      'the simulated switches stand in for other machines and get the cores only when the controller does not want them',
  );
  rmSync(BASE, { recursive: true, force: true });
  const t = performance.now();
  const lab = await ScaleLab.start({ prefix: 'mcsc-b', baseDir: BASE, nodes: NODES, vms: VMS, perInstance: PER, switchNice: SWITCH_NICE });
  console.log(`lab up in ${f(performance.now() - t)}`);
  const procs: ControllerProcess[] = [];
  try {
    const flowsPer = lab.desiredFlows(lab.nodes[0]!).length;
    row('flows per switch (c0)', `${flowsPer.toLocaleString('en')}; ${(flowsPer * NODES).toLocaleString('en')} in all (about)`);

    // (a) baseline, then the same bridges emptied again.
    const addTimes = await lab.baselineAddFlows(2);
    const addTotal = addTimes.reduce((a, b) => a + b, 0) / 2;
    row('(a) baseline: ovs-ofctl --bundle add-flows', `${f(addTotal)} (sum/2), per switch ${dist(addTimes)}`);
    await lab.clearAll();

    const { sock, path } = await lab.newSocket();
    const first = await ControllerProcess.start(path);
    procs.push(first.proc);
    const heap0 = (await first.proc.memory()).heapUsed;
    const a = await withApiPoller(first.apiUrl, () => first.proc.storm('a', { listen: true }, () => lab.connectAll(sock)));
    stormRows('(a) first sync', a.result.storm, a.latencies, a.result, a.result.storm.totalMs <= 1.1 * addTotal);
    const heap1 = (await first.proc.memory()).heapUsed;
    const installed = a.result.storm.flowMods;
    row('memory per installed flow (heap after (a) - before, over the flows installed)', `${((heap1 - heap0) / installed).toFixed(0)} bytes (${mib(heap1 - heap0)} for ${installed.toLocaleString('en')} flows)`);

    // (b) a new controller process finds every bridge right; (d) one VM added once half of them are verified.
    await first.proc.stop();
    const dump = await lab.baselineDump(2);
    const dumpTotal = dump.times.reduce((x, y) => x + y, 0) / 2;
    const counted = [...dump.counts.values()].reduce((x, y) => x + y, 0);
    row('(b) baseline: ovs-ofctl dump-flows', `${f(dumpTotal)} (sum/2), per switch ${dist(dump.times)}; ${counted.toLocaleString('en')} flows on the switches`, counted === installed);
    const second = await ControllerProcess.start(path);
    procs.push(second.proc);
    const half = Math.ceil(NODES / 2);
    // It listens only once it watches: no bridge reconnects (OVS retries every second) before the storm is watched.
    const b = await withApiPoller(second.apiUrl, () => second.proc.storm('b', { listen: true, addVmAt: half }, async () => undefined));
    const d = b.result.added;
    stormRows('(b) controller restart', b.result.storm, b.latencies, b.result, b.result.storm.totalMs <= dumpTotal * 1.2 + 1000);
    row(`(b) flow-mods of the first ${half} switches verified (before the VM was added)`, `${d?.modsBefore ?? -1}`, d?.modsBefore === 0);
    row('(d) one VM added during (b): every switch resynced', d ? `${f(d.ms)}, ${d.flowMods} flow-mods` : 'not run', d !== undefined && d.flowMods > 0);

    // (c) every vswitchd at once.
    const c = await withApiPoller(second.apiUrl, () => second.proc.storm('c', { listen: false }, () => lab.restartVswitchd()));
    stormRows('(c) all ovs-vswitchd restarted', c.result.storm, c.latencies, c.result, c.result.storm.totalMs <= 1.1 * addTotal + 2000);
  } finally {
    // A scenario that failed leaves its controller running: the bench would never exit.
    for (const p of procs) await p.stop();
    await lab.stop();
    await stopAllOvs();
    rmSync(BASE, { recursive: true, force: true });
  }
  const failed = rows.filter((r) => r.pass === false);
  console.log(`\n${rows.filter((r) => r.pass).length} PASS, ${failed.length} FAIL`);
  process.exitCode = failed.length ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
