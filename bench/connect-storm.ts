// bench/connect-storm: N userspace OVS bridges (50 per OVS instance, each instance in a namespace of its own) are
// pointed at one controller in this process at the same moment; per switch, from OVS's own "connecting..." log line:
// our HELLO queued (accept), FEATURES_REPLY in, handshake done, first sync done; the longest event-loop stall of this
// process; and how many connections OVS gave up on ("connection timed out": our HELLO missed its connect window).
//   Run: npx tsx bench/connect-storm.ts [--n 50,200] [--flows 64] [--rounds 1] [--modes before,default]
//   Modes are runtime settings run side by side, alternating, on the same OVS instances:
//     before     every switch's sync starts as soon as its handshake is done and its work runs whenever it is ready
//                (maxConcurrentSyncs: Infinity, yieldToConnections: false: the runtime before the connect-storm work,
//                except that the handshake after HELLO is one round trip now)
//     default    the runtime's defaults (64 full syncs at a time; sync work gives way to connecting switches)
//     unbounded  every full sync at once, sync work still giving way to connecting switches
import { cpus, loadavg } from 'node:os';
import { rmSync } from 'node:fs';
import { stopAllOvs } from '../src/lab/ovs.js';
import type { ControllerOptions } from '../src/runtime/controller.js';
import { percentile, StormLab, type StormResult } from '../test/runtime/storm.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const SIZES = arg('n', '50,200').split(',').map(Number);
const FLOWS = Number(arg('flows', '64'));
const ROUNDS = Number(arg('rounds', '1'));
const MODES: Record<string, Partial<ControllerOptions>> = {
  before: { maxConcurrentSyncs: Infinity, yieldToConnections: false },
  default: {},
  unbounded: { maxConcurrentSyncs: Infinity },
};
const modes = arg('modes', 'before,default').split(',');
for (const m of modes) if (!MODES[m]) throw new Error(`unknown mode '${m}' (have ${Object.keys(MODES).join(', ')})`);

const BASE = '/tmp/mch-bench';
const f = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
const dist = (xs: readonly number[]): string => `p50 ${f(percentile(xs, 50))} p99 ${f(percentile(xs, 99))} max ${f(Math.max(...xs))}`;

function line(mode: string, n: number, r: StormResult): string {
  const s = r.switches;
  const retried = s.filter((x) => x.attempts > 1).length;
  return [
    `N=${n} ${mode.padEnd(9)}`,
    `HELLO sent ${dist(s.map((x) => x.hello))}`,
    `OVS's HELLO read ${dist(s.map((x) => x.peerHello))}`,
    `FEATURES ${dist(s.map((x) => x.features))}`,
    `synced ${dist(s.map((x) => x.synced))}`,
    `all synced ${f(r.allSyncedMs)}`,
    `loop stall max ${f(r.loopMaxMs)} (p99 ${f(r.loopP99Ms)})`,
    `OVS timeouts ${r.ovsTimeouts}, switches retried ${retried}, flow-mods ${r.flowMods}` +
      (r.rejected > 0 ? `, ${r.rejected} connections failed before their handshake` : '') +
      Object.entries(r.ovsOther)
        .map(([what, count]) => `; OVS: ${count}x "${what}"`)
        .join(''),
  ].join(' | ');
}

async function main(): Promise<void> {
  console.log(`connect-storm: ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ${FLOWS} flows per switch, sizes ${SIZES.join(', ')}, ${ROUNDS} round(s)`);
  rmSync(BASE, { recursive: true, force: true });
  const lab = await StormLab.start({ prefix: 'mch-b', baseDir: BASE, maxSwitches: Math.max(...SIZES) });
  try {
    // Unmeasured: the first storm of a process also pays for compiling our code.
    await lab.storm({ switches: Math.min(20, Math.max(...SIZES)), flowsPerSwitch: FLOWS });
    const results = new Map<string, StormResult[]>();
    for (const n of SIZES) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const mode of modes) {
          const r = await lab.storm({ switches: n, flowsPerSwitch: FLOWS, controller: MODES[mode] });
          console.log(line(mode, n, r));
          results.set(`N=${n} ${mode}`, [...(results.get(`N=${n} ${mode}`) ?? []), r]);
        }
      }
    }
    if (ROUNDS > 1) {
      console.log(`over ${ROUNDS} rounds (median of the rounds; timeouts summed):`);
      for (const [key, rs] of results) {
        const med = (pick: (r: StormResult) => number): string => f(percentile(rs.map(pick), 50));
        console.log(
          `  ${key.padEnd(14)} HELLO sent max ${med((r) => Math.max(...r.switches.map((s) => s.hello)))}, synced p50 ${med((r) => percentile(r.switches.map((s) => s.synced), 50))}, ` +
            `all synced ${med((r) => r.allSyncedMs)}, loop stall max ${med((r) => r.loopMaxMs)}; OVS timeouts ${rs.reduce((a, r) => a + r.ovsTimeouts, 0)}`,
        );
      }
    }
  } finally {
    await lab.stop();
    await stopAllOvs();
    rmSync(BASE, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
