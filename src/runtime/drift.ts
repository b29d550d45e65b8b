// Which of the changes a sync from the switch found are drift: the switch no longer holding what our last commit
// installed (flows, groups, meters deleted or changed behind our back), or holding entries of ours we never installed.
// The rest are changes of the desired state itself (a model change that a sync reading the switch happened to carry).
// Told apart by the connection's cache of its last commit: a map lookup per change, nothing per unchanged flow.
import type { FlowPlan, GroupPlan, InstalledState, MeterPlan, Ownership } from './diff.js';
import { installCookie } from './diff.js';
import { encodedFlow, groupFingerprint, meterFingerprint } from './flow-key.js';

export function countDrift(cached: InstalledState, flows: FlowPlan, groups: GroupPlan, meters: MeterPlan, own: Ownership): number {
  let drift = 0;
  // Gone from the switch although our last commit had it.
  for (const f of flows.adds) if (cached.flows.has(encodedFlow(f).key)) drift++;
  // Changed on the switch although our last commit had it exactly as desired now.
  for (const list of [flows.modifies, flows.replaces]) {
    for (const f of list) {
      const e = encodedFlow(f);
      const had = cached.flows.get(e.key);
      if (had !== undefined && had.fp === e.fp && had.attrs === e.attrs && had.cookie === installCookie(f, own, e)) drift++;
    }
  }
  // In our cookie space on the switch, never installed by us.
  for (const f of flows.deletes) if (!cached.flows.has(f.key)) drift++;
  if (cached.groups) {
    for (const g of groups.adds) if (cached.groups.has(g.groupId)) drift++;
    for (const g of groups.modifies) if (cached.groups.get(g.groupId)?.fp === groupFingerprint(g)) drift++;
    for (const id of groups.deletes) if (!cached.groups.has(id)) drift++;
  }
  if (cached.meters) {
    for (const m of meters.adds) if (cached.meters.has(m.meterId)) drift++;
    for (const m of meters.modifies) if (cached.meters.get(m.meterId) === meterFingerprint(m)) drift++;
    for (const id of meters.deletes) if (!cached.meters.has(id)) drift++;
  }
  return drift;
}
