// Decode cost, A/B: the codec of the working tree against the codec of other git revisions, on the same bytes, rounds
// alternating. For changes whose cost is a few percent, which bench/codec.ts (one tree, beside os-ken, on a shared
// machine whose speed drifts by 2-3x from one second to the next) cannot resolve.
//
//   npx tsx bench/decode-ab.ts [REV ...]     (default: 8857f07, the tree before matches were validated on decode)
//
// A REV may also be a folder with a src/openflow of its own (an experiment).
//
// Each revision's src/openflow is taken with `git archive` into a folder under tmp/ and imported from there (it
// imports nothing else of ours), so every tree has its own functions and its own JIT state; the working tree is
// copied and loaded the same way. Work: decode of 4,000 seed-shape FLOW_MODs (bench/seed-flows.ts), of a 2,000-entry
// flow-stats reply, and of the FLOW_MODs' matches alone, encoded once by the working tree. Each round times one
// tree's passes (>= AB_ROUND_MS) by CPU time (process.cpuUsage: GC and compiler threads included) and by wall time;
// the trees take turns, in a rotating order.
//
// The rounds run in AB_PROCS fresh processes, one after the other: what V8 makes of the same code differs from one
// process to the next (which calls it inlines depends on when each function got hot), by up to ~20 % for the whole
// FLOW_MOD decode, more than the differences this bench is for. Reported per tree: the best round of each process,
// then the best and the median of those; the comparison is on the best.
//
//   AB_PROCS=N      processes (default 5)
//   AB_ROUNDS=N     rounds per tree in each process (default 60)
//   AB_ROUND_MS=N   shortest round (default 15): many short rounds give the best more chances to fall in a quiet
//                   moment of a shared machine
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeMessage } from '../src/openflow/message.js';
import { parseFlow } from '../src/openflow/text/flow-text.js';
import type { FlowStats, Message } from '../src/openflow/types.js';
import { flowModMessage, flowText, specs } from './seed-flows.js';

const PROCS = Number(process.env.AB_PROCS ?? 5);
const ROUNDS = Number(process.env.AB_ROUNDS ?? 60);
const MIN_ROUND_MS = Number(process.env.AB_ROUND_MS ?? 15);
const N_FLOWS = 4000;
const N_STATS = 2000;
const DEFAULT_BASE = '8857f07';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WORKING_TREE = 'working tree';

/** What a tree's src/openflow exports that the works call. */
interface Codec {
  readonly decodeMessage: (b: Uint8Array) => Message;
  readonly decodeMatch: (r: unknown) => readonly unknown[];
  readonly Reader: new (b: Uint8Array, start?: number) => unknown;
}
interface Work {
  readonly name: string;
  /** Units (messages, entries or matches) one pass decodes. */
  readonly units: number;
  /** One pass; returns the units decoded. */
  readonly pass: (c: Codec) => number;
}
/** One process's best round on one work, per tree: ns per unit, by CPU and by wall time. */
interface Best {
  readonly cpu: number[];
  readonly wall: number[];
}

const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

const folderOf = (dir: string, rev: string): string => join(dir, rev.replace(/[^\w.-]/g, '_'));

/** A copy of `rev`'s src/openflow (a git revision, a folder holding a src/openflow, or the working tree) in `dir`. */
function extract(rev: string, dir: string): void {
  const out = folderOf(dir, rev);
  mkdirSync(out, { recursive: true });
  const from = rev === WORKING_TREE ? ROOT : rev;
  if (existsSync(join(from, 'src/openflow'))) {
    cpSync(join(from, 'src/openflow'), join(out, 'src/openflow'), { recursive: true });
    return;
  }
  const tar = execFileSync('git', ['archive', '--format=tar', rev, 'src/openflow'], { cwd: ROOT, maxBuffer: 64 << 20 });
  execFileSync('tar', ['-x', '-C', out], { input: tar });
}

function works(): Work[] {
  const flows = specs(N_FLOWS).map((s, i) => flowModMessage(parseFlow(flowText(s)), i + 1));
  const stats: FlowStats[] = flows.slice(0, N_STATS).map((m) => {
    const f = m as Extract<Message, { type: 'flow_mod' }>;
    return { tableId: f.tableId, durationSec: 1, durationNsec: 0, priority: f.priority, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 0n, packetCount: 0n, byteCount: 0n, match: f.match, instructions: f.instructions };
  });
  const perReply = 200;
  const replies: Uint8Array[] = [];
  for (let i = 0; i < stats.length; i += perReply) replies.push(encodeMessage({ type: 'flow_stats_reply', xid: 7, flags: i + perReply < stats.length ? 1 : 0, flows: stats.slice(i, i + perReply) }));
  const flowMods = flows.map((m) => encodeMessage(m));
  return [
    {
      name: `FLOW_MOD decode (${N_FLOWS} seed-shape messages)`,
      units: N_FLOWS,
      pass: (c) => {
        let n = 0;
        for (const b of flowMods) n += c.decodeMessage(b).xid > 0 ? 1 : 0;
        return n;
      },
    },
    {
      name: `flow stats reply decode (${N_STATS} entries, ${replies.length} messages)`,
      units: N_STATS,
      pass: (c) => {
        let n = 0;
        for (const b of replies) {
          const m = c.decodeMessage(b);
          n += m.type === 'flow_stats_reply' ? m.flows.length : 0;
        }
        return n;
      },
    },
    {
      // The match alone, as flow_mod's decoder reads it (at offset 48): the part match validation adds to.
      name: `match decode alone (the ${N_FLOWS} FLOW_MODs' matches, a Reader each)`,
      units: N_FLOWS,
      pass: (c) => {
        let n = 0;
        for (const b of flowMods) n += c.decodeMatch(new c.Reader(b, 48)).length > 0 ? 1 : 0;
        return n;
      },
    },
  ];
}

/** The rounds of one process: every tree (already extracted in `dir`) on every work. */
async function child(dir: string, revs: readonly string[]): Promise<Best[]> {
  const codecs: Codec[] = [];
  for (const rev of revs) {
    const at = (file: string): string => pathToFileURL(join(folderOf(dir, rev), 'src/openflow', file)).href;
    const message = (await import(at('message.ts'))) as Pick<Codec, 'decodeMessage'>;
    const match = (await import(at('match.ts'))) as Pick<Codec, 'decodeMatch'>;
    const reader = (await import(at('reader.ts'))) as Pick<Codec, 'Reader'>;
    codecs.push({ decodeMessage: message.decodeMessage, decodeMatch: match.decodeMatch, Reader: reader.Reader });
  }
  let sink = 0;
  const out: Best[] = [];
  for (const work of works()) {
    // Every tree decodes every message to the same count first (and warms up).
    const reps: number[] = [];
    for (let i = 0; i < codecs.length; i++) {
      const codec = codecs[i]!;
      for (let w = 0; w < 3; w++) {
        const n = work.pass(codec);
        if (n !== work.units) throw new Error(`${revs[i]}: ${work.name} decoded ${n} units, expected ${work.units}`);
      }
      let r = 1;
      for (;;) {
        const t0 = performance.now();
        for (let k = 0; k < r; k++) sink ^= work.pass(codec);
        if (performance.now() - t0 >= MIN_ROUND_MS) break;
        r *= 2;
      }
      reps.push(r);
    }
    const best = codecs.map(() => ({ cpu: Infinity, wall: Infinity }));
    for (let round = 0; round < ROUNDS; round++) {
      for (let j = 0; j < codecs.length; j++) {
        const i = (round + j) % codecs.length;
        const codec = codecs[i]!;
        const r = reps[i]!;
        const c0 = cpuNs();
        const t0 = performance.now();
        for (let k = 0; k < r; k++) sink ^= work.pass(codec);
        const units = r * work.units;
        best[i]!.wall = Math.min(best[i]!.wall, ((performance.now() - t0) * 1e6) / units);
        best[i]!.cpu = Math.min(best[i]!.cpu, (cpuNs() - c0) / units);
      }
    }
    out.push({ cpu: best.map((b) => b.cpu), wall: best.map((b) => b.wall) });
  }
  if (sink === 0.5) console.error('');
  return out;
}

async function main(): Promise<void> {
  if (process.env.AB_CHILD_DIR !== undefined) {
    const revs = JSON.parse(process.env.AB_CHILD_REVS!) as string[];
    console.log(JSON.stringify(await child(process.env.AB_CHILD_DIR, revs)));
    return;
  }
  const revs = process.argv.slice(2);
  if (revs.length === 0) revs.push(DEFAULT_BASE);
  revs.push(WORKING_TREE);
  // Inside the repository (its tmp/ is ignored), so that tsx compiles the copies with the project's tsconfig as it
  // does the working tree: outside it, the same code measured ~2x slower.
  mkdirSync(join(ROOT, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'tmp', 'decode-ab-'));
  try {
    for (const rev of new Set(revs)) extract(rev, dir);
    const names = works().map((w) => w.name);
    const runs: Best[][] = [];
    const loads: number[] = [];
    for (let p = 0; p < PROCS; p++) {
      const out = execFileSync(join(ROOT, 'node_modules/.bin/tsx'), [fileURLToPath(import.meta.url)], {
        cwd: ROOT,
        env: { ...process.env, AB_CHILD_DIR: dir, AB_CHILD_REVS: JSON.stringify(revs) },
        maxBuffer: 1 << 20,
        timeout: 600_000,
      });
      runs.push(JSON.parse(out.toString()) as Best[]);
      loads.push(loadavg()[0]!);
    }
    const min = (xs: number[]): number => Math.min(...xs);
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    console.log(`node ${process.version}; ${PROCS} processes x ${ROUNDS} rounds per tree; load average ${min(loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)}`);
    names.forEach((name, w) => {
      console.log(`\n${name}: ns per unit; per process its best round, then the best / median of those`);
      const bestCpu = revs.map((_, t) => min(runs.map((r) => r[w]!.cpu[t]!)));
      revs.forEach((rev, t) => {
        const cpu = runs.map((r) => r[w]!.cpu[t]!);
        const wall = runs.map((r) => r[w]!.wall[t]!);
        const rel = ((bestCpu[t]! / bestCpu[0]! - 1) * 100).toFixed(1);
        console.log(
          `  ${rev.padEnd(14)} CPU ${cpu.map((x) => x.toFixed(0)).join(' ')}  -> ${min(cpu).toFixed(0)} / ${median(cpu).toFixed(0)}   ` +
            `wall ${min(wall).toFixed(0)} / ${median(wall).toFixed(0)}   best CPU vs ${revs[0]}: ${t === 0 ? '-' : `${Number(rel) >= 0 ? '+' : ''}${rel} %`}`,
        );
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
