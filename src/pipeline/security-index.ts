// Security groups indexed for compiling: each group with its members (the VMs whose addresses a remote-group rule
// allows, kept current with every VM change) and each VM's groups, resolved (`default` when none was given).
import type { SecurityGroup } from '../topology/model.js';
import { groupsOf } from '../topology/security-groups.js';
import type { VmInfo } from './cloud-index.js';

export interface GroupInfo {
  readonly group: SecurityGroup;
  /** In name order. */
  readonly members: readonly VmInfo[];
}

export interface SecurityIndex {
  readonly groups: ReadonlyMap<string, GroupInfo>;
  /** VM name -> its groups, in name order. */
  readonly vmGroups: ReadonlyMap<string, readonly GroupInfo[]>;
}

/** vmList in name order (the members come out in that order). Groups and memberships were validated before. */
export function indexSecurityGroups(groups: readonly SecurityGroup[], vmList: readonly VmInfo[]): SecurityIndex {
  const members = new Map<string, VmInfo[]>(groups.map((g) => [g.name, []]));
  for (const v of vmList) for (const g of groupsOf(v.vm)) members.get(g)?.push(v);
  const infos = new Map<string, GroupInfo>(
    [...groups].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((g) => [g.name, { group: g, members: members.get(g.name)! }]),
  );
  const vmGroups = new Map<string, GroupInfo[]>();
  for (const v of vmList) {
    const mine = [...groupsOf(v.vm)].sort().flatMap((g) => infos.get(g) ?? []);
    vmGroups.set(v.vm.name, mine);
  }
  return { groups: infos, vmGroups };
}
