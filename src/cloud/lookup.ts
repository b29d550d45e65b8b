// A record by name, or NotFound: the 404s of every operation.
import type { NodeRecord, SubnetRecord, VmRecord } from '../topology/records.js';
import { DEFAULT_PROJECT } from '../topology/projects.js';
import type { ScopedName, StoreReader } from '../topology/store.js';
import type { OpContext } from './collaborators.js';
import { NotFound } from './errors.js';

/**
 * The subnet, VM or security group a request names: `name` in the request's project, the default project when it
 * names none (an admin's request without a project). Names are unique per project only: a name is never looked up
 * across projects, so another project's record of the same name is never the answer.
 */
export function scopedName(name: string, ctx: OpContext): ScopedName {
  return { project: ctx.project ?? DEFAULT_PROJECT, name };
}

export function mustGetNode(r: StoreReader, name: string): NodeRecord {
  const n = r.getNode(name);
  if (!n) throw new NotFound('node', name);
  return n;
}

export function mustGetSubnet(r: StoreReader, ref: ScopedName): SubnetRecord {
  const s = r.getSubnet(ref);
  if (!s) throw new NotFound('subnet', ref.name);
  return s;
}

export function mustGetVm(r: StoreReader, ref: ScopedName): VmRecord {
  const v = r.getVm(ref);
  if (!v) throw new NotFound('vm', ref.name);
  return v;
}
