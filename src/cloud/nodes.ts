// Nodes: list, add (validated and checked against pending removals on the same host), remove (with the undo of its
// bootstrap kept in the store until it goes through on the host).
import type { NodeRecord, VmRecord } from '../topology/records.js';
import type { OpContext } from './collaborators.js';
import type { ServiceContext } from './context.js';
import { assertConsistent, newNode } from './allocation.js';
import { Conflict } from './errors.js';
import { mustGetNode } from './lookup.js';
import { nodeRemovalView, type NodeRemovalView } from './node-removals.js';
import { nodeDetails, summarise, type AddNodeInput, type Mutation, type NodeDetails } from './views.js';

export class Nodes {
  constructor(private readonly c: ServiceContext) {}

  list(): NodeDetails[] {
    return this.c.store.read((r) => {
      const vms = r.listVms();
      return r.listNodes().map((n) => this.view(n, vms));
    });
  }

  get(name: string): NodeDetails {
    return this.c.store.read((r) => this.view(mustGetNode(r, name), r.listVms({ node: name })));
  }

  async add(input: AddNodeInput, ctx: OpContext): Promise<Mutation<NodeDetails>> {
    const node = await this.c.store.write((w) => {
      const record = newNode(w, input, this.c.now);
      w.insertNode(record);
      assertConsistent(w);
      return record;
    });
    this.c.log(ctx).info({ node: node.name, roles: node.roles }, 'node added');
    const network = await this.c.applies.request(this.c.allNodes());
    return { value: this.view(node, []), network };
  }

  /** Removed nodes whose undo on the node has not yet gone through (retried with backoff, and at every start). */
  removals(): NodeRemovalView[] {
    return this.c.store.read((r) => r.listNodeRemovals().map(nodeRemovalView));
  }

  /**
   * Removes the node from the store; undoing its bootstrap on the host follows (kept in the store until it went
   * through). `force`: the host is gone for good: no undo is kept, and a pending one of a node already removed is
   * dropped.
   */
  async remove(name: string, ctx: OpContext, opts: { readonly force?: boolean }): Promise<Mutation<{ name: string }>> {
    const { store, applies, deps } = this.c;
    const pending = store.read((r) => (r.getNode(name) ? undefined : r.getNodeRemoval(name)));
    if (pending && !opts.force) {
      throw new Conflict(
        undefined,
        `node '${name}' is already removed; undoing its bootstrap on ${pending.node.sshTarget ?? pending.node.underlayIp} is pending ` +
          `(${pending.attempts} failed attempts${pending.lastError !== undefined ? `, last: ${pending.lastError}` : ''}) and retried until it goes through; ` +
          'remove it with force if that host is gone for good',
      );
    }
    const dropped = pending !== undefined && (await store.write((w) => !w.getNode(name) && w.deleteNodeRemoval(name)));
    if (dropped) {
      this.c.log(ctx).warn({ node: name }, 'pending node removal dropped (force): its host keeps what bootstrap made');
      return { value: { name }, network: await applies.request(this.c.allNodes()) };
    }
    const affected = await store.write((w) => {
      const node = mustGetNode(w, name);
      const hosted = w.listVms({ node: name });
      const bound = w.listVms({ gateway: name });
      if (hosted.length > 0 || bound.length > 0) {
        const names = [...hosted, ...bound].map((v) => v.name);
        throw new Conflict(undefined, `node '${name}' still has VMs (${summarise(names)}): delete them first`);
      }
      const fips = w.listFloatingIps({ gateway: name }).map((f) => f.address);
      if (fips.length > 0) throw new Conflict(undefined, `gateway '${name}' still has floating IPs (${summarise(fips)}): delete them first`);
      const all = w.listNodes().map((n) => n.name);
      const undo = opts.force ? undefined : deps.nodeUndo?.(node, w.records());
      w.deleteNode(name);
      // One pending removal per name. An earlier one at another target is still to be undone on its host; this
      // node was never set up (its provisioning undoes the old host first), so the earlier one is kept.
      const earlier = w.getNodeRemoval(name);
      if (undo !== undefined && !(earlier && earlier.node.sshTarget !== node.sshTarget)) {
        const now = this.c.now().toISOString();
        w.putNodeRemoval({ node, undo, requestedAt: now, attempts: 0, nextAttemptAt: now });
      }
      return all;
    });
    this.c.log(ctx).info({ node: name, force: opts.force === true }, 'node removed');
    deps.backend.nodeRemoved?.(name);
    return { value: { name }, network: await applies.request(affected) };
  }

  private view(node: NodeRecord, vms: readonly VmRecord[]): NodeDetails {
    return nodeDetails(node, vms, this.c.deps.provisioning?.(node.name));
  }
}
