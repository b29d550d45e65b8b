// bench/sync: the controller runtime against a real bridge (userspace OVS in a namespace), each figure beside its
// baseline measured in the same run.  Run: npx tsx bench/sync.ts [--flows N] [--rounds R]
//   (a) full sync of N seed-shape flows vs `ovs-ofctl -O OpenFlow13 --bundle add-flows` of the same flows (≤ 1.1x)
//   (b) no-op resync of that bridge (< 1.5 s, 0 flow mods)
//   (c) changing 1 flow on that bridge (< 50 ms)
// Not measured here: (d) the seed's ssh-per-flow delivery and (e) os-ken (issue 3 lists them; optional for this bench).
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { OvsInstance, stopAllOvs } from '../src/lab/ovs.js';
import { parseFlow } from '../src/openflow/flow-text.js';
import type { FlowMod } from '../src/openflow/types.js';
import { Controller } from '../src/runtime/controller.js';
import type { Datapath } from '../src/runtime/datapaths.js';
import type { DesiredState, SyncStats } from '../src/runtime/sync.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('flows', 100_000);
const ROUNDS = arg('rounds', 3);
const VXLAN_PORT = 1;

const mac = (i: number): string => `02:00:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
const ip = (base: number, i: number): string => `${base}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** The seed's table 10 unicast shapes: remote VM on the same subnet (by MAC) and on another subnet (routed by IP). */
function seedFlowText(i: number): string {
  const vni = 100 + (i % 64);
  const hostIp = `0x0a63${((i % 200) + 1).toString(16).padStart(4, '0')}`;
  return i % 2 === 0
    ? `table=10,priority=15,dl_dst=${mac(i)},actions=load:${vni}->NXM_NX_TUN_ID[],load:${hostIp}->NXM_NX_TUN_IPV4_DST[],output:${VXLAN_PORT}`
    : `table=10,priority=10,ip,nw_dst=${ip(10, i)},actions=mod_dl_src:12:00:00:ff:ff:ff,mod_dl_dst:${mac(i)},load:${vni}->NXM_NX_TUN_ID[],load:${hostIp}->NXM_NX_TUN_IPV4_DST[],output:${VXLAN_PORT}`;
}

/** A fixed amount of plain JS work, to show how loaded the machine was during the run. */
function calibrate(): number {
  const t = performance.now();
  let s = 0;
  for (let i = 0; i < 1e8; i++) s += i;
  if (s < 0) console.log(s);
  return performance.now() - t;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 0)} ms`;

async function countFlows(ovs: OvsInstance): Promise<number> {
  const out = await ovs.ofctl('-O', 'OpenFlow13', 'dump-aggregate', 'br0');
  return Number(/flow_count=(\d+)/.exec(out)?.[1] ?? -1);
}

async function main(): Promise<void> {
  const ovs = await OvsInstance.start({ name: 'bench-sync' });
  const sock = `/tmp/mc-bench-sync-${process.pid}.sock`;
  let ctl: Controller | undefined;
  try {
    await ovs.addBridge('br0', { protocols: ['OpenFlow13'], failMode: 'secure', datapathId: '000000000000beef' });
    await ovs.vsctl('add-port', 'br0', 'vxlan-int', '--', 'set', 'interface', 'vxlan-int', 'type=vxlan', 'options:local_ip=10.99.0.1', 'options:remote_ip=flow', 'options:key=flow', `ofport_request=${VXLAN_PORT}`);

    const texts = Array.from({ length: N }, (_, i) => seedFlowText(i));
    const flowFile = join(ovs.dir, 'flows.txt');
    writeFileSync(flowFile, texts.join('\n') + '\n');
    const tParse = performance.now();
    const flows: FlowMod[] = texts.map((t) => parseFlow(t));
    const parseMs = performance.now() - tParse;

    let desired: DesiredState = { flows: [] };
    ctl = new Controller({ listen: [`unix:${sock}`], desiredState: () => desired, resyncOnPortChange: false });
    await ctl.start();
    const first = new Promise<Datapath>((resolve) => ctl!.once('synced', (dp) => resolve(dp)));
    await ovs.setUnixController('br0', sock);
    const dp = await first;

    // (a) full sync vs ovs-ofctl --bundle add-flows, alternating, on an empty bridge each time.
    const ofctlMs: number[] = [];
    const oursMs: number[] = [];
    let full: SyncStats | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      await ovs.ofctl('-O', 'OpenFlow13', 'del-flows', 'br0');
      let t = performance.now();
      await ovs.ofctl('-O', 'OpenFlow13', '--bundle', 'add-flows', 'br0', flowFile);
      ofctlMs.push(performance.now() - t);
      if ((await countFlows(ovs)) !== N) throw new Error('ovs-ofctl did not install every flow');
      await ovs.ofctl('-O', 'OpenFlow13', 'del-flows', 'br0');
      desired = { flows };
      t = performance.now();
      full = await ctl.resync(dp.dpid);
      oursMs.push(performance.now() - t);
      if (full.added !== N || (await countFlows(ovs)) !== N) throw new Error(`our sync did not install every flow: ${JSON.stringify(full)}`);
      // Leave the bridge empty for the next round's baseline (and our next full sync).
      if (r < ROUNDS - 1) {
        desired = { flows: [] };
        await ovs.ofctl('-O', 'OpenFlow13', 'del-flows', 'br0');
      }
    }

    // (b) no-op resync: read 100k flows back, diff, send nothing.
    desired = { flows };
    const noop: SyncStats[] = [];
    for (let r = 0; r < ROUNDS; r++) noop.push(await ctl.resync(dp.dpid));
    const noopMs = median(noop.map((s) => s.durationMs));
    const noopMods = Math.max(...noop.map((s) => s.flowMods));
    // Baseline beside it: ovs-ofctl dump-flows of the same bridge.
    let t = performance.now();
    await ovs.ofctl('-O', 'OpenFlow13', 'dump-flows', 'br0');
    const dumpMs = performance.now() - t;

    // (c) one flow changes: from our cache of the last commit, and (for reference) with a full read of the switch.
    const oneMs: number[] = [];
    const oneFullMs: number[] = [];
    let oneMods = 0;
    let lastOne: SyncStats | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      const next = [...flows];
      next[r] = parseFlow(seedFlowText(r).replace(/output:\d+$/, `output:${VXLAN_PORT},output:LOCAL`));
      desired = { flows: next };
      t = performance.now();
      const s = await ctl.resync(dp.dpid, { source: 'cache' });
      oneMs.push(performance.now() - t);
      lastOne = s;
      oneMods = Math.max(oneMods, s.flowMods);
      desired = { flows };
      t = performance.now();
      await ctl.resync(dp.dpid, { source: 'switch' });
      oneFullMs.push(performance.now() - t);
    }
    t = performance.now();
    await ovs.ofctl('-O', 'OpenFlow13', 'mod-flows', 'br0', seedFlowText(0));
    const ofctlOneMs = performance.now() - t;

    const a = median(oursMs);
    const b = median(ofctlMs);
    const rows: [string, string, string, string, boolean][] = [
      ['(a) full sync, 100k flows', ms(a), `ovs-ofctl --bundle add-flows ${ms(b)}`, `${(a / b).toFixed(2)}x ≤ 1.10x`, a / b <= 1.1],
      ['(b) no-op resync', `${ms(noopMs)}, ${noopMods} flow mods`, `ovs-ofctl dump-flows ${ms(dumpMs)}`, '< 1500 ms, 0 flow mods', noopMs < 1500 && noopMods === 0],
      ['(c) change 1 flow (cache)', `${ms(median(oneMs))}, ${oneMods} flow mod`, `ovs-ofctl mod-flows ${ms(ofctlOneMs)}`, '< 50 ms', median(oneMs) < 50],
      ['    same, full switch read', ms(median(oneFullMs)), '', '(reference)', true],
    ];
    const phases = (st: SyncStats | undefined): string => (st ? `read ${ms(st.readMs)}, diff ${ms(st.diffMs)}, bundle ${ms(st.applyMs)}` : '');
    console.log(`\nbench/sync: ${N} seed-shape flows, userspace OVS ${(await ovs.vsctl('--version')).split('\n')[0]}, ${ROUNDS} rounds (medians)`);
    console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}, JS calibration loop ${ms(calibrate())} (≈100 ms on an idle modern core)`);
    console.log(`parseFlow of the ${N} texts (not part of sync): ${ms(parseMs)}; rounds ours ${oursMs.map(ms).join(', ')}; ofctl ${ofctlMs.map(ms).join(', ')}`);
    console.log(`phases: (a) ${phases(full)}; (b) ${phases(noop[noop.length - 1])}; (c) ${phases(lastOne)}`);
    const widths = [28, 26, 36, 24];
    const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 6)).join(' | ');
    console.log(line(['figure', 'ours', 'baseline (same run)', 'target', 'result']));
    console.log('-'.repeat(130));
    for (const [name, ours, base, target, pass] of rows) console.log(line([name, ours, base, target, target === '(reference)' ? '' : pass ? 'PASS' : 'FAIL']));
    console.log('(d) ssh-per-flow and (e) os-ken: not measured by this bench.');
    process.exitCode = rows.every((r) => r[4]) ? 0 : 1;
  } finally {
    await ctl?.stop();
    await ovs.stop();
    await stopAllOvs();
    rmSync(sock, { force: true });
  }
}

await main();
