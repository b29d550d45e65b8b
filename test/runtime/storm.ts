// A connect storm: many userspace OVS bridges (in a few OVS instances, each in a namespace of its own) pointed at
// one controller in this process in one ovs-vsctl transaction per instance. Shared by
// test/runtime/connect-storm.test.ts (correctness) and bench/connect-storm.ts (timing).
//
// Per bridge it records when OVS started connecting (vswitchd's own log: "connecting..."), when we accepted the
// socket and queued our HELLO, when FEATURES_REPLY and the whole handshake were in, and when the first sync was done;
// per storm the longest event-loop stall in this process and OVS's "connection timed out" count (our HELLO did not
// reach OVS within its connect window of about 1 s: see src/runtime/turns.ts).
import { readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CommandError, run } from '../../src/lab/exec.js';
import { cleanupLab } from '../../src/lab/lab.js';
import { OvsInstance } from '../../src/lab/ovs.js';
import { formatFlow, parseFlow } from '../../src/openflow/text/flow-text.js';
import type { FlowMod } from '../../src/openflow/types.js';
import { epochMs } from '../../src/runtime/connection.js';
import { Controller, type ControllerOptions } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';

export interface StormLabOptions {
  /** Namespace/instance name prefix (instances are `${prefix}-0`, `${prefix}-1`, ...; a crashed run's are removed). */
  readonly prefix: string;
  readonly baseDir: string;
  /** Most bridges a lab can hold (its instances are made once). */
  readonly maxSwitches: number;
  /** Bridges per OVS instance (default 50). */
  readonly perInstance?: number;
}

export interface StormOptions {
  readonly switches: number;
  /** Seed-shape flows each switch must get (default 64, about what a mininet node of test/lab gets). */
  readonly flowsPerSwitch?: number;
  /** Runtime options of this storm's controller (e.g. `maxConcurrentSyncs`). */
  readonly controller?: Partial<Omit<ControllerOptions, 'listen' | 'desiredState'>>;
  /** Give up after this long (default 120 s). */
  readonly timeoutMs?: number;
}

/** Milliseconds since OVS logged "connecting..." for the bridge's first attempt of this storm. */
export interface SwitchTimes {
  readonly bridge: string;
  readonly dpid: bigint;
  /** Our accept (and HELLO queued) of the connection that became the datapath. */
  readonly hello: number;
  /** OVS's HELLO read (our FEATURES_REQUEST, PORT_DESC, SET_CONFIG and BARRIER sent right then). */
  readonly peerHello: number;
  readonly features: number;
  readonly handshake: number;
  readonly synced: number;
  /** Connections OVS made for this bridge during the storm (1 when nothing was retried). */
  readonly attempts: number;
}

export interface StormResult {
  readonly switches: readonly SwitchTimes[];
  /** From the ovs-vsctl transactions to the last first sync. */
  readonly allSyncedMs: number;
  readonly loopMaxMs: number;
  readonly loopP99Ms: number;
  /** OVS gave up waiting for our HELLO ("connection timed out") this many times. */
  readonly ovsTimeouts: number;
  /** Every other connection event OVS logged (e.g. "connection closed by peer"), by text, with counts. */
  readonly ovsOther: Readonly<Record<string, number>>;
  /** Connections that failed before becoming a datapath (as the controller saw them). */
  readonly rejected: number;
  readonly flowMods: number;
}

const dpidOf = (i: number): bigint => 0x6d6300000000n + BigInt(i);
const dpidText = (i: number): string => dpidOf(i).toString(16).padStart(16, '0');
const bridgeName = (i: number): string => `s${i}`;
const indexOfDpid = (dpid: bigint): number => Number(dpid - 0x6d6300000000n);

/** The seed's table 10 unicast shapes plus a table-0 classifier, unique per switch. */
function stormFlowTexts(sw: number, count: number): string[] {
  const texts = ['table=0,priority=0,actions=drop', `table=0,priority=10,in_port=LOCAL,actions=resubmit(,10)`];
  for (let i = 0; texts.length < count; i++) {
    const h = (sw * 7919 + i) & 0xffffff;
    const mac = `02:00:${[(sw >> 8) & 255, sw & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    const host = `0x0a63${(h & 0xffff).toString(16).padStart(4, '0')}`;
    texts.push(
      i % 2 === 0
        ? `table=10,priority=15,dl_dst=${mac},actions=load:${100 + (i % 64)}->NXM_NX_TUN_ID[],load:${host}->NXM_NX_TUN_IPV4_DST[],output:LOCAL`
        : `table=10,priority=10,ip,nw_dst=10.${sw & 255}.${(i >> 8) & 255}.${i & 255},actions=mod_dl_src:12:00:00:ff:ff:ff,mod_dl_dst:${mac},load:${100 + (i % 64)}->NXM_NX_TUN_ID[],output:LOCAL`,
    );
  }
  return texts;
}

/** Like a real controller's compile: fresh flow objects for every (re)connect. */
const stormFlows = (sw: number, count: number): FlowMod[] => stormFlowTexts(sw, count).map((t) => parseFlow(t));

export class StormLab {
  private readonly instances: OvsInstance[] = [];
  private rounds = 0;

  private constructor(private readonly opts: StormLabOptions) {}

  static async start(opts: StormLabOptions): Promise<StormLab> {
    const lab = new StormLab(opts);
    await cleanupLab(opts.prefix);
    try {
      const count = Math.ceil(opts.maxSwitches / lab.per);
      // Sequentially: OVS start-up is mostly waiting, and parallel starts only contend for the two cores.
      for (let k = 0; k < count; k++) lab.instances.push(await OvsInstance.start({ name: `${opts.prefix}-${k}`, baseDir: opts.baseDir }));
    } catch (e) {
      await lab.stop();
      throw e;
    }
    return lab;
  }

  private get per(): number {
    return this.opts.perInstance ?? 50;
  }

  /** Instance and bridge of switch i. */
  private where(i: number): { ovs: OvsInstance; bridge: string } {
    return { ovs: this.instances[Math.floor(i / this.per)]!, bridge: bridgeName(i) };
  }

  /** Groups switches 0..n-1 by instance. */
  private byInstance(n: number): Map<OvsInstance, number[]> {
    const m = new Map<OvsInstance, number[]>();
    for (let i = 0; i < n; i++) {
      const { ovs } = this.where(i);
      m.set(ovs, [...(m.get(ovs) ?? []), i]);
    }
    return m;
  }

  /** One storm with a fresh controller and fresh (empty, controller-less) bridges; checks `verify` of them with diff-flows. */
  async storm(opts: StormOptions, verify: 'all' | number = 8): Promise<StormResult> {
    const n = opts.switches;
    const flowsPer = opts.flowsPerSwitch ?? 64;
    if (n > this.instances.length * this.per) throw new Error(`this lab holds at most ${this.instances.length * this.per} switches`);
    const round = ++this.rounds;
    const groups = this.byInstance(n);
    // Fresh bridges: no flows, no controller. The old round's are removed first, in a transaction of their own: a
    // bridge deleted and added again in one transaction may be replaced by vswitchd after it already connected.
    await Promise.all(
      [...groups].map(async ([ovs, ids]) => {
        await ovs.vsctl('--timeout=60', ...ids.flatMap((i) => ['--', '--if-exists', 'del-br', bridgeName(i)]).slice(1));
        const args: string[] = [];
        for (const i of ids) {
          const br = bridgeName(i);
          args.push('--', 'add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow13', `other_config:datapath-id=${dpidText(i)}`);
        }
        await ovs.vsctl('--timeout=60', ...args.slice(1));
      }),
    );
    const sock = join(this.opts.baseDir, `storm-${round}.sock`);
    const desiredState = (dpid: bigint): { flows: FlowMod[] } => ({ flows: stormFlows(indexOfDpid(dpid), flowsPer) });
    const ctl = new Controller({ ...opts.controller, listen: [`unix:${sock}`], desiredState, resyncOnPortChange: false });
    await ctl.start();
    const logOffsets = new Map<OvsInstance, number>();
    try {
      for (const ovs of groups.keys()) {
        await symlink(sock, join(ovs.dir, `storm-${round}.sock`));
        logOffsets.set(ovs, (await stat(join(ovs.dir, 'vswitchd.log'))).size);
      }
      const synced = new Map<bigint, number>();
      const datapaths = new Map<bigint, Datapath>();
      const surprises: string[] = [];
      let rejected = 0;
      let flowMods = 0;
      const expected = (dpid: bigint): boolean => dpid >= dpidOf(0) && dpid < dpidOf(n);
      ctl.datapaths.on('connected', (dp) => {
        if (!expected(dp.dpid)) surprises.push(`a datapath ${dp.id} connected`);
        if (datapaths.has(dp.dpid)) surprises.push(`${dp.id} connected again`);
        datapaths.set(dp.dpid, dp);
      });
      ctl.datapaths.on('rejected', () => rejected++);
      ctl.on('syncFailed', (dp, err) => surprises.push(`sync of ${dp.id} failed: ${err.message}`));
      let allDone: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (allDone = resolve));
      ctl.on('synced', (dp, stats) => {
        flowMods += stats.flowMods;
        if (expected(dp.dpid) && !synced.has(dp.dpid)) synced.set(dp.dpid, epochMs());
        if (synced.size === n) allDone();
      });
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const t0 = epochMs();
      await Promise.all(
        [...groups].map(([ovs, ids]) => {
          const args: string[] = [];
          for (const i of ids) {
            args.push('--', `--id=@c${i}`, 'create', 'Controller', `target="unix:${join(ovs.dir, `storm-${round}.sock`)}"`, 'max_backoff=1000');
            args.push('--', 'set', 'bridge', bridgeName(i), `controller=@c${i}`);
          }
          return ovs.vsctl('--no-wait', ...args.slice(1));
        }),
      );
      const timeoutMs = opts.timeoutMs ?? 120_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        done,
        new Promise<never>(
          (_, reject) =>
            (timer = setTimeout(() => reject(new Error(`storm of ${n}: only ${synced.size} switches synced after ${timeoutMs} ms; ${surprises.join('; ')}`)), timeoutMs)),
        ),
      ]).finally(() => clearTimeout(timer));
      loop.disable();
      const allSyncedMs = Math.max(...synced.values()) - t0;

      const log = await this.ovsLog(groups, logOffsets);
      const switches: SwitchTimes[] = [];
      for (let i = 0; i < n; i++) {
        const dp = datapaths.get(dpidOf(i));
        const first = log.connecting.get(bridgeName(i))?.[0];
        if (!dp || first === undefined) throw new Error(`switch ${bridgeName(i)}: ${dp ? 'no "connecting..." in the OVS log' : 'never connected'}`);
        const t = dp.connection.timing;
        switches.push({
          bridge: bridgeName(i),
          dpid: dp.dpid,
          hello: t.openedAt - first,
          peerHello: t.helloAt! - first,
          features: t.featuresAt! - first,
          handshake: t.doneAt! - first,
          synced: synced.get(dp.dpid)! - first,
          attempts: log.connecting.get(bridgeName(i))!.length,
        });
      }
      try {
        await this.verify(n, flowsPer, verify);
      } catch (e) {
        throw new Error(`${(e as Error).message.slice(0, 400)}\n(during the storm: ${surprises.join('; ') || 'nothing unusual'})`);
      }
      return {
        switches,
        allSyncedMs,
        loopMaxMs: loop.max / 1e6,
        loopP99Ms: loop.percentile(99) / 1e6,
        ovsTimeouts: log.timeouts,
        ovsOther: log.other,
        rejected,
        flowMods,
      };
    } finally {
      await ctl.stop();
      // Controller-less again, so the next storm starts from quiet bridges.
      await Promise.all([...groups].map(([ovs, ids]) => ovs.vsctl('--timeout=60', ...ids.flatMap((i) => ['--', 'del-controller', bridgeName(i)]).slice(1))));
    }
  }

  /** "connecting..." times per bridge and "connection timed out" count, from the part of each vswitchd.log written since `offsets`. */
  private async ovsLog(
    groups: Map<OvsInstance, number[]>,
    offsets: Map<OvsInstance, number>,
  ): Promise<{ connecting: Map<string, number[]>; timeouts: number; other: Record<string, number> }> {
    const connecting = new Map<string, number[]>();
    const other: Record<string, number> = {};
    let timeouts = 0;
    for (const ovs of groups.keys()) {
      const text = (await readFile(join(ovs.dir, 'vswitchd.log'))).subarray(offsets.get(ovs)!).toString('utf8');
      for (const line of text.split('\n')) {
        // 2026-11-26T04:00:00.123Z|00042|rconn|INFO|s3<->unix:/.../storm-1.sock: connecting...
        const m = /^(\S+Z)\|\d+\|rconn\|\w+\|(\w+)<->\S+: (.*)$/.exec(line);
        if (!m) continue;
        const what = m[3]!;
        if (what === 'connection timed out') timeouts++;
        else if (what === 'connecting...') connecting.set(m[2]!, [...(connecting.get(m[2]!) ?? []), Date.parse(m[1]!)]);
        else if (what !== 'connected') other[what] = (other[what] ?? 0) + 1;
      }
    }
    return { connecting, timeouts, other };
  }

  /** `ovs-ofctl diff-flows` of each checked bridge against its desired flows (OVS compares both sides itself). */
  private async verify(n: number, flowsPer: number, which: 'all' | number): Promise<void> {
    const count = which === 'all' ? n : Math.min(n, which);
    const ids = Array.from({ length: count }, (_, k) => Math.floor((k * n) / count));
    const queue = [...ids];
    const worker = async (): Promise<void> => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const { ovs, bridge } = this.where(i);
        const file = join(ovs.dir, `expected-${bridge}.txt`);
        await writeFile(file, stormFlows(i, flowsPer).map((f) => formatFlow(f)).join('\n') + '\n');
        try {
          await run('ovs-ofctl', ['-O', 'OpenFlow13', 'diff-flows', `unix:${ovs.mgmtSocket(bridge)}`, file]);
        } catch (e) {
          if (e instanceof CommandError && e.code === 2) throw new Error(`${bridge}'s flows differ from its desired flows:\n${e.stdout}`);
          throw e;
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  async stop(): Promise<void> {
    await Promise.all(this.instances.splice(0).map((i) => i.stop()));
  }
}

/** p-th percentile (nearest rank) of `xs`. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
