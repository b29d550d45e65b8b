// bench/verify: what periodic drift verification (src/runtime/verifier.ts, `sync.verifyIntervalSeconds`) costs on a
// 100k-flow bridge when nothing differs, beside `ovs-ofctl dump-flows` of the same bridge in the same run.
//   Run: npx tsx bench/verify.ts [--flows N] [--rounds R] [--drift D]
//   For each of R rounds, alternating: one clean verification through FlowVerifier (read the flow table, diff, send
//   nothing) and one `ovs-ofctl -O OpenFlow13 dump-flows br0 > /dev/null`. Per side: wall time, CPU time of the
//   controller process (ours only), CPU time of ovs-vswitchd (what the switch pays to dump), and for ours the longest
//   event-loop stall seen while it ran (perf_hooks.monitorEventLoopDelay, 10 ms resolution) and the flow mods sent.
//   Then D flows (default 1000) are deleted by hand and one verification puts them back (its cost with drift).
// A namespace of its own, prefix `mcdrb`; its OVS is stopped at the end, also on failure.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { OvsInstance } from '../src/lab/ovs.js';
import { parseFlow } from '../src/openflow/text/flow-text.js';
import type { Action, FlowMod, OxmField } from '../src/openflow/types.js';
import { Controller } from '../src/runtime/controller.js';
import type { Datapath } from '../src/runtime/datapaths.js';
import type { SyncStats } from '../src/runtime/sync.js';
import { FlowVerifier } from '../src/runtime/verifier.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('flows', 100_000);
const ROUNDS = arg('rounds', 5);
const DRIFT = arg('drift', 1000);
const NODE = 'mcdrb';
const DPID = 0xd1f7n;

// Seed-shape table 10 flows (as bench/sync.ts): remote VM by MAC and routed by IP, built from two parsed templates.
const tplMac = parseFlow('table=10,priority=15,dl_dst=02:00:00:00:00:00,actions=load:100->NXM_NX_TUN_ID[],load:0x0a630001->NXM_NX_TUN_IPV4_DST[],output:1');
const tplIp = parseFlow('table=10,priority=10,ip,nw_dst=10.0.0.1,actions=mod_dl_src:12:00:00:ff:ff:ff,mod_dl_dst:02:00:00:00:00:01,load:101->NXM_NX_TUN_ID[],load:0x0a630002->NXM_NX_TUN_IPV4_DST[],output:1');
const actionsOf = (f: FlowMod): readonly Action[] => (f.instructions[0]?.type === 'apply_actions' ? f.instructions[0].actions : []);
const macBytes = (i: number): Uint8Array => new Uint8Array([2, 0, (i >>> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
const withValue = (a: Action, value: bigint): Action => ({ ...a, value }) as Action;

function buildFlow(i: number): FlowMod {
  if (i % 2 === 0) {
    const [vni, host, out] = actionsOf(tplMac) as [Action, Action, Action];
    const match: OxmField[] = [{ field: 'eth_dst', value: macBytes(i) }];
    return { ...tplMac, match, instructions: [{ type: 'apply_actions', actions: [withValue(vni, BigInt(100 + (i % 64))), withValue(host, BigInt(0x0a630001 + (i % 200))), out] }] };
  }
  const [src, dst, vni, host, out] = actionsOf(tplIp) as [Action, Action, Action, Action, Action];
  const setDst = { ...dst, field: { field: 'eth_dst', value: macBytes(i) } } as Action;
  const match: OxmField[] = [tplIp.match[0]!, { field: 'ip_dst', value: new Uint8Array([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]) }];
  return { ...tplIp, match, instructions: [{ type: 'apply_actions', actions: [src, setDst, withValue(vni, BigInt(100 + (i % 64))), withValue(host, BigInt(0x0a630001 + (i % 200))), out] }] };
}

/** ovs-vswitchd's user + system CPU time so far, ms (from /proc; clock ticks of 10 ms). */
function vswitchdCpuMs(ovs: OvsInstance): number {
  const pid = readFileSync(join(ovs.dir, 'vswitchd.pid'), 'utf8').trim();
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const median = (xs: readonly number[]): number => sorted(xs)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);

interface Sample {
  wallMs: number;
  cpuMs: number;
  switchCpuMs: number;
  maxStallMs?: number;
  flowMods?: number;
}

async function measure(ovs: OvsInstance, fn: () => Promise<SyncStats | void>, withLoop: boolean): Promise<Sample> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  if (withLoop) loop.enable();
  const sw0 = vswitchdCpuMs(ovs);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const switchCpuMs = vswitchdCpuMs(ovs) - sw0;
  loop.disable();
  return {
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    switchCpuMs,
    ...(withLoop && { maxStallMs: loop.max / 1e6 }),
    ...(r && { flowMods: r.flowMods }),
  };
}

async function main(): Promise<void> {
  const ovs = await OvsInstance.start({ name: NODE });
  const sock = `/tmp/mc-bench-verify-${process.pid}.sock`;
  let ctl: Controller | undefined;
  let verifier: FlowVerifier | undefined;
  try {
    await ovs.addBridge('br0', { protocols: ['OpenFlow13'], failMode: 'secure', datapathId: DPID.toString(16).padStart(16, '0') });
    await ovs.vsctl('add-port', 'br0', 'vx0', '--', 'set', 'interface', 'vx0', 'type=vxlan', 'options:local_ip=10.99.0.1', 'options:remote_ip=flow', 'options:key=flow', 'ofport_request=1');
    const flows = Array.from({ length: N }, (_, i) => buildFlow(i));
    ctl = new Controller({ listen: [`unix:${sock}`], desiredState: () => ({ flows }), resyncOnPortChange: false });
    await ctl.start();
    const synced = new Promise<Datapath>((resolve) => ctl!.once('synced', (dp) => resolve(dp)));
    await ovs.setUnixController('br0', sock);
    const dp = await synced;
    const count = Number(/flow_count=(\d+)/.exec(await ovs.ofctl('-O', 'OpenFlow13', 'dump-aggregate', 'br0'))?.[1]);
    if (count !== N) throw new Error(`the bridge holds ${count} flows, not ${N}`);

    // Verifications are driven one at a time through the verifier's own path (a long interval, then each one
    // triggered by waiting for its event would take minutes): FlowVerifier calls exactly this resync.
    verifier = new FlowVerifier(ctl, { intervalMs: 3_600_000 });
    const verifyOnce = (): Promise<SyncStats> => ctl!.resync(dp.dpid, { source: 'switch' });
    const ours: Sample[] = [];
    const dumps: Sample[] = [];
    const idle: Sample[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      ours.push(await measure(ovs, verifyOnce, true));
      dumps.push(await measure(ovs, () => ovs.ofctl('-O', 'OpenFlow13', 'dump-flows', 'br0').then(() => undefined), false));
      // The same time doing nothing: how long this (shared, loaded) machine holds the process back by itself.
      const wait = ours.at(-1)!.wallMs;
      idle.push(await measure(ovs, () => new Promise<void>((r) => setTimeout(r, wait)), true));
    }
    if (ours.some((s) => s.flowMods !== 0)) throw new Error('a clean verification sent flow mods');

    // One verification through FlowVerifier itself (short interval), to show the same figure from its event.
    verifier.stop();
    verifier = new FlowVerifier(ctl, { intervalMs: 200, jitter: 0 });
    const viaVerifier = new Promise<[SyncStats, number]>((resolve) => verifier!.once('verified', (_dp, st, n) => resolve([st, n])));
    verifier.start();
    const [vst, vrep] = await viaVerifier;
    verifier.stop();

    // Drift: D flows deleted by hand, one verification puts them back.
    const victims = flows.slice(0, DRIFT);
    for (let i = 0; i < victims.length; i += 500) {
      const batch = victims.slice(i, i + 500).map((_, j) => {
        const k = i + j;
        return k % 2 === 0 ? `table=10,priority=15,dl_dst=02:00:${[(k >>> 24) & 255, (k >> 16) & 255, (k >> 8) & 255, k & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}` : `table=10,priority=10,ip,nw_dst=10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
      });
      await ovs.exec('sh', ['-c', `printf '%s\\n' ${batch.map((b) => `'${b}'`).join(' ')} | ovs-ofctl -O OpenFlow13 --strict del-flows br0 -`]);
    }
    const afterDel = Number(/flow_count=(\d+)/.exec(await ovs.ofctl('-O', 'OpenFlow13', 'dump-aggregate', 'br0'))?.[1]);
    const repair = await measure(ovs, verifyOnce, true);
    const healed = Number(/flow_count=(\d+)/.exec(await ovs.ofctl('-O', 'OpenFlow13', 'dump-aggregate', 'br0'))?.[1]);

    const med = (xs: Sample[], k: keyof Sample): number => median(xs.map((s) => s[k] as number));
    console.log(`bench/verify: ${N} flows on one userspace bridge, ${ROUNDS} rounds, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log('| | wall (median) | controller CPU | ovs-vswitchd CPU | longest event-loop stall | flow mods |');
    console.log('|---|---|---|---|---|---|');
    console.log(`| clean verification (read, diff, send nothing) | ${ms(med(ours, 'wallMs'))} | ${ms(med(ours, 'cpuMs'))} | ${ms(med(ours, 'switchCpuMs'))} | ${ms(Math.max(...ours.map((s) => s.maxStallMs!)))} (worst round) | 0 |`);
    console.log(`| idle, as long (the machine's own stalls) | ${ms(med(idle, 'wallMs'))} | ${ms(med(idle, 'cpuMs'))} | ${ms(med(idle, 'switchCpuMs'))} | ${ms(Math.max(...idle.map((s) => s.maxStallMs!)))} (worst round) | - |`);
    console.log(`| \`ovs-ofctl dump-flows br0\` (same bridge, same run) | ${ms(med(dumps, 'wallMs'))} | - | ${ms(med(dumps, 'switchCpuMs'))} | - | - |`);
    console.log(`| verification after deleting ${N - afterDel} flows by hand | ${ms(repair.wallMs)} | ${ms(repair.cpuMs)} | ${ms(repair.switchCpuMs)} | ${ms(repair.maxStallMs!)} | ${repair.flowMods} (flows now ${healed}) |`);
    console.log(`rounds: ours ${ours.map((s) => ms(s.wallMs)).join(', ')}; dump-flows ${dumps.map((s) => ms(s.wallMs)).join(', ')}`);
    console.log(`longest stall per round: ours ${ours.map((s) => ms(s.maxStallMs!)).join(', ')}; idle ${idle.map((s) => ms(s.maxStallMs!)).join(', ')}`);
    console.log(`via FlowVerifier's event: ${ms(vst.durationMs)} (read ${ms(vst.readMs)}, diff ${ms(vst.diffMs)}), repaired ${vrep}`);
    const perSwitchPerMin = med(ours, 'cpuMs') / 60;
    console.log(`at the default 60 s interval: ${perSwitchPerMin.toFixed(1)} ms of controller CPU per switch per second of wall time ≈ ${(perSwitchPerMin / 10).toFixed(2)} % of one core per 100k-flow switch`);
    if (healed !== N) throw new Error(`after the repair the bridge holds ${healed} flows, not ${N}`);
  } finally {
    verifier?.stop();
    await ctl?.stop();
    await ovs.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
