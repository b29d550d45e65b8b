// Drift repair in the controller process: the runtime's FlowVerifier (src/runtime/verifier.ts) over every node's
// switch, every `sync.verifyIntervalSeconds` (jittered), its outcomes in the metrics.
import type { Logger } from 'pino';
import { FlowVerifier, type Controller } from '../runtime/index.js';
import type { Metrics } from './metrics.js';

export interface DriftRepairOptions {
  readonly controller: Controller;
  /** The node a datapath is; datapaths of no node are not verified (they have no desired state). */
  readonly nodeOf: (dpid: bigint) => string | undefined;
  readonly intervalSeconds: number;
  readonly metrics?: Metrics;
  readonly log?: Logger;
}

/** A started FlowVerifier (a stopped one when the interval is 0). */
export function startDriftRepair(opts: DriftRepairOptions): FlowVerifier {
  const { controller, nodeOf, metrics } = opts;
  const verifier = new FlowVerifier(controller, {
    intervalMs: opts.intervalSeconds * 1000,
    manages: (dpid) => nodeOf(dpid) !== undefined,
    nameOf: nodeOf,
    ...(opts.log && { logger: opts.log }),
  });
  if (metrics) {
    verifier.on('verified', (dp, stats, repaired) => {
      const node = nodeOf(dp.dpid);
      if (node !== undefined) metrics.observeVerification(node, stats.durationMs / 1000, repaired);
    });
    verifier.on('verifyFailed', (dp, _err, ms) => {
      const node = nodeOf(dp.dpid);
      if (node !== undefined) metrics.observeVerification(node, ms / 1000, undefined);
    });
  }
  verifier.start();
  return verifier;
}
