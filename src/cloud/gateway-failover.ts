// Gateway failover (docs/architecture.md, "Gateway failover"). A VM's egress is bound to one gateway (its record's
// `gateway`); when that gateway fails for the VM's node, the VM is bound to another one in the store, and only its
// own node's egress flow changes (every gateway holds every subnet's gateway IP, admits every subnet and SNATs the
// whole overlay, so the new gateway needs nothing new). The binding is not moved back when the old gateway returns.
// A VM with a floating IP is never moved: the address lives on its gateway's outside link (docs/architecture.md).
import { hasRole } from '../topology/model.js';
import { modelName, projectOf } from '../topology/projects.js';
import type { NodeRecord, VmRecord } from '../topology/records.js';
import type { StoreReader } from '../topology/store.js';
import type { NetworkResult } from './apply-queue.js';
import type { OpContext } from './collaborators.js';
import type { ServiceContext } from './context.js';
import { Conflict, Invalid } from './errors.js';
import { mustGetVm, scopedName } from './lookup.js';
import { withProject, type Mutation, type VmView } from './views.js';

/** Why a VM's gateway counts as failed: its datapath is gone (for everyone), or BFD from the VM's node is down. */
export type FailoverReason = 'datapath' | 'bfd';

/** What the controller knows of the gateways' health now (src/daemon/gateway-health.ts keeps it). */
export interface GatewayHealth {
  /** Gateways whose datapath has been gone beyond the grace period: failed for every node. */
  readonly failed: ReadonlySet<string>;
  /** Whether the gateway's datapath is connected now (a gateway a VM may be moved to must be). */
  up(gateway: string): boolean;
  /** Whether `node` reports its BFD session to `gateway` down (having seen it up): that path is broken. */
  bfdDown(node: string, gateway: string): boolean;
}

export interface GatewayMove {
  readonly vm: string;
  /** The VM's project (its name is unique there). */
  readonly project: string;
  /** The VM's own node: the one whose egress flow changes. */
  readonly node: string;
  readonly from: string;
  readonly to: string;
  readonly reason: FailoverReason;
}

/** A VM whose gateway failed but that has no usable gateway to go to: it stays bound (and is retried). */
export interface StrandedVm {
  readonly vm: string;
  readonly project: string;
  readonly node: string;
  readonly gateway: string;
  readonly reason: FailoverReason;
}

export interface FailoverPlan {
  readonly moves: readonly GatewayMove[];
  readonly stranded: readonly StrandedVm[];
}

export interface FailoverOutcome extends FailoverPlan {
  /** The VMs' nodes, confirmed or pending; undefined when nothing moved. */
  readonly network?: NetworkResult;
}

function failureOf(health: GatewayHealth, node: string, gateway: string): FailoverReason | undefined {
  if (health.failed.has(gateway)) return 'datapath';
  if (health.bfdDown(node, gateway)) return 'bfd';
  return undefined;
}

/**
 * The moves for every VM whose gateway failed for it, over the store as `r` holds it (pure: the same inputs give the
 * same plan, so an etcd write that runs it again agrees). The new gateway is one that is up and not BFD-down from the
 * VM's node: first in the failed gateway's AZ, then in the VM's node's AZ, then any; among those the one with the
 * fewest VMs bound (counting this plan's moves), then by name. VMs being deleted are left alone, and so are VMs that
 * run on the failed gateway itself when its datapath is gone (their node is down with it).
 */
export function planFailover(r: StoreReader, health: GatewayHealth): FailoverPlan {
  const nodes = new Map(r.listNodes().map((n) => [n.name, n] as const));
  const gateways = [...nodes.values()].filter((n) => hasRole(n, 'gateway'));
  const pinned = new Set(r.listFloatingIps().flatMap((f) => (f.vm === undefined ? [] : [modelName({ project: projectOf(f), name: f.vm })])));
  const vms = r.listVms().filter((v) => !pinned.has(modelName(v)));
  const bound = new Map<string, number>();
  for (const v of vms) bound.set(v.gateway, (bound.get(v.gateway) ?? 0) + 1);
  const moves: GatewayMove[] = [];
  const stranded: StrandedVm[] = [];
  for (const vm of vms) {
    if (vm.state === 'deleting') continue;
    const reason = failureOf(health, vm.node, vm.gateway);
    if (reason === undefined) continue;
    if (reason === 'datapath' && vm.node === vm.gateway) continue;
    const usable = gateways.filter((g) => g.name !== vm.gateway && health.up(g.name) && !health.failed.has(g.name) && !health.bfdDown(vm.node, g.name));
    const to = best(usable, [nodes.get(vm.gateway)?.az, nodes.get(vm.node)?.az], bound);
    if (to === undefined) {
      stranded.push({ vm: vm.name, project: projectOf(vm), node: vm.node, gateway: vm.gateway, reason });
      continue;
    }
    moves.push({ vm: vm.name, project: projectOf(vm), node: vm.node, from: vm.gateway, to: to.name, reason });
    bound.set(vm.gateway, (bound.get(vm.gateway) ?? 1) - 1);
    bound.set(to.name, (bound.get(to.name) ?? 0) + 1);
  }
  return { moves, stranded };
}

function best(candidates: readonly NodeRecord[], azs: readonly (string | undefined)[], bound: ReadonlyMap<string, number>): NodeRecord | undefined {
  const rank = (g: NodeRecord): number => {
    const i = azs.findIndex((az) => az !== undefined && g.az === az);
    return i < 0 ? azs.length : i;
  };
  return [...candidates].sort((a, b) => rank(a) - rank(b) || (bound.get(a.name) ?? 0) - (bound.get(b.name) ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0];
}

export class GatewayFailover {
  constructor(private readonly c: ServiceContext) {}

  /**
   * Moves every VM whose gateway failed for it (one store write for all of them, planned again inside it on the
   * committed cloud), then applies the VMs' own nodes. Callers run one at a time (the daemon's monitor does).
   */
  async run(health: GatewayHealth): Promise<FailoverOutcome> {
    const { store, applies } = this.c;
    const log = this.c.log({});
    const first = store.read((r) => planFailover(r, health));
    if (first.moves.length === 0) return first;
    const plan = await store.write((w) => {
      const p = planFailover(w, health);
      for (const m of p.moves) w.setVmGateway({ project: m.project, name: m.vm }, m.to);
      return p;
    });
    for (const m of plan.moves) log.warn({ vm: m.vm, project: m.project, node: m.node, from: m.from, to: m.to, reason: m.reason }, 'gateway failover: VM egress moved to another gateway');
    if (plan.moves.length === 0) return plan;
    const network = await applies.request([...new Set(plan.moves.map((m) => m.node))].sort());
    return { ...plan, network };
  }

  /**
   * An operator's move (`PUT /api/v1/vms/NAME/gateway`): binds the VM's egress to `gateway`, e.g. back to the one it
   * was moved off once that has returned (failover never moves back by itself). Only the VM's node is applied.
   */
  async rebind(name: string, gateway: string, ctx: OpContext = {}): Promise<Mutation<VmView>> {
    const { store, applies } = this.c;
    const ref = scopedName(name, ctx);
    const check = (r: StoreReader): VmRecord => {
      const v = mustGetVm(r, ref);
      if (v.state === 'deleting') throw new Conflict(undefined, `VM '${name}' is being deleted`);
      const g = r.getNode(gateway);
      if (!g) throw new Invalid('gateway', `no node named '${gateway}'`);
      if (!hasRole(g, 'gateway')) throw new Invalid('gateway', `node '${gateway}' is not a gateway`);
      const fip = r.listFloatingIps({ vm: ref }).find((f) => f.gateway !== gateway);
      if (fip) throw new Conflict('gateway', `VM '${name}' has floating IP ${fip.address}, which lives on gateway '${fip.gateway}': detach it first`);
      return v;
    };
    // Already there: no write (every write bumps the store's revision) and nothing to apply.
    const now = store.read(check);
    if (now.gateway === gateway) return { value: withProject(now), network: { confirmed: [], pending: [] } };
    const { vm, from } = await store.write((w) => {
      const v = check(w);
      w.setVmGateway(ref, gateway);
      return { vm: mustGetVm(w, ref), from: v.gateway };
    });
    this.c.log(ctx).info({ vm: name, node: vm.node, from, to: gateway }, 'VM egress bound to another gateway on request');
    const network = await applies.request([vm.node]);
    return { value: withProject(vm), network };
  }
}
