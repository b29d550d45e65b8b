// Security groups, the domain side: groups, their rules and VM memberships in the store, every change checked before
// it is written (a 400 says what is wrong, a 409 what it clashes with) and then applied to every node. CloudService
// owns one of these (`service.securityGroups`) and uses `vmGroups` when it creates a VM.
import type { NetworkResult } from './apply-queue.js';
import { Conflict, Invalid, NotFound } from './errors.js';
import { matchesRule, nameProblem, SECURITY_GROUP_NAME, STORED_NAME } from '../topology/names.js';
import type { SecurityGroupRecord, SecurityRuleRecord } from '../topology/records.js';
import {
  describeRule,
  MAX_GROUP_ID,
  MAX_GROUPS_PER_VM,
  MAX_RULE_ID,
  MAX_RULES_PER_GROUP,
  newGroupRules,
  ruleProblems,
  sameRule,
  type SecurityRuleSpec,
} from '../topology/security-groups.js';
import type { CloudStore, ScopedName, StoreReader, StoreWriter } from '../topology/store.js';
import { DEFAULT_PROJECT, projectDefaultGroup, projectOf } from '../topology/projects.js';
import { targetProject } from './projects.js';
import { MAX_DESCRIPTION } from './validate.js';

// The shapes CloudService uses (structurally the same), declared here so this file does not import it back.
interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
interface OpContext {
  readonly log?: Log;
  readonly project?: string;
}
interface Mutation<T> {
  readonly value: T;
  readonly network: NetworkResult;
}

/** A group as the API shows it: its rules and its members (VM names). */
export interface SecurityGroupView extends SecurityGroupRecord {
  readonly project: string;
  readonly members: readonly string[];
}

export interface SecurityGroupDeps {
  readonly store: CloudStore;
  /** Compile and send the flows of every node; resolves with how far they got. */
  readonly apply: () => Promise<NetworkResult>;
  readonly now: () => Date;
  readonly log: (ctx: OpContext) => Log;
}

export class SecurityGroups {
  constructor(private readonly deps: SecurityGroupDeps) {}

  list(ctx: OpContext = {}): SecurityGroupView[] {
    return this.deps.store.read((r) => {
      const members = membersByGroup(r);
      return r
        .listSecurityGroups()
        .filter((g) => ctx.project === undefined || projectOf(g) === ctx.project)
        .map((g) => ({ ...g, project: projectOf(g), members: members.get(memberKey(g)) ?? [] }));
    });
  }

  get(name: string, ctx: OpContext = {}): SecurityGroupView {
    return this.deps.store.read((r) => {
      const g = mustGetGroup(r, name, ctx);
      return { ...g, project: projectOf(g), members: membersByGroup(r).get(memberKey(g)) ?? [] };
    });
  }

  async create(input: { readonly name: string; readonly description?: string }, ctx: OpContext = {}): Promise<Mutation<SecurityGroupView>> {
    const group = await this.deps.store.write((w) => {
      const bad = nameProblem(SECURITY_GROUP_NAME, input.name);
      if (bad) throw new Invalid('name', bad);
      const description = input.description ?? '';
      if (description.length > MAX_DESCRIPTION) throw new Invalid('description', `at most ${MAX_DESCRIPTION} characters`);
      const project = targetProject(w, ctx).name;
      const ref = { project, name: input.name };
      if (w.getSecurityGroup(ref)) throw new Conflict('name', `a security group named '${input.name}' already exists${project === DEFAULT_PROJECT ? '' : ` in project '${project}'`}`);
      const createdAt = this.deps.now().toISOString();
      const id = w.insertSecurityGroup({ name: input.name, description, createdAt, project });
      if (id > MAX_GROUP_ID) throw new Conflict('name', `every security group id (1..${MAX_GROUP_ID}) has been used`);
      // As in Neutron: a new group allows all egress until that rule is deleted.
      for (const rule of newGroupRules()) w.insertSecurityRule(ref, rule, createdAt);
      return w.getSecurityGroup(ref)!;
    });
    this.deps.log(ctx).info({ group: group.name, project: group.project }, 'security group created');
    // No VM is a member yet: nothing to send.
    return { value: { ...group, project: projectOf(group), members: [] }, network: { confirmed: [], pending: [] } };
  }

  async delete(name: string, ctx: OpContext = {}): Promise<Mutation<{ name: string }>> {
    await this.deps.store.write((w) => {
      const g = mustGetGroup(w, name, ctx);
      if (name === projectDefaultGroup(projectOf(g))) {
        throw new Conflict('name', `'${name}' is the group of every VM of project '${projectOf(g)}' not given one: it cannot be deleted`);
      }
      const members = membersByGroup(w).get(memberKey(g)) ?? [];
      if (members.length) throw new Conflict(undefined, `security group '${name}' still has VMs (${members.slice(0, 5).join(', ')}${members.length > 5 ? ', ...' : ''}): move them first`);
      const users = w.listSecurityGroups().filter((o) => projectOf(o) === projectOf(g) && o.name !== name && o.rules.some((r) => r.remoteGroup === name));
      if (users.length) throw new Conflict(undefined, `rules of ${users.map((o) => `'${o.name}'`).join(', ')} name '${name}' as their remote group: delete them first`);
      // Its rules first: one may name the group itself, which SQLite's RESTRICT would refuse in the group's delete.
      for (const rule of g.rules) w.deleteSecurityRule(g, rule.id);
      w.deleteSecurityGroup(g);
    });
    this.deps.log(ctx).info({ group: name }, 'security group deleted');
    return { value: { name }, network: await this.deps.apply() };
  }

  async addRule(group: string, spec: SecurityRuleSpec, ctx: OpContext = {}): Promise<Mutation<SecurityRuleRecord>> {
    const rule = await this.deps.store.write((w) => {
      const g = mustGetGroup(w, group, ctx);
      // A rule's remote group is one of the same project's.
      const problems = ruleProblems(spec, new Set(w.listSecurityGroups().filter((x) => projectOf(x) === projectOf(g)).map((x) => x.name)));
      if (problems.length) throw new Invalid(ruleField(problems[0]!), problems.join('; '));
      const clean = normalised(spec);
      const same = g.rules.find((r) => sameRule(r, clean));
      if (same) throw new Conflict(undefined, `rule ${same.id} of '${group}' already allows ${describeRule(clean)}`);
      if (g.rules.length >= MAX_RULES_PER_GROUP) throw new Conflict(undefined, `security group '${group}' already has ${MAX_RULES_PER_GROUP} rules (the most a group may have)`);
      const id = w.insertSecurityRule(g, clean, this.deps.now().toISOString());
      if (id > MAX_RULE_ID) throw new Conflict(undefined, `every rule id (1..${MAX_RULE_ID}) has been used`);
      return w.getSecurityGroup(g)!.rules.find((r) => r.id === id)!;
    });
    this.deps.log(ctx).info({ group, rule: rule.id, text: describeRule(rule) }, 'security group rule added');
    return { value: rule, network: await this.deps.apply() };
  }

  async deleteRule(group: string, id: number, ctx: OpContext = {}): Promise<Mutation<{ name: string }>> {
    await this.deps.store.write((w) => {
      const g = mustGetGroup(w, group, ctx);
      if (!w.deleteSecurityRule(g, id)) throw new NotFound('rule', `${id} in security group '${group}'`);
    });
    this.deps.log(ctx).info({ group, rule: id }, 'security group rule deleted');
    return { value: { name: `${group}/${id}` }, network: await this.deps.apply() };
  }

  /** Replaces a VM's groups (none = default). */
  async setVmGroups(vm: string, groups: readonly string[], ctx: OpContext = {}): Promise<Mutation<readonly string[]>> {
    const now = await this.deps.store.write((w) => {
      const record = w.getVm(inRequestProject(vm, ctx));
      if (!record) throw new NotFound('vm', vm);
      const checked = vmGroups(w, groups, projectOf(record));
      w.setVmSecurityGroups(record, checked);
      return w.getVm(record)!.securityGroups ?? [];
    });
    this.deps.log(ctx).info({ vm, groups: now }, 'VM security groups set');
    return { value: now, network: await this.deps.apply() };
  }
}

/**
 * The groups a VM of `project` is given, checked against the store (CloudService.createVm uses this too): groups of
 * its own project only; none = the project's default group.
 */
export function vmGroups(r: StoreReader, groups: readonly string[] | undefined, project: string = DEFAULT_PROJECT): string[] {
  const list = groups ?? [];
  if (list.length === 0) return [projectDefaultGroup(project)];
  if (list.length > MAX_GROUPS_PER_VM) throw new Invalid('securityGroups', `at most ${MAX_GROUPS_PER_VM} security groups per VM`);
  if (new Set(list).size !== list.length) throw new Invalid('securityGroups', 'a security group is listed twice');
  for (const g of list) {
    if (!matchesRule(STORED_NAME, g)) throw new Invalid('securityGroups', nameProblem(STORED_NAME, g, 'security group name')!);
    // A group of the VM's project by that name: another project's group of the same name is not one.
    if (!r.getSecurityGroup({ project, name: g })) throw new Invalid('securityGroups', `no security group named '${g}'${project === DEFAULT_PROJECT ? '' : ` in project '${project}'`}`);
  }
  return [...list].sort();
}

/** A group's key in membersByGroup: its project and name. */
const memberKey = (g: { readonly project?: string; readonly name: string }): string => `${projectOf(g)}/${g.name}`;

/** Member VM names by group (memberKey): a VM's groups are of its project. */
function membersByGroup(r: StoreReader): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const v of r.listVms()) {
    for (const g of v.securityGroups ?? []) {
      const key = memberKey({ project: projectOf(v), name: g });
      let l = out.get(key);
      if (!l) out.set(key, (l = []));
      l.push(v.name);
    }
  }
  return out;
}

/** `name` in the request's project (the default project when it names none): see lookup.ts scopedName. */
function inRequestProject(name: string, ctx: OpContext): ScopedName {
  return { project: ctx.project ?? DEFAULT_PROJECT, name };
}

function mustGetGroup(r: StoreReader | StoreWriter, name: string, ctx: OpContext = {}): SecurityGroupRecord {
  const g = r.getSecurityGroup(inRequestProject(name, ctx));
  if (!g) throw new NotFound('security group', name);
  return g;
}

/** Only what the rule means: no port fields for a rule without ports. */
function normalised(spec: SecurityRuleSpec): SecurityRuleSpec {
  return {
    direction: spec.direction,
    protocol: spec.protocol,
    ...(spec.portMin !== undefined && { portMin: spec.portMin, portMax: spec.portMax! }),
    ...(spec.icmpType !== undefined && { icmpType: spec.icmpType }),
    ...(spec.icmpCode !== undefined && { icmpCode: spec.icmpCode }),
    ...(spec.remoteCidr !== undefined && { remoteCidr: spec.remoteCidr }),
    ...(spec.remoteGroup !== undefined && { remoteGroup: spec.remoteGroup }),
  };
}

/** The request field a rule problem is about (for the 400's `field`). */
function ruleField(problem: string): string {
  if (problem.startsWith('direction')) return 'direction';
  if (problem.startsWith('protocol')) return 'protocol';
  if (problem.includes('ICMP code')) return 'icmpCode';
  if (problem.startsWith('ICMP') || problem.startsWith('an ICMP')) return 'icmpType';
  if (problem.includes('port')) return 'portMin';
  if (problem.startsWith('remote group')) return 'remoteGroup';
  if (problem.startsWith('remote')) return 'remoteCidr';
  return 'remote';
}
