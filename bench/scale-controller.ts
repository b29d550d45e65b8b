// The controller of bench/scale.ts, in a process of its own (forked by the bench, IPC channel): its own heap, as a
// restarted daemon has, and a scheduling priority of its own. It builds the same synthetic cloud as the bench (from
// the same node and VM counts), serves the API stand-in (GET /api/v1/nodes) and, when told, listens for the bridges
// and measures a storm of syncs (scale-lab.ts's watchStorm: event-loop stall, main-thread CPU in the worst gap) and
// reports it, with its memory, to the bench.
//   argv: --nodes N --vms M --listen unix:PATH [--alloc-profile DIR]
import Fastify from 'fastify';
import type { Storm } from '../test/runtime/scale-lab.js';
import { ScaleCloud, watchStorm } from '../test/runtime/scale-lab.js';
import { AllocationSampler } from './alloc-profile.js';

/** What the bench asks. */
export type ControllerRequest =
  | {
      readonly op: 'watch';
      readonly label: string;
      /** Start listening once the watch is on (the storm is the bridges (re)connecting to this process). */
      readonly listen: boolean;
      /** Add a VM once this many switches are synced, and resync every switch from the cache ((d)). */
      readonly addVmAt?: number;
      readonly timeoutMs: number;
    }
  | { readonly op: 'memory' }
  | { readonly op: 'stop' };

export interface Memory {
  readonly rss: number;
  /** After two full collections (the process runs with --expose-gc). */
  readonly heapUsed: number;
}

/** What the controller process says. */
export type ControllerReport =
  | { readonly op: 'ready'; readonly apiUrl: string }
  | { readonly op: 'watching' }
  | {
      readonly op: 'storm';
      readonly storm: Storm;
      /** Heap and RSS right at the storm's end (no collection forced). */
      readonly rss: number;
      readonly heapUsed: number;
      readonly added?: { readonly ms: number; readonly flowMods: number; readonly modsBefore: number };
    }
  | ({ readonly op: 'memory' } & Memory)
  | { readonly op: 'error'; readonly message: string };

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

const send = (r: ControllerReport): void => {
  process.send!(r);
};

async function main(): Promise<void> {
  const model = new ScaleCloud(Number(arg('nodes')), Number(arg('vms')));
  const ctl = model.controller(arg('listen')!);
  const sampler = new AllocationSampler(arg('alloc-profile'));
  const api = Fastify();
  api.get('/api/v1/nodes', async () => model.cloud.nodes);
  const apiUrl = `${await api.listen({ host: '127.0.0.1', port: 0 })}/api/v1/nodes`;
  const gc = (globalThis as { gc?: () => void }).gc;
  let listening = false;

  const watch = async (req: Extract<ControllerRequest, { op: 'watch' }>): Promise<void> => {
    let added: Promise<{ ms: number; flowMods: number; modsBefore: number }> | undefined;
    // Printed on this process's clock: that of its `--trace-gc` lines and `--cpu-prof` profile.
    console.log(`      ${req.label}: starts at ${performance.now().toFixed(0)} ms (controller process)`);
    const storm = await sampler.during(req.label, () =>
      watchStorm(
        ctl,
        model,
        async () => {
          if (req.listen && !listening) {
            listening = true;
            await ctl.start();
          }
          send({ op: 'watching' });
        },
        {
          timeoutMs: req.timeoutMs,
          during: (n, flowMods) => {
            if (n !== req.addVmAt) return;
            added = (async () => {
              const t0 = performance.now();
              model.addVm(model.nodes[1]!);
              const results = await ctl.resyncAll({ source: 'cache' });
              let mods = 0;
              for (const r of results.values()) if (!(r instanceof Error)) mods += r.flowMods;
              return { ms: performance.now() - t0, flowMods: mods, modsBefore: flowMods };
            })();
          },
        },
      ),
    );
    console.log(`      ${req.label}: ends at ${performance.now().toFixed(0)} ms (controller process)`);
    for (const g of storm.worstGaps) console.log(`      ${req.label}: a probe gap of ${g.wallMs.toFixed(0)} ms wall, ${g.cpuMs} ms main-thread CPU, ended at ${g.endUs} µs (monotonic: a --cpu-prof profile's clock)`);
    const m = process.memoryUsage();
    send({ op: 'storm', storm, rss: m.rss, heapUsed: m.heapUsed, ...(added && { added: await added }) });
  };

  process.on('message', (req: ControllerRequest) => {
    const run = async (): Promise<void> => {
      switch (req.op) {
        case 'watch':
          return watch(req);
        case 'memory': {
          gc?.();
          gc?.();
          const m = process.memoryUsage();
          return send({ op: 'memory', rss: m.rss, heapUsed: m.heapUsed });
        }
        case 'stop':
          await ctl.stop();
          await api.close();
          sampler.close();
          process.disconnect();
      }
    };
    run().catch((e: Error) => send({ op: 'error', message: e.stack ?? String(e) }));
  });
  // The bench gone (crashed, killed): nothing left to serve.
  process.on('disconnect', () => void ctl.stop().finally(() => process.exit(0)));
  send({ op: 'ready', apiUrl });
}

main().catch((e: Error) => {
  console.error(e);
  process.exit(1);
});
