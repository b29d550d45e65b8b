// Security groups: named sets of allow rules, and the VMs that are members. A VM's traffic is allowed when a rule of
// any of its groups allows it (rules only allow; what no rule allows is dropped), statefully: the replies of an
// allowed connection are allowed in both directions. Every VM not given a group is in `default`, which allows all
// egress and ingress from members of `default` (what OpenStack, OVN and AWS call the default group). Plain data and
// checks; the pipeline compiles it (src/pipeline/stages/security-groups.ts), the store keeps it.
import { parseCidr, type SecurityGroup, type SecurityRule, type SgDirection, type SgProtocol } from './model.js';

export type { SecurityGroup, SecurityRule, SgDirection, SgProtocol };

export const SG_DIRECTIONS: readonly SgDirection[] = ['ingress', 'egress'];
export const SG_PROTOCOLS: readonly SgProtocol[] = ['tcp', 'udp', 'icmp', 'any'];

/** The group every VM not given one is in. It can be edited, never deleted. */
export const DEFAULT_GROUP = 'default';

/** Group ids are 16 bits and rule ids 24 bits: both go into the cookie of every flow a rule makes (cookie.ts). */
export const MAX_GROUP_ID = 0xffff;
export const MAX_RULE_ID = 0xffffff;
/** Bounds that keep one group's flows in proportion (each rule is at least one flow per member VM and node). */
export const MAX_RULES_PER_GROUP = 100;
export const MAX_GROUPS_PER_VM = 8;

/** A rule as asked for (no id yet). */
export type SecurityRuleSpec = Omit<SecurityRule, 'id'>;

/** The rules `default` has (and has after the store migration): all egress, ingress from members of default. */
export function defaultGroupRules(): SecurityRuleSpec[] {
  return [
    { direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' },
    { direction: 'ingress', protocol: 'any', remoteGroup: DEFAULT_GROUP },
  ];
}

/** A new group's one rule (as Neutron makes it): all egress. It can be deleted like any other. */
export function newGroupRules(): SecurityRuleSpec[] {
  return [{ direction: 'egress', protocol: 'any', remoteCidr: '0.0.0.0/0' }];
}

/** A VM's groups: the ones it was given, or `default`. */
export function groupsOf(vm: { readonly securityGroups?: readonly string[] }): readonly string[] {
  return vm.securityGroups?.length ? vm.securityGroups : DEFAULT_ONLY;
}
const DEFAULT_ONLY: readonly string[] = Object.freeze([DEFAULT_GROUP]);

/** Everything wrong with one rule (empty when it is sound); `groups` = the names a remote group may refer to. */
export function ruleProblems(rule: SecurityRuleSpec, groups?: ReadonlySet<string>): string[] {
  const p: string[] = [];
  if (!SG_DIRECTIONS.includes(rule.direction)) p.push(`direction must be one of ${SG_DIRECTIONS.join(', ')}, not '${String(rule.direction)}'`);
  if (!SG_PROTOCOLS.includes(rule.protocol)) p.push(`protocol must be one of ${SG_PROTOCOLS.join(', ')}, not '${String(rule.protocol)}'`);
  const hasMin = rule.portMin !== undefined;
  const hasMax = rule.portMax !== undefined;
  if (hasMin || hasMax) {
    if (rule.protocol !== 'tcp' && rule.protocol !== 'udp') p.push(`a port applies to tcp and udp only, not to '${String(rule.protocol)}'`);
    else if (!hasMin || !hasMax) p.push('a port range needs both ends (portMin and portMax)');
    else {
      for (const n of [rule.portMin!, rule.portMax!]) if (!Number.isInteger(n) || n < 1 || n > 65535) p.push(`port ${n} out of range 1..65535`);
      if (rule.portMin! > rule.portMax!) p.push(`port range ${rule.portMin}-${rule.portMax} is backwards`);
    }
  }
  if (rule.icmpType !== undefined || rule.icmpCode !== undefined) {
    if (rule.protocol !== 'icmp') p.push(`an ICMP type or code applies to icmp only, not to '${String(rule.protocol)}'`);
    else if (rule.icmpType === undefined) p.push('an ICMP code needs a type (icmpType)');
    for (const [name, n] of [['type', rule.icmpType], ['code', rule.icmpCode]] as const) {
      if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > 255)) p.push(`ICMP ${name} ${n} out of range 0..255`);
    }
  }
  if ((rule.remoteCidr === undefined) === (rule.remoteGroup === undefined)) p.push('a rule needs exactly one remote: a CIDR or a group');
  if (rule.remoteCidr !== undefined) {
    try {
      parseCidr(rule.remoteCidr);
    } catch (e) {
      p.push(`remote ${(e as Error).message}`);
    }
  }
  if (rule.remoteGroup !== undefined && groups && !groups.has(rule.remoteGroup)) p.push(`remote group '${rule.remoteGroup}' does not exist`);
  return p;
}

/** True when two rules allow exactly the same traffic (a duplicate is refused, as Neutron does). */
export function sameRule(a: SecurityRuleSpec, b: SecurityRuleSpec): boolean {
  return (
    a.direction === b.direction &&
    a.protocol === b.protocol &&
    a.portMin === b.portMin &&
    a.portMax === b.portMax &&
    a.icmpType === b.icmpType &&
    a.icmpCode === b.icmpCode &&
    a.remoteCidr === b.remoteCidr &&
    a.remoteGroup === b.remoteGroup
  );
}

/** The rule in the CLI's words: 'ingress tcp 22 from 10.0.0.0/8', 'ingress icmp 8/0 from group web', 'egress any to ...'. */
export function describeRule(r: SecurityRuleSpec): string {
  const ports =
    r.icmpType !== undefined
      ? ` ${icmpText(r)}`
      : r.portMin === undefined
        ? ''
        : r.portMin === r.portMax
          ? ` ${r.portMin}`
          : ` ${r.portMin}-${r.portMax}`;
  const remote = r.remoteGroup !== undefined ? `group ${r.remoteGroup}` : r.remoteCidr;
  return `${r.direction} ${r.protocol}${ports} ${r.direction === 'ingress' ? 'from' : 'to'} ${remote}`;
}

/** An ICMP rule's type and code as the CLI writes them: '8', '3/4' ('' for any type). */
export function icmpText(r: { readonly icmpType?: number; readonly icmpCode?: number }): string {
  if (r.icmpType === undefined) return '';
  return r.icmpCode === undefined ? String(r.icmpType) : `${r.icmpType}/${r.icmpCode}`;
}

/** Everything wrong with a cloud's groups and its VMs' memberships (validateCloud calls this). */
export function securityGroupProblems(
  groups: readonly SecurityGroup[],
  vms: readonly { readonly name: string; readonly securityGroups?: readonly string[] }[],
): string[] {
  const p: string[] = [];
  const names = new Set<string>();
  const groupIds = new Set<number>();
  const ruleIds = new Set<number>();
  for (const g of groups) {
    if (names.has(g.name)) p.push(`duplicate security group '${g.name}'`);
    names.add(g.name);
    if (!Number.isInteger(g.id) || g.id < 1 || g.id > MAX_GROUP_ID) p.push(`security group '${g.name}': id ${g.id} out of range 1..${MAX_GROUP_ID}`);
    else if (groupIds.has(g.id)) p.push(`security group '${g.name}': duplicate id ${g.id}`);
    groupIds.add(g.id);
  }
  for (const g of groups) {
    for (const r of g.rules) {
      if (!Number.isInteger(r.id) || r.id < 1 || r.id > MAX_RULE_ID) p.push(`security group '${g.name}': rule id ${r.id} out of range 1..${MAX_RULE_ID}`);
      else if (ruleIds.has(r.id)) p.push(`security group '${g.name}': duplicate rule id ${r.id}`);
      ruleIds.add(r.id);
      for (const q of ruleProblems(r, names)) p.push(`security group '${g.name}' rule ${r.id}: ${q}`);
    }
  }
  for (const v of vms) {
    const own = v.securityGroups ?? [];
    if (own.length > MAX_GROUPS_PER_VM) p.push(`VM '${v.name}': more than ${MAX_GROUPS_PER_VM} security groups`);
    for (const g of own) if (!names.has(g)) p.push(`VM '${v.name}': unknown security group '${g}'`);
    if (new Set(own).size !== own.length) p.push(`VM '${v.name}': a security group listed twice`);
    if (!v.securityGroups?.length && !names.has(DEFAULT_GROUP)) p.push(`VM '${v.name}': no security group and no '${DEFAULT_GROUP}' group`);
  }
  return p;
}

/** '10.0.0.0/8' -> [network, mask] as numbers (the match a CIDR remote becomes). */
export function cidrMatch(cidr: string): { readonly network: number; readonly mask: number } {
  const c = parseCidr(cidr);
  return { network: c.network, mask: c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0 };
}

/**
 * A port range as the fewest (value, mask) pairs that cover it exactly (the way OVN and Neutron match ranges):
 * 80 -> [80/0xffff]; 1024-65535 -> 6 pairs; 1-65535 -> 16.
 */
export function portMasks(min: number, max: number): { readonly value: number; readonly mask: number }[] {
  const out: { value: number; mask: number }[] = [];
  let lo = min;
  while (lo <= max) {
    let size = 1;
    // The largest aligned power-of-two block starting at lo that stays inside the range.
    while (size < 0x10000 && lo % (size * 2) === 0 && lo + size * 2 - 1 <= max) size *= 2;
    out.push({ value: lo, mask: 0xffff & ~(size - 1) });
    lo += size;
  }
  return out;
}

