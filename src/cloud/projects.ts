// Projects (tenants), the domain side: create, show with usage, change quotas, delete once empty. A project is made
// with its default security group (`NAME-default`: all egress, ingress from its own members), which its VMs join
// when given none, and which goes with it. Quotas are enforced where subnets and VMs are allocated (./allocation.ts);
// scoping (which project a request may touch) by `inProject` below and the API's authorisation.
import { cidrText, MAX_SUBNET_PREFIX, overlaps } from '../topology/ipam.js';
import { poolRanges, type FloatingIpPool } from '../topology/floating-ips.js';
import { numberToIpv4, parseCidr, type Cidr } from '../topology/model.js';
import { nameProblem, PROJECT_NAME } from '../topology/names.js';
import { DEFAULT_PROJECT, MAX_PROJECTS, projectDefaultGroup, projectOf, QUOTA_KINDS, quotaProblems, type ProjectRecord, type Quotas, type Usage } from '../topology/projects.js';
import { defaultGroupRules } from '../topology/security-groups.js';
import type { StoreReader } from '../topology/store.js';
import type { OpContext } from './collaborators.js';
import type { ServiceContext } from './context.js';
import { Conflict, Forbidden, Invalid, NotFound } from './errors.js';
import { MAX_DESCRIPTION } from './validate.js';
import { NOT_A_CHANGE, summarise, type Mutation } from './views.js';

export interface CreateProjectInput {
  readonly name: string;
  readonly description?: string;
  /** Where its subnets are carved from; default: the cloud's overlay range. */
  readonly overlay?: string;
  readonly quotas?: Quotas;
}

export interface UpdateProjectInput {
  readonly description?: string;
  /** Replaces the quotas whole: a kind left out is unlimited. */
  readonly quotas?: Quotas;
}

export interface ProjectView extends Omit<ProjectRecord, 'overlay'> {
  /** Its overlay range (the cloud's when it has none of its own). */
  readonly overlay: string;
  readonly securityGroup: string;
  readonly usage: Usage;
}

/** What a project holds, counted as its quotas count (VMs being deleted still hold their resources). */
export function usageOf(r: StoreReader, project: string): Usage {
  const vms = r.listVms({ project });
  return {
    vms: vms.length,
    vcpus: vms.reduce((a, v) => a + v.cpus, 0),
    memoryMiB: vms.reduce((a, v) => a + v.memoryMiB, 0),
    subnets: r.listSubnets().filter((s) => projectOf(s) === project).length,
    floatingIps: r.listFloatingIps({ project }).length,
  };
}

/** The project a new record goes to: the request's, which must exist. */
export function targetProject(r: StoreReader, ctx: OpContext): ProjectRecord {
  const name = ctx.project ?? DEFAULT_PROJECT;
  const p = r.getProject(name);
  if (!p) throw new NotFound('project', name);
  return p;
}

/** Refuses a record of another project than the request's (a request of the whole cloud may touch any). */
export function inProject<T extends { readonly project?: string }>(record: T, ctx: OpContext, what: string, name: string): T {
  if (ctx.project !== undefined && projectOf(record) !== ctx.project) {
    throw new Forbidden(`${what} '${name}' belongs to another project than '${ctx.project}'`);
  }
  return record;
}

export class Projects {
  constructor(
    private readonly c: ServiceContext,
    private readonly overlay: Cidr,
    /** `network.transitRange`: no project's overlay may overlap it (a VM address would meet a transit one on the gateway). */
    private readonly transitRange?: Cidr,
    /** `floatingIps.pools`: nor a floating-IP pool (the project's VMs could not reach those addresses: theirs, inside). */
    private readonly pools: readonly FloatingIpPool[] = [],
  ) {}

  list(ctx: OpContext = {}): ProjectView[] {
    return this.c.store.read((r) => r.listProjects().filter((p) => ctx.project === undefined || p.name === ctx.project).map((p) => this.view(r, p)));
  }

  get(name: string, ctx: OpContext = {}): ProjectView {
    return this.c.store.read((r) => {
      if (ctx.project !== undefined && name !== ctx.project) throw new Forbidden(`project '${name}' is not '${ctx.project}', the one this request is confined to`);
      return this.view(r, mustGetProject(r, name));
    });
  }

  async create(input: CreateProjectInput, ctx: OpContext = {}): Promise<Mutation<ProjectView>> {
    const view = await this.c.store.write((w) => {
      const bad = nameProblem(PROJECT_NAME, input.name);
      if (bad) throw new Invalid('name', bad);
      const description = input.description ?? '';
      if (description.length > MAX_DESCRIPTION) throw new Invalid('description', `at most ${MAX_DESCRIPTION} characters`);
      const quotas = checkedQuotas(input.quotas ?? {});
      const overlay = input.overlay === undefined ? undefined : checkedOverlay(input.overlay, this.transitRange, this.pools);
      const all = w.listProjects();
      if (all.some((p) => p.name === input.name)) throw new Conflict('name', `a project named '${input.name}' already exists`);
      if (all.length >= MAX_PROJECTS) throw new Conflict('name', `there are ${MAX_PROJECTS} projects already (the most a cloud may have)`);
      const group = projectDefaultGroup(input.name);
      if (w.getSecurityGroup({ project: input.name, name: group })) throw new Conflict('name', `the project's default security group would be '${group}', and a group of that name exists`);
      const createdAt = this.c.now().toISOString();
      const record: ProjectRecord = { name: input.name, description, ...(overlay !== undefined && { overlay }), quotas, createdAt };
      w.insertProject(record);
      w.insertSecurityGroup({ name: group, description: `every VM of project '${input.name}' not given a group: all egress, ingress from members of ${group}`, createdAt, project: input.name });
      for (const rule of defaultGroupRules()) w.insertSecurityRule({ project: input.name, name: group }, rule.remoteGroup !== undefined ? { ...rule, remoteGroup: group } : rule, createdAt);
      return this.view(w, record);
    });
    this.c.log(ctx).info({ project: view.name, overlay: view.overlay, quotas: view.quotas }, 'project created');
    return { value: view, network: NOT_A_CHANGE };
  }

  async update(name: string, input: UpdateProjectInput, ctx: OpContext = {}): Promise<Mutation<ProjectView>> {
    const view = await this.c.store.write((w) => {
      const p = mustGetProject(w, name);
      if (input.description !== undefined && input.description.length > MAX_DESCRIPTION) throw new Invalid('description', `at most ${MAX_DESCRIPTION} characters`);
      const next: ProjectRecord = {
        ...p,
        ...(input.description !== undefined && { description: input.description }),
        ...(input.quotas !== undefined && { quotas: checkedQuotas(input.quotas) }),
      };
      w.updateProject(next);
      return this.view(w, next);
    });
    this.c.log(ctx).info({ project: name, quotas: view.quotas }, 'project changed');
    return { value: view, network: NOT_A_CHANGE };
  }

  /** Only an empty project goes (its default security group with it); `default` never does. */
  async delete(name: string, ctx: OpContext = {}): Promise<Mutation<{ name: string }>> {
    await this.c.store.write((w) => {
      mustGetProject(w, name);
      if (name === DEFAULT_PROJECT) throw new Conflict('name', `'${DEFAULT_PROJECT}' is the project of requests that name none: it cannot be deleted`);
      const vms = w.listVms({ project: name }).map((v) => v.name);
      if (vms.length) throw new Conflict(undefined, `project '${name}' still has VMs (${summarise(vms)}): delete them first`);
      const fips = w.listFloatingIps({ project: name }).map((f) => f.address);
      if (fips.length) throw new Conflict(undefined, `project '${name}' still has floating IPs (${summarise(fips)}): delete them first`);
      const subnets = w.listSubnets().filter((s) => projectOf(s) === name).map((s) => s.name);
      if (subnets.length) throw new Conflict(undefined, `project '${name}' still has subnets (${summarise(subnets)}): delete them first`);
      const own = projectDefaultGroup(name);
      const groups = w.listSecurityGroups().filter((g) => projectOf(g) === name);
      const others = groups.filter((g) => g.name !== own).map((g) => g.name);
      if (others.length) throw new Conflict(undefined, `project '${name}' still has security groups (${summarise(others)}): delete them first`);
      const ownGroup = groups.find((g) => g.name === own);
      if (ownGroup) {
        // Its rules first: its ingress rule names the group itself.
        for (const rule of ownGroup.rules) w.deleteSecurityRule(ownGroup, rule.id);
        w.deleteSecurityGroup(ownGroup);
      }
      w.deleteProject(name);
    });
    this.c.log(ctx).info({ project: name }, 'project deleted');
    return { value: { name }, network: NOT_A_CHANGE };
  }

  private view(r: StoreReader, p: ProjectRecord): ProjectView {
    const { overlay, ...rest } = p;
    return { ...rest, overlay: overlay ?? cidrText(this.overlay), securityGroup: projectDefaultGroup(p.name), usage: usageOf(r, p.name) };
  }
}

export function mustGetProject(r: StoreReader, name: string): ProjectRecord {
  const p = r.getProject(name);
  if (!p) throw new NotFound('project', name);
  return p;
}

function checkedQuotas(quotas: Quotas): Quotas {
  const problems = quotaProblems(quotas);
  if (problems.length) throw new Invalid('quotas', problems.join('; '));
  // Only the known kinds, in one order: what is stored is what was meant.
  return Object.fromEntries(QUOTA_KINDS.filter((k) => quotas[k] !== undefined).map((k) => [k, quotas[k]]));
}

function checkedOverlay(text: string, transit: Cidr | undefined, pools: readonly FloatingIpPool[]): string {
  let block: Cidr;
  try {
    block = parseCidr(text);
  } catch (e) {
    throw new Invalid('overlay', (e as Error).message);
  }
  if (block.prefix < 8 || block.prefix > MAX_SUBNET_PREFIX) throw new Invalid('overlay', `/${block.prefix} is out of range: an overlay range is /8 to /${MAX_SUBNET_PREFIX}`);
  if (transit && overlaps(block, transit)) throw new Invalid('overlay', `${cidrText(block)} overlaps the transit range ${cidrText(transit)} (network.transitRange), which the gateways keep for VMs' north-south addresses`);
  const last = block.network + 2 ** (32 - block.prefix) - 1;
  for (const pool of pools) {
    const hit = poolRanges(pool).find((r) => r.first <= last && block.network <= r.last);
    if (hit) throw new Invalid('overlay', `${cidrText(block)} overlaps the floating-IP pool of gateway '${pool.gateway}' (${numberToIpv4(hit.first)}-${numberToIpv4(hit.last)}, floatingIps.pools): the project's VMs could not reach those addresses`);
  }
  return cidrText(block);
}
