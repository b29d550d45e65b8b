// The switches as the domain sees them: each node's installed flows, its datapath, a resync on request.
import type { DatapathInfo, FlowRow, OpContext } from './collaborators.js';
import type { ServiceContext } from './context.js';
import { Conflict } from './errors.js';
import type { Nodes } from './nodes.js';

export class Datapaths {
  constructor(
    private readonly c: ServiceContext,
    private readonly nodes: Nodes,
  ) {}

  async flows(node: string): Promise<FlowRow[]> {
    this.nodes.get(node);
    const rows = await this.c.deps.flows.flows(node);
    if (rows === undefined) throw new Conflict(undefined, `node '${node}' is not connected: its flows can't be read`);
    return rows;
  }

  /** Every datapath the runtime knows, plus a not-connected entry for each node that never connected. */
  list(): DatapathInfo[] {
    const known = this.c.deps.datapaths.list();
    const seen = new Set(known.map((d) => d.node));
    const missing = this.nodes
      .list()
      .filter((n) => !seen.has(n.name))
      .map((n): DatapathInfo => ({ node: n.name, dpid: '', connected: false, since: n.createdAt, ports: [] }));
    return [...known, ...missing].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  async resync(node: string, ctx: OpContext): Promise<{ node: string; flowMods: number; seconds: number }> {
    this.nodes.get(node);
    const outcome = await this.c.deps.resyncer.resync(node);
    if (!outcome.connected) throw new Conflict(undefined, `node '${node}' is not connected: it is resynced when it connects`);
    this.c.log(ctx).info({ node, flowMods: outcome.flowMods, seconds: outcome.seconds }, 'node resynced');
    return { node, flowMods: outcome.flowMods, seconds: outcome.seconds };
  }
}
