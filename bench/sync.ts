// bench/sync: the controller runtime against a real bridge (userspace OVS in a namespace of its own), each figure
// beside its baseline measured in the same run.
//   Run: npx tsx bench/sync.ts [--flows N] [--rounds R] [--ssh-flows S] [--no-ssh] [--osken]
//   (a) full sync of N seed-shape flows vs `ovs-ofctl -O OpenFlow13 --bundle add-flows` of the same flows (≤ 1.1x)
//   (b) no-op resync of that bridge (< 1.5 s, 0 flow mods)
//   (c) changing 1 flow on that bridge (< 50 ms)
//   (d) 1,000 flows the seed's way (one `ssh` to a local sshd running `ovs-ofctl add-flow` per flow) vs ours (≥ 1000x);
//       S (default 100) ssh round trips are timed and the per-flow time is extrapolated to 1,000.
//   (e) with --osken: os-ken 2.5 (/usr/bin/python3, bench/osken-sync.py) installing the same N flows (flow mods and a
//       barrier, the way an os-ken app does it), beside our (a).
//
// Honesty rules: our flows are fresh objects for every full sync (their encoding is part of the time); the
// baselines run in the same process run, alternating with ours, on the same bridge, emptied before each.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { OvsInstance, stopAllOvs } from '../src/lab/ovs.js';
import { parseFlow } from '../src/openflow/text/flow-text.js';
import { encodeMessage } from '../src/openflow/message.js';
import type { Action, FlowMod, OxmField } from '../src/openflow/types.js';
import { Controller } from '../src/runtime/controller.js';
import type { Datapath } from '../src/runtime/datapaths.js';
import type { DesiredState, SyncStats } from '../src/runtime/sync.js';
import { TestSshd } from '../test/hosts/helpers/sshd.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('flows', 100_000);
const ROUNDS = arg('rounds', 3);
const SSH_TIMED = arg('ssh-flows', 100);
const SSH_TOTAL = 1000;
const WITH_SSH = !process.argv.includes('--no-ssh');
const WITH_OSKEN = process.argv.includes('--osken');
const VXLAN_PORT = 1;
const NODE = 'bench-sync';

const DPID_BIG = 0xbeefn;
const DPID_OURS_1K = 0xbee1n;

const mac = (i: number): string => `02:00:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
const ip = (base: number, i: number): string => `${base}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const vniOf = (i: number): number => 100 + (i % 64);
const hostIpOf = (i: number): number => 0x0a630000 + (i % 200) + 1;

/** The seed's table 10 unicast shapes: remote VM on the same subnet (by MAC) and on another subnet (routed by IP). */
function seedFlowText(i: number): string {
  const hostIp = `0x${hostIpOf(i).toString(16).padStart(8, '0')}`;
  return i % 2 === 0
    ? `table=10,priority=15,dl_dst=${mac(i)},actions=load:${vniOf(i)}->NXM_NX_TUN_ID[],load:${hostIp}->NXM_NX_TUN_IPV4_DST[],output:${VXLAN_PORT}`
    : `table=10,priority=10,ip,nw_dst=${ip(10, i)},actions=mod_dl_src:12:00:00:ff:ff:ff,mod_dl_dst:${mac(i)},load:${vniOf(i)}->NXM_NX_TUN_ID[],load:${hostIp}->NXM_NX_TUN_IPV4_DST[],output:${VXLAN_PORT}`;
}

// Flow objects are built directly (parseFlow of 100k texts takes seconds and is not what a controller does): the
// two shapes are parsed once, and each flow is a copy with its own values. A sample is checked byte for byte
// against parseFlow of its text.
const tplMac = parseFlow(seedFlowText(0));
const tplIp = parseFlow(seedFlowText(1));
const actionsOf = (f: FlowMod): readonly Action[] => {
  const ins = f.instructions[0];
  if (ins?.type !== 'apply_actions') throw new Error('template without apply_actions');
  return ins.actions;
};
const [macLoadVni, macLoadHost, macOut] = actionsOf(tplMac) as [Action, Action, Action];
const [ipSetSrc, ipSetDst, ipLoadVni, ipLoadHost, ipOut] = actionsOf(tplIp) as [Action, Action, Action, Action, Action];
const ethTypeIp = tplIp.match[0]!;
const outLocal = actionsOf(parseFlow('table=0,actions=output:LOCAL'))[0]!;

const macBytes = (i: number): Uint8Array => new Uint8Array([2, 0, (i >>> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
const withValue = (a: Action, value: bigint): Action => ({ ...a, value }) as Action;

function buildFlow(i: number, extraOutput = false): FlowMod {
  const vni = withValue(i % 2 === 0 ? macLoadVni : ipLoadVni, BigInt(vniOf(i)));
  const host = withValue(i % 2 === 0 ? macLoadHost : ipLoadHost, BigInt(hostIpOf(i)));
  const tail = extraOutput ? [outLocal] : [];
  if (i % 2 === 0) {
    const match: OxmField[] = [{ field: 'eth_dst', value: macBytes(i) }];
    return { ...tplMac, match, instructions: [{ type: 'apply_actions', actions: [vni, host, macOut, ...tail] }] };
  }
  const setDst = { ...ipSetDst, field: { field: 'eth_dst', value: macBytes(i) } } as Action;
  const match: OxmField[] = [ethTypeIp, { field: 'ip_dst', value: new Uint8Array([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]) }];
  return { ...tplIp, match, instructions: [{ type: 'apply_actions', actions: [ipSetSrc, setDst, vni, host, ipOut, ...tail] }] };
}

const buildFlows = (n: number): FlowMod[] => Array.from({ length: n }, (_, i) => buildFlow(i));

function checkBuiltFlows(): void {
  const same = (a: FlowMod, b: FlowMod): boolean => Buffer.compare(encodeMessage({ ...a, xid: 0 }), encodeMessage({ ...b, xid: 0 })) === 0;
  for (let i = 0; i < N; i += Math.max(1, Math.floor(N / 500))) {
    if (!same(buildFlow(i), parseFlow(seedFlowText(i)))) throw new Error(`built flow ${i} differs from parseFlow of '${seedFlowText(i)}'`);
  }
  const changed = parseFlow(seedFlowText(3).replace(/output:\d+$/, `output:${VXLAN_PORT},output:LOCAL`));
  if (!same(buildFlow(3, true), changed)) throw new Error('built changed flow differs from parseFlow');
}

/** A fixed amount of plain JS work, to show how loaded the machine was during the run. */
function calibrate(): number {
  const t = performance.now();
  let s = 0;
  for (let i = 0; i < 1e8; i++) s += i;
  if (s < 0) console.log(s);
  return performance.now() - t;
}

// The harness builds and drops sets of 100k flow objects; their garbage is collected between phases (never inside
// a timed region), so one phase's leftovers don't land in the next one's figures.
setFlagsFromString('--expose-gc');
const collectHarnessGarbage = runInNewContext('gc') as () => void;

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const median = (xs: readonly number[]): number => sorted(xs)[Math.floor(xs.length / 2)]!;
const best = (xs: readonly number[]): number => sorted(xs)[0]!;
const ms = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x < 10 ? 2 : 0)} ms`);
const list = (xs: readonly number[]): string => xs.map(ms).join(', ');

async function countFlows(ovs: OvsInstance, bridge: string): Promise<number> {
  const out = await ovs.ofctl('-O', 'OpenFlow13', 'dump-aggregate', bridge);
  return Number(/flow_count=(\d+)/.exec(out)?.[1] ?? -1);
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

interface Row {
  readonly name: string;
  readonly ours: string;
  readonly base: string;
  readonly target: string;
  readonly pass: boolean | undefined;
}

async function main(): Promise<void> {
  checkBuiltFlows();
  const ovs = await OvsInstance.start({ name: NODE });
  const sock = `/tmp/mc-bench-sync-${process.pid}.sock`;
  let ctl: Controller | undefined;
  let sshd: TestSshd | undefined;
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    const vxlan = ['--', 'set', 'interface'];
    for (const [br, dpid] of [['br0', DPID_BIG], ['br1', DPID_OURS_1K], ['br2', undefined]] as const) {
      await ovs.addBridge(br, { protocols: ['OpenFlow13'], failMode: 'secure', ...(dpid ? { datapathId: dpid.toString(16).padStart(16, '0') } : {}) });
      await ovs.vsctl('add-port', br, `vx-${br}`, ...vxlan, `vx-${br}`, 'type=vxlan', 'options:local_ip=10.99.0.1', 'options:remote_ip=flow', 'options:key=flow', `ofport_request=${VXLAN_PORT}`);
    }

    const texts = Array.from({ length: N }, (_, i) => seedFlowText(i));
    const flowFile = join(ovs.dir, 'flows.txt');
    writeFileSync(flowFile, texts.join('\n') + '\n');

    const desired = new Map<bigint, DesiredState>();
    ctl = new Controller({ listen: [`unix:${sock}`], desiredState: (dpid) => desired.get(dpid) ?? { flows: [] }, resyncOnPortChange: false });
    await ctl.start();
    const connected = new Map<bigint, Datapath>();
    const both = new Promise<void>((resolve) =>
      ctl!.on('synced', (dp) => {
        connected.set(dp.dpid, dp);
        if (connected.has(DPID_BIG) && connected.has(DPID_OURS_1K)) resolve();
      }),
    );
    await ovs.setUnixController('br0', sock);
    await ovs.setUnixController('br1', sock);
    await both;
    const resync = (dpid: bigint, source: 'switch' | 'cache' = 'switch'): Promise<SyncStats> => ctl!.resync(dpid, { source });

    // (a) full sync vs ovs-ofctl --bundle add-flows, alternating, each on an empty bridge; fresh flow objects
    // every round, so encoding them is part of our time.
    const ofctlMs: number[] = [];
    const oursMs: number[] = [];
    let full: SyncStats | undefined;
    let flows: FlowMod[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await ovs.ofctl('-O', 'OpenFlow13', 'del-flows', 'br0');
      const [tb] = await time(() => ovs.ofctl('-O', 'OpenFlow13', '--bundle', 'add-flows', 'br0', flowFile));
      ofctlMs.push(tb);
      if ((await countFlows(ovs, 'br0')) !== N) throw new Error('ovs-ofctl did not install every flow');
      await ovs.ofctl('-O', 'OpenFlow13', 'del-flows', 'br0');
      flows = buildFlows(N);
      desired.set(DPID_BIG, { flows });
      collectHarnessGarbage();
      const [to, st] = await time(() => resync(DPID_BIG));
      oursMs.push(to);
      full = st;
      if (st.added !== N || (await countFlows(ovs, 'br0')) !== N) throw new Error(`our sync did not install every flow: ${JSON.stringify(st)}`);
    }
    const ratioMed = median(oursMs) / median(ofctlMs);
    const ratioBest = best(oursMs) / best(ofctlMs);
    const pairRatios = oursMs.map((o, i) => o / ofctlMs[i]!);
    rows.push({
      name: `(a) full sync, ${N} flows`,
      ours: `best ${ms(best(oursMs))}, median ${ms(median(oursMs))}`,
      base: `ofctl --bundle add-flows: best ${ms(best(ofctlMs))}, median ${ms(median(ofctlMs))}`,
      target: `${ratioBest.toFixed(2)}x best, ${ratioMed.toFixed(2)}x median; ≤ 1.10x`,
      pass: ratioMed <= 1.1,
    });
    notes.push(`(a) rounds: ours ${list(oursMs)}; ofctl ${list(ofctlMs)}; per-round ratios ${pairRatios.map((x) => x.toFixed(2)).join(', ')}`);

    collectHarnessGarbage();
    // (b) no-op resync: read every flow back, diff, send nothing. With the objects of the last sync (the
    // controller's normal case), and, for reference, with fresh equal objects (a restarted controller).
    const noop: SyncStats[] = [];
    const noopMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const [t, st] = await time(() => resync(DPID_BIG));
      noop.push(st);
      noopMs.push(t);
    }
    const noopMods = Math.max(...noop.map((s) => s.flowMods));
    flows = buildFlows(N);
    desired.set(DPID_BIG, { flows });
    collectHarnessGarbage();
    const [freshMs, fresh] = await time(() => resync(DPID_BIG));
    const [dumpMs] = await time(() => ovs.ofctl('-O', 'OpenFlow13', 'dump-flows', 'br0'));
    rows.push({
      name: '(b) no-op resync',
      ours: `best ${ms(best(noopMs))}, median ${ms(median(noopMs))}, ${noopMods} flow mods`,
      base: `ofctl dump-flows ${ms(dumpMs)}`,
      target: '< 1500 ms, 0 flow mods',
      pass: median(noopMs) < 1500 && noopMods === 0,
    });
    rows.push({ name: '    same, fresh flow objects', ours: `${ms(freshMs)}, ${fresh.flowMods} flow mods`, base: '(a restarted controller)', target: '(reference)', pass: undefined });

    collectHarnessGarbage();
    // (c) one flow changes, from the cache of our last commit: the caller passes the new list, which shares every
    // other object with the previous one. Changed and restored alternately, each a one-flow change.
    const oneMs: number[] = [];
    let oneMods = 0;
    let lastOne: SyncStats | undefined;
    let firstOne: SyncStats | undefined;
    for (let r = 0; r < 2 * ROUNDS; r++) {
      const k = 2 * r + 1;
      const next = flows.slice();
      next[k] = buildFlow(k, true);
      for (const list of [next, flows]) {
        desired.set(DPID_BIG, { flows: list });
        const [t, st] = await time(() => resync(DPID_BIG, 'cache'));
        oneMs.push(t);
        firstOne ??= st;
        lastOne = st;
        oneMods = Math.max(oneMods, st.flowMods);
        if (st.flowMods !== 1) throw new Error(`a one-flow change sent ${st.flowMods} flow mods`);
      }
    }
    // Check on the switch: a final full resync finds nothing to do.
    const check = await resync(DPID_BIG);
    if (check.flowMods !== 0 || check.unchanged !== N) throw new Error(`after (c) the switch differs: ${JSON.stringify(check)}`);
    const [ofctlOneMs] = await time(() => ovs.ofctl('-O', 'OpenFlow13', 'mod-flows', 'br0', seedFlowText(1)));
    rows.push({
      name: '(c) change 1 flow (cache)',
      ours: `best ${ms(best(oneMs))}, median ${ms(median(oneMs))}, ${oneMods} flow mod`,
      base: `ofctl mod-flows (one process) ${ms(ofctlOneMs)}`,
      target: '< 50 ms',
      pass: median(oneMs) < 50,
    });

    // (d) 1,000 flows the seed's way: one ssh (new connection, like the seed) per `ovs-ofctl add-flow`.
    if (WITH_SSH) {
      const timed = Math.min(SSH_TIMED, SSH_TOTAL);
      sshd = await TestSshd.start();
      const exec = promisify(execFile);
      const ssh = (cmd: string): Promise<unknown> =>
        exec('ssh', ['-i', join(sshd!.dir, 'client_ed25519'), '-p', String(sshd!.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', 'root@127.0.0.1', cmd]);
      const ofctlCmd = (text: string): string => `ip netns exec ${NODE} env OVS_RUNDIR=${ovs.dir} ovs-ofctl -O OpenFlow13 add-flow br2 '${text}'`;
      await ssh('true'); // warm the page cache; not a flow
      const [sshMs] = await time(async () => {
        for (let i = 0; i < timed; i++) await ssh(ofctlCmd(texts[i]!));
      });
      if ((await countFlows(ovs, 'br2')) !== timed) throw new Error('ssh delivery did not install every flow');
      const perFlow = sshMs / timed;
      const sshTotal = perFlow * SSH_TOTAL;
      const ours1k: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        await ovs.ofctl('-O', 'OpenFlow13', 'del-flows', 'br1');
        desired.set(DPID_OURS_1K, { flows: buildFlows(SSH_TOTAL) });
        const [t, st] = await time(() => resync(DPID_OURS_1K));
        if (st.added !== SSH_TOTAL || (await countFlows(ovs, 'br1')) !== SSH_TOTAL) throw new Error('our 1k sync did not install every flow');
        ours1k.push(t);
      }
      const ratio = sshTotal / median(ours1k);
      rows.push({
        name: `(d) ${SSH_TOTAL} flows, seed's way`,
        ours: `best ${ms(best(ours1k))}, median ${ms(median(ours1k))}`,
        base: `ssh+add-flow ${ms(perFlow)}/flow ⇒ ${ms(sshTotal)}${timed < SSH_TOTAL ? ` (${timed} timed, extrapolated)` : ''}`,
        target: `${ratio.toFixed(0)}x (best ${(sshTotal / best(ours1k)).toFixed(0)}x); ≥ 1000x`,
        pass: ratio >= 1000,
      });
    }

    // (e) os-ken installing the same flows into a bridge of the same OVS (its own, empty), against our (a).
    if (WITH_OSKEN) {
      await ovs.addBridge('br3', { protocols: ['OpenFlow13'], failMode: 'secure' });
      await ovs.vsctl('add-port', 'br3', 'vx-br3', ...vxlan, 'vx-br3', 'type=vxlan', 'options:local_ip=10.99.0.1', 'options:remote_ip=flow', 'options:key=flow', `ofport_request=${VXLAN_PORT}`);
      const out = join(ovs.dir, 'osken.json');
      const script = join(dirname(fileURLToPath(import.meta.url)), 'osken-sync.py');
      // In the node's namespace, so that the bridge reaches it on that namespace's own loopback.
      const child = spawn('ip', ['netns', 'exec', NODE, '/usr/bin/python3', '/usr/bin/osken-manager', '--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', '6653', script], {
        env: { ...process.env, OSKEN_BENCH_FLOWS: String(N), OSKEN_BENCH_OUT: out },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let log = '';
      child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
      const exited = new Promise((r) => child.once('exit', r));
      try {
        const deadline = (ms: number): number => Date.now() + ms;
        for (const end = deadline(20_000); !/LISTEN/.test(await ovs.exec('ss', ['-ltn', 'sport = :6653'])); ) {
          if (Date.now() > end || child.exitCode !== null) throw new Error(`osken-manager did not listen: ${log}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        await ovs.vsctl('set-controller', 'br3', 'tcp:127.0.0.1:6653');
        for (const end = deadline(600_000); !existsSync(out); ) {
          if (Date.now() > end || child.exitCode !== null) throw new Error(`os-ken did not finish: ${log}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
      const r = JSON.parse(readFileSync(out, 'utf8')) as { totalMs: number; sendMs: number };
      const installed = await countFlows(ovs, 'br3');
      if (installed !== N) throw new Error(`os-ken left ${installed} flows, not ${N}`);
      rows.push({
        name: `(e) os-ken, ${N} flows`,
        ours: `ours (a): median ${ms(median(oursMs))}`,
        base: `os-ken ${ms(r.totalMs)} (building and sending ${ms(r.sendMs)})`,
        target: `os-ken/ours ${(r.totalMs / median(oursMs)).toFixed(1)}x`,
        pass: undefined,
      });
    }

    const phases = (st: SyncStats | undefined): string => (st ? `read ${ms(st.readMs)}, diff ${ms(st.diffMs)}, apply ${ms(st.applyMs)}` : '');
    console.log(`\nbench/sync: ${N} seed-shape flows, userspace OVS ${(await ovs.vsctl('--version')).split('\n')[0]}, ${ROUNDS} rounds`);
    console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}, JS calibration loop ${ms(calibrate())} (≈100 ms on an idle modern core)`);
    for (const n of notes) console.log(n);
    console.log(`heap after the run: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB (the harness's garbage is collected between phases, never inside a timing)`);
    console.log(`(b) rounds ${list(noopMs)}; (c) rounds ${list(oneMs)}`);
    console.log(`phases (last round): (a) ${phases(full)}; (b) ${phases(noop[noop.length - 1])}; (c) first ${phases(firstOne)}, last ${phases(lastOne)}`);
    const widths = [30, 46, 62, 34];
    const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 6)).join(' | ');
    console.log(line(['figure', 'ours', 'baseline (same run)', 'ratio / target', 'result']));
    console.log('-'.repeat(190));
    for (const r of rows) console.log(line([r.name, r.ours, r.base, r.target, r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL']));
    if (!WITH_SSH) console.log('(d) skipped (--no-ssh).');
    if (!WITH_OSKEN) console.log('(e) os-ken: not run (pass --osken).');
    process.exitCode = rows.every((r) => r.pass !== false) ? 0 : 1;
  } finally {
    await ctl?.stop();
    await sshd?.stop();
    await ovs.stop();
    await stopAllOvs();
    rmSync(sock, { force: true });
  }
}

await main();
