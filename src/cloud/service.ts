// The control plane's domain operations: nodes, subnets and VMs. Every change is one store transaction (validation,
// allocation and the write together), then a network apply of the affected nodes, then the VM backend where there
// is one. Results are typed; failures are the DomainErrors of ./errors.ts. No HTTP here: src/api maps it.
//
// This class is the facade the API and the daemon hold; each kind of thing has its own file (./nodes.ts,
// ./subnets.ts, ./vms.ts, ./datapaths.ts), sharing one ServiceContext (./context.ts).
import { DEFAULT_OVERLAY } from '../topology/ipam.js';
import { DEFAULT_TRANSIT_RANGE } from '../topology/north-south.js';
import { parseCidr, type Cidr, type Cloud } from '../topology/model.js';
import { toCloud, type CloudRecords, type VmRecord } from '../topology/records.js';
import type { CloudServiceDeps, DatapathInfo, VmExecResult, FlowRow, OpContext } from './collaborators.js';
import { ServiceContext } from './context.js';
import { Datapaths } from './datapaths.js';
import { FloatingIps, type CreateFloatingIpInput, type FloatingIpView } from './floating-ips.js';
import { GatewayFailover } from './gateway-failover.js';
import type { NodeRemovalView } from './node-removals.js';
import { Nodes } from './nodes.js';
import { Projects, type CreateProjectInput, type ProjectView, type UpdateProjectInput } from './projects.js';
import { SecurityGroups } from './security-groups.js';
import { Subnets } from './subnets.js';
import { withProject, type AddNodeInput, type CreateSubnetInput, type CreateVmInput, type Inventory, type Mutation, type NodeDetails, type SubnetView, type VmView } from './views.js';
import { Vms } from './vms.js';

export class CloudService {
  readonly overlay: Cidr;
  readonly transitRange: Cidr;
  private readonly c: ServiceContext;
  private readonly nodes: Nodes;
  private readonly subnets: Subnets;
  private readonly vms: Vms;
  private readonly switches: Datapaths;
  private readonly projects: Projects;
  private readonly floatingIps: FloatingIps;
  /** Security groups, their rules and VM memberships (./security-groups.ts). */
  readonly securityGroups: SecurityGroups;
  /** Moves VMs off failed gateways (./gateway-failover.ts); the daemon's gateway monitor drives it. */
  readonly gatewayFailover: GatewayFailover;

  constructor(deps: CloudServiceDeps) {
    this.overlay = parseCidr(deps.overlay ?? DEFAULT_OVERLAY);
    this.c = new ServiceContext(deps);
    this.nodes = new Nodes(this.c);
    this.subnets = new Subnets(this.c, this.overlay);
    this.transitRange = parseCidr(deps.transitRange ?? DEFAULT_TRANSIT_RANGE);
    this.vms = new Vms(this.c, this.transitRange);
    this.switches = new Datapaths(this.c, this.nodes);
    this.projects = new Projects(this.c, this.overlay, this.transitRange, deps.floatingIpPools ?? []);
    this.floatingIps = new FloatingIps(this.c, deps.floatingIpPools ?? []);
    this.gatewayFailover = new GatewayFailover(this.c);
    this.securityGroups = new SecurityGroups({ store: this.c.store, apply: () => this.c.applies.request(this.c.allNodes()), now: this.c.now, log: (ctx) => this.c.log(ctx) });
  }

  /** The model the pipeline compiles, as stored now. */
  cloud(): Cloud {
    return this.c.store.read((r) => toCloud(r.records()));
  }

  records(): CloudRecords {
    return this.c.store.read((r) => r.records());
  }

  revision(): number {
    return this.c.store.read((r) => r.revision());
  }

  /** Counts for /metrics: VMs by state, nodes by role, each subnet's addresses. */
  inventory(): Inventory {
    const records = this.records();
    const vmsByState: Record<string, number> = { creating: 0, running: 0, stopped: 0, deleting: 0, error: 0 };
    for (const v of records.vms) vmsByState[v.state] = (vmsByState[v.state] ?? 0) + 1;
    const nodesByRole: Record<string, number> = {};
    for (const n of records.nodes) for (const r of n.roles) nodesByRole[r] = (nodesByRole[r] ?? 0) + 1;
    return {
      vmsByState,
      nodesByRole,
      subnets: this.listSubnets().map((s) => ({ name: s.name, free: s.addresses.free, used: s.addresses.used })),
      floatingIps: this.floatingIps.inventory(),
    };
  }

  /**
   * After a restart: a VM left 'creating' or 'deleting' by a crash is marked 'error' (the backend may or may not
   * have it); deleting it again cleans up. Returns the names it marked.
   */
  /** After an upgrade: transit addresses for the VMs of non-default projects that have none (./vms.ts). */
  assignTransitAddresses(): Promise<string[]> {
    return this.vms.assignTransitAddresses();
  }

  recoverInterrupted(): Promise<string[]> {
    return this.vms.recoverInterrupted();
  }

  // --- nodes (./nodes.ts)

  listNodes(): NodeDetails[] {
    return this.nodes.list();
  }

  getNode(name: string): NodeDetails {
    return this.nodes.get(name);
  }

  addNode(input: AddNodeInput, ctx: OpContext = {}): Promise<Mutation<NodeDetails>> {
    return this.nodes.add(input, ctx);
  }

  /** Removed nodes whose undo on the node has not yet gone through (retried with backoff, and at every start). */
  listNodeRemovals(): NodeRemovalView[] {
    return this.nodes.removals();
  }

  /** `force`: the host is gone for good (nothing is undone on it). See Nodes.remove. */
  removeNode(name: string, ctx: OpContext = {}, opts: { readonly force?: boolean } = {}): Promise<Mutation<{ name: string }>> {
    return this.nodes.remove(name, ctx, opts);
  }

  // --- projects (./projects.ts). Every read below takes the request's context: confined to one project, it sees
  // only that project's records, and any other's is refused (Forbidden).

  listProjects(ctx: OpContext = {}): ProjectView[] {
    return this.projects.list(ctx);
  }

  getProject(name: string, ctx: OpContext = {}): ProjectView {
    return this.projects.get(name, ctx);
  }

  createProject(input: CreateProjectInput, ctx: OpContext = {}): Promise<Mutation<ProjectView>> {
    return this.projects.create(input, ctx);
  }

  updateProject(name: string, input: UpdateProjectInput, ctx: OpContext = {}): Promise<Mutation<ProjectView>> {
    return this.projects.update(name, input, ctx);
  }

  deleteProject(name: string, ctx: OpContext = {}): Promise<Mutation<{ name: string }>> {
    return this.projects.delete(name, ctx);
  }

  // --- subnets (./subnets.ts)

  listSubnets(ctx: OpContext = {}): SubnetView[] {
    return this.subnets.list(ctx);
  }

  getSubnet(name: string, ctx: OpContext = {}): SubnetView {
    return this.subnets.get(name, ctx);
  }

  createSubnet(input: CreateSubnetInput, ctx: OpContext = {}): Promise<Mutation<SubnetView>> {
    return this.subnets.create(input, ctx);
  }

  deleteSubnet(name: string, ctx: OpContext = {}): Promise<Mutation<{ name: string }>> {
    return this.subnets.delete(name, ctx);
  }

  // --- VMs (./vms.ts)

  listVms(filter: { readonly node?: string; readonly subnet?: string } = {}, ctx: OpContext = {}): VmView[] {
    return this.vms.list(filter, ctx).map(withProject);
  }

  getVm(name: string, ctx: OpContext = {}): VmView {
    return withProject(this.vms.get(name, ctx));
  }

  async createVm(input: CreateVmInput, ctx: OpContext = {}): Promise<Mutation<VmView>> {
    return vmMutation(await this.vms.create(input, ctx));
  }

  // A VM is named in the request's project (the default project when it names none): another project's VM of the
  // same name is never the one an operation finds.
  async deleteVm(name: string, ctx: OpContext = {}): Promise<Mutation<{ name: string }>> {
    return this.vms.delete(name, ctx);
  }

  async startVm(name: string, ctx: OpContext = {}): Promise<Mutation<VmView>> {
    return vmMutation(await this.vms.start(name, ctx));
  }

  async stopVm(name: string, ctx: OpContext = {}): Promise<Mutation<VmView>> {
    return vmMutation(await this.vms.stop(name, ctx));
  }

  async execVm(name: string, argv: readonly string[], ctx: OpContext = {}): Promise<VmExecResult> {
    return this.vms.exec(name, argv, ctx);
  }

  /** Binds the VM's egress to another gateway (./gateway-failover.ts). */
  setVmGateway(name: string, gateway: string, ctx: OpContext = {}): Promise<Mutation<VmView>> {
    return this.gatewayFailover.rebind(name, gateway, ctx);
  }

  // --- floating IPs (./floating-ips.ts)

  listFloatingIps(ctx: OpContext = {}): FloatingIpView[] {
    return this.floatingIps.list(ctx);
  }

  getFloatingIp(address: string, ctx: OpContext = {}): FloatingIpView {
    return this.floatingIps.get(address, ctx);
  }

  createFloatingIp(input: CreateFloatingIpInput, ctx: OpContext = {}): Promise<Mutation<FloatingIpView>> {
    return this.floatingIps.create(input, ctx);
  }

  deleteFloatingIp(address: string, ctx: OpContext = {}): Promise<Mutation<{ address: string }>> {
    return this.floatingIps.delete(address, ctx);
  }

  attachFloatingIp(address: string, vm: string, ctx: OpContext = {}): Promise<Mutation<FloatingIpView>> {
    return this.floatingIps.attach(address, vm, ctx);
  }

  detachFloatingIp(address: string, ctx: OpContext = {}): Promise<Mutation<FloatingIpView>> {
    return this.floatingIps.detach(address, ctx);
  }

  // --- datapaths (./datapaths.ts)

  flows(node: string): Promise<FlowRow[]> {
    return this.switches.flows(node);
  }

  /** Every datapath the runtime knows, plus a not-connected entry for each node that never connected. */
  datapaths(): DatapathInfo[] {
    return this.switches.list();
  }

  resync(node: string, ctx: OpContext = {}): Promise<{ node: string; flowMods: number; seconds: number }> {
    return this.switches.resync(node, ctx);
  }
}

function vmMutation(m: Mutation<VmRecord>): Mutation<VmView> {
  return { value: withProject(m.value), network: m.network };
}
