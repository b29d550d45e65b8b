// bench/worker-vs-slices: the two ways of keeping the event loop free during the pipeline's long work (issue #23),
// measured on one phase: a new revision of the synthetic cloud indexed and one node's pipeline compiled (the index
// plus the rows every node shares: the costliest single piece of a sync storm). For each way: wall time to the
// flows being usable on the main thread, the longest the main thread was held (monitorEventLoopDelay, and the
// longest single chunk or message), and the heap the flows of `--nodes` compiled nodes hold.
//   Run: npx tsx bench/worker-vs-slices.ts [--vms 10000] [--nodes 10]   (NODE_OPTIONS=--expose-gc for heap figures)
// Slices: the pipeline's Steps driven on the main thread with setImmediate between chunks. Worker: a worker_thread
// indexes and compiles (it is handed the cloud, a plain object) and posts the flows back; structured clone has no
// notion of the objects nodes share, so every node's list arrives as its own copy, and the main thread pays for
// deserialising it (in one piece: the message event).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { FlowMod } from '../src/openflow/index.js';
import { indexCloud, indexCloudSteps } from '../src/pipeline/cloud-index.js';
import { compileNode, sharedRowsSteps } from '../src/pipeline/compile.js';
import { CompileContext } from '../src/pipeline/stage.js';
import { syntheticCloud } from '../src/topology/examples.js';
import type { Cloud } from '../src/topology/model.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const ports = new Map([
  ['vxlan-int', 1],
  ['vxlan-sw', 2],
]);

if (!isMainThread) {
  // The worker: compile what it is asked for and post the flows.
  const { cloud, nodes } = workerData as { cloud: Cloud; nodes: string[] };
  const ctx = new CompileContext(indexCloud(cloud));
  for (const node of nodes) parentPort!.postMessage({ node, flows: compileNode(ctx, node, ports) });
} else {
  await main();
}

async function main(): Promise<void> {
  const VMS = Number(arg('vms', '10000'));
  const NODES = Number(arg('nodes', '10'));
  const cloud = syntheticCloud({ computeNodes: Math.max(NODES, Math.round(VMS / 100)), vms: VMS });
  const names = cloud.nodes.filter((n) => n.roles.includes('compute')).slice(0, NODES).map((n) => n.name);
  const gc = (globalThis as { gc?: () => void }).gc;
  const heap = (): number => (gc?.(), gc?.(), process.memoryUsage().heapUsed);
  const next = (): Promise<void> => new Promise((r) => setImmediate(r));
  console.log(`worker vs slices: ${VMS} VMs, ${NODES} nodes compiled`);

  // Warm both paths up once (JIT), out of the measurement.
  compileNode(new CompileContext(indexCloud(cloud)), names[0]!, ports);

  for (let round = 0; round < 2; round++) {
    {
      const h0 = heap();
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      const t0 = performance.now();
      let longest = 0;
      let longestCpu = 0;
      const cpu = (): number => {
        const c = process.cpuUsage();
        return (c.user + c.system) / 1000;
      };
      const run = async (steps: Generator<void, unknown, void>): Promise<unknown> => {
        for (;;) {
          const t = performance.now();
          const c = cpu();
          const r = steps.next();
          longest = Math.max(longest, performance.now() - t);
          longestCpu = Math.max(longestCpu, cpu() - c);
          if (r.done) return r.value;
          await next();
        }
      };
      const index = (await run(indexCloudSteps(cloud))) as ReturnType<typeof indexCloud>;
      const ctx = new CompileContext(index);
      const lists: FlowMod[][] = [];
      for (const node of names) {
        const shared = sharedRowsSteps(ctx, node, ports);
        if (shared) await run(shared.steps);
        const t = performance.now();
        const c = cpu();
        lists.push(compileNode(ctx, node, ports));
        longest = Math.max(longest, performance.now() - t);
        longestCpu = Math.max(longestCpu, cpu() - c);
        await next();
      }
      const first = performance.now() - t0;
      loop.disable();
      const bytes = heap() - h0;
      console.log(`slices: ${first.toFixed(0)} ms for ${NODES} nodes; longest chunk ${longest.toFixed(1)} ms (CPU ${longestCpu.toFixed(1)} ms), loop delay max ${(loop.max / 1e6).toFixed(1)} ms; heap of the lists ${(bytes / 1048576).toFixed(1)} MiB (${lists[0]!.length} flows a node)`);
    }
    {
      const h0 = heap();
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      const t0 = performance.now();
      const lists: FlowMod[][] = [];
      await new Promise<void>((resolve, reject) => {
        // The worker runs this file through tsx (registered in it, as the main thread has it).
        const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
        const w = new Worker(boot, { eval: true, workerData: { cloud, nodes: names } });
        // What the main thread pays shows in the loop delay: each message is deserialised before this handler runs.
        w.on('message', (m: { flows: FlowMod[] }) => {
          lists.push(m.flows);
          if (lists.length === names.length) resolve();
        });
        w.on('error', reject);
      });
      const all = performance.now() - t0;
      loop.disable();
      const bytes = heap() - h0;
      console.log(`worker: ${all.toFixed(0)} ms for ${NODES} nodes (worker start-up included); loop delay max ${(loop.max / 1e6).toFixed(1)} ms; heap of the lists ${(bytes / 1048576).toFixed(1)} MiB (${lists[0]!.length} flows a node)`);
    }
  }
}
