// A record by name, or NotFound: the 404s of every operation.
import type { NodeRecord, SubnetRecord, VmRecord } from '../topology/records.js';
import type { StoreReader } from '../topology/store.js';
import { NotFound } from './errors.js';

export function mustGetNode(r: StoreReader, name: string): NodeRecord {
  const n = r.getNode(name);
  if (!n) throw new NotFound('node', name);
  return n;
}

export function mustGetSubnet(r: StoreReader, name: string): SubnetRecord {
  const s = r.getSubnet(name);
  if (!s) throw new NotFound('subnet', name);
  return s;
}

export function mustGetVm(r: StoreReader, name: string): VmRecord {
  const v = r.getVm(name);
  if (!v) throw new NotFound('vm', name);
  return v;
}
