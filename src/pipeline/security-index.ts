// Security groups indexed for compiling: each group with its members (the VMs whose addresses a remote-group rule
// allows, kept current with every VM change) and each VM's groups, resolved (`default` when none was given).
// Generic over the member type so that cloud-index.ts (whose VmInfo it holds) is not imported back.
import type { SecurityGroup, Vm } from '../topology/model.js';
import { groupsOf } from '../topology/security-groups.js';

export interface GroupInfo<M extends { readonly vm: Vm }> {
  readonly group: SecurityGroup;
  /** In name order. */
  readonly members: readonly M[];
}

export interface SecurityIndex<M extends { readonly vm: Vm }> {
  readonly groups: ReadonlyMap<string, GroupInfo<M>>;
  /** VM name -> its groups, in name order. */
  readonly vmGroups: ReadonlyMap<string, readonly GroupInfo<M>[]>;
}

/** vmList in name order (the members come out in that order). Groups and memberships were validated before. */
export function indexSecurityGroups<M extends { readonly vm: Vm }>(groups: readonly SecurityGroup[], vmList: readonly M[]): SecurityIndex<M> {
  const members = new Map<string, M[]>(groups.map((g) => [g.name, []]));
  for (const v of vmList) for (const g of groupsOf(v.vm)) members.get(g)?.push(v);
  const infos = new Map<string, GroupInfo<M>>(
    [...groups].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((g) => [g.name, { group: g, members: members.get(g.name)! }]),
  );
  const vmGroups = new Map<string, GroupInfo<M>[]>();
  for (const v of vmList) {
    const mine = [...groupsOf(v.vm)].sort().flatMap((g) => infos.get(g) ?? []);
    vmGroups.set(v.vm.name, mine);
  }
  return { groups: infos, vmGroups };
}
