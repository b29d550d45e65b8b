// Floating IPs, the domain side (docs/architecture.md, "Floating IPs"): allocated from a gateway's pool (the
// configuration's `floatingIps.pools`) to the request's project inside the write transaction, attached to one VM of
// that project, detached, deleted. Attaching binds the VM's egress to the floating IP's gateway (its replies and its
// own connections must leave where the address lives); the gateway's NAT follows from the store through provisioning.
import { firstFreeAddress, freeInPool, poolSize, type FloatingIpPool, type FloatingIpRecord } from '../topology/floating-ips.js';
import { hasRole } from '../topology/model.js';
import { projectOf, quotaExceeded } from '../topology/projects.js';
import type { StoreReader } from '../topology/store.js';
import type { OpContext } from './collaborators.js';
import type { ServiceContext } from './context.js';
import { CapacityExhausted, Conflict, Invalid, NotFound, QuotaExceeded } from './errors.js';
import { inProject, targetProject, usageOf } from './projects.js';
import { NOT_A_CHANGE, type Mutation } from './views.js';

export interface CreateFloatingIpInput {
  /** The gateway whose pool it comes from; default: the gateway with the most free addresses. */
  readonly gateway?: string;
}

export type FloatingIpView = FloatingIpRecord & { readonly project: string };

/** What /metrics shows: floating IPs attached and not, and each pool's free addresses. */
export interface FloatingIpInventory {
  readonly attached: number;
  readonly unattached: number;
  readonly free: number;
}

const view = (f: FloatingIpRecord): FloatingIpView => ({ ...f, project: projectOf(f) });

/** The record of a new floating IP for the request's project, or why there can't be one (pure: runs inside the write). */
export function allocateFloatingIp(r: StoreReader, pools: readonly FloatingIpPool[], input: CreateFloatingIpInput, ctx: OpContext, now: () => Date): FloatingIpRecord {
  const project = targetProject(r, ctx);
  const over = quotaExceeded(project, usageOf(r, project.name), { floatingIps: 1 });
  if (over !== undefined) throw new QuotaExceeded('floatingIps', over);
  const taken = new Set(r.listFloatingIps().map((f) => f.address));
  const usable = pools.filter((p) => {
    const n = r.getNode(p.gateway);
    return n !== undefined && hasRole(n, 'gateway');
  });
  let pool: FloatingIpPool | undefined;
  if (input.gateway !== undefined) {
    const n = r.getNode(input.gateway);
    if (!n) throw new Invalid('gateway', `no node named '${input.gateway}'`);
    if (!hasRole(n, 'gateway')) throw new Invalid('gateway', `node '${input.gateway}' is not a gateway`);
    pool = usable.find((p) => p.gateway === input.gateway);
    if (!pool) throw new Invalid('gateway', `gateway '${input.gateway}' has no floating IP pool (floatingIps.pools in the configuration)`);
  } else {
    if (usable.length === 0) throw new CapacityExhausted('gateway', 'no gateway has a floating IP pool (floatingIps.pools in the configuration)');
    const free = new Map(usable.map((p) => [p.gateway, freeInPool(p, taken)] as const));
    pool = [...usable].sort((a, b) => free.get(b.gateway)! - free.get(a.gateway)! || (a.gateway < b.gateway ? -1 : 1))[0]!;
  }
  const address = firstFreeAddress(pool, taken);
  if (address === undefined) throw new CapacityExhausted('gateway', `the floating IP pool of gateway '${pool.gateway}' is used up (${poolSize(pool)} addresses)`);
  return { address, gateway: pool.gateway, project: project.name, createdAt: now().toISOString() };
}

export class FloatingIps {
  constructor(
    private readonly c: ServiceContext,
    private readonly pools: readonly FloatingIpPool[],
  ) {}

  list(ctx: OpContext = {}): FloatingIpView[] {
    return this.c.store.read((r) => r.listFloatingIps(ctx.project !== undefined ? { project: ctx.project } : {}).map(view));
  }

  get(address: string, ctx: OpContext = {}): FloatingIpView {
    return this.c.store.read((r) => view(inProject(mustGetFloatingIp(r, address), ctx, 'floating IP', address)));
  }

  inventory(): FloatingIpInventory {
    return this.c.store.read((r) => {
      const all = r.listFloatingIps();
      const attached = all.filter((f) => f.vm !== undefined).length;
      const taken = all.map((f) => f.address);
      const free = this.pools.reduce((n, p) => n + freeInPool(p, taken), 0);
      return { attached, unattached: all.length - attached, free };
    });
  }

  async create(input: CreateFloatingIpInput, ctx: OpContext = {}): Promise<Mutation<FloatingIpView>> {
    const record = await this.c.store.write((w) => {
      const f = allocateFloatingIp(w, this.pools, input, ctx, this.c.now);
      w.insertFloatingIp(f);
      return f;
    });
    this.c.log(ctx).info({ floatingIp: record.address, gateway: record.gateway, project: record.project }, 'floating IP allocated');
    return { value: view(record), network: NOT_A_CHANGE };
  }

  /** Refused (409) while attached: detach it first, so that cutting a VM off is always said in so many words. */
  async delete(address: string, ctx: OpContext = {}): Promise<Mutation<{ address: string }>> {
    await this.c.store.write((w) => {
      const f = inProject(mustGetFloatingIp(w, address), ctx, 'floating IP', address);
      if (f.vm !== undefined) throw new Conflict(undefined, `floating IP ${address} is attached to VM '${f.vm}': detach it first`);
      w.deleteFloatingIp(address);
    });
    this.c.log(ctx).info({ floatingIp: address }, 'floating IP released');
    return { value: { address }, network: NOT_A_CHANGE };
  }

  /**
   * Attaches the floating IP to a VM of its project and binds the VM's egress to the floating IP's gateway, in one
   * write. Answers once the VM's node has its egress flow and the gateway's NAT is in place (or pending: bounded).
   */
  async attach(address: string, vmName: string, ctx: OpContext = {}): Promise<Mutation<FloatingIpView>> {
    const check = (r: StoreReader): { f: FloatingIpRecord; node: string; gateway: string } => {
      const f = inProject(mustGetFloatingIp(r, address), ctx, 'floating IP', address);
      // The VM is one of the floating IP's project, by name: another project's VM of that name is never attached.
      const ref = { project: projectOf(f), name: vmName };
      const vm = r.getVm(ref);
      if (!vm) throw new NotFound('vm', vmName);
      if (vm.state === 'deleting') throw new Conflict('vm', `VM '${vmName}' is being deleted`);
      if (f.vm !== undefined && f.vm !== vmName) throw new Conflict(undefined, `floating IP ${address} is attached to VM '${f.vm}': detach it first`);
      const other = r.listFloatingIps({ vm: ref }).find((o) => o.address !== address);
      if (other) throw new Conflict('vm', `VM '${vmName}' has floating IP ${other.address} already (one per VM)`);
      const g = r.getNode(f.gateway);
      if (!g || !hasRole(g, 'gateway')) throw new Conflict(undefined, `the gateway of floating IP ${address}, '${f.gateway}', is no longer a gateway`);
      return { f, node: vm.node, gateway: vm.gateway };
    };
    const now = this.c.store.read(check);
    if (now.f.vm === vmName && now.gateway === now.f.gateway) return { value: view(now.f), network: NOT_A_CHANGE };
    const { f, node, from } = await this.c.store.write((w) => {
      const { f: fip, node: vmNode, gateway } = check(w);
      w.setFloatingIpVm(address, vmName);
      if (gateway !== fip.gateway) w.setVmGateway({ project: projectOf(fip), name: vmName }, fip.gateway);
      return { f: mustGetFloatingIp(w, address), node: vmNode, from: gateway };
    });
    this.c.log(ctx).info({ floatingIp: address, vm: vmName, gateway: f.gateway, ...(from !== f.gateway && { egressMovedFrom: from }) }, 'floating IP attached');
    const network = await this.c.applies.request([...new Set([node, f.gateway])].sort());
    await this.c.deps.nodeProvisioned?.(f.gateway);
    return { value: view(f), network };
  }

  /** Detaches it (the VM's egress stays bound to that gateway, now through its shared SNAT address). */
  async detach(address: string, ctx: OpContext = {}): Promise<Mutation<FloatingIpView>> {
    const now = this.c.store.read((r) => inProject(mustGetFloatingIp(r, address), ctx, 'floating IP', address));
    if (now.vm === undefined) return { value: view(now), network: NOT_A_CHANGE };
    const { f, vm } = await this.c.store.write((w) => {
      const fip = inProject(mustGetFloatingIp(w, address), ctx, 'floating IP', address);
      if (fip.vm !== undefined) w.setFloatingIpVm(address, undefined);
      return { f: mustGetFloatingIp(w, address), vm: fip.vm };
    });
    this.c.log(ctx).info({ floatingIp: address, vm }, 'floating IP detached');
    const network = await this.c.applies.request([f.gateway]);
    await this.c.deps.nodeProvisioned?.(f.gateway);
    return { value: view(f), network };
  }
}

export function mustGetFloatingIp(r: StoreReader, address: string): FloatingIpRecord {
  const f = r.getFloatingIp(address);
  if (!f) throw new NotFound('floating IP', address);
  return f;
}

