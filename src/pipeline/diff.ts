// Diffing two flow lists the way OVN's ofctrl does: a flow's identity is (table, priority, match); a flow present on
// both sides with other instructions or another cookie is modified, the rest deleted or added. Pure: the runtime
// turns the result into FLOW_MODs in a bundle.
import { OFPFC, type FlowMod, type OxmField } from '../openflow/index.js';

export interface FlowDiff {
  /** DELETE_STRICT of flows no longer wanted (match + priority + table identify them). */
  readonly deletes: readonly FlowMod[];
  /**
   * Flows whose (table, priority, match) stays but whose instructions or cookie change: MODIFY_STRICT when the cookie
   * is the same (keeps the counters), ADD when the cookie changes (OF1.3's modify never rewrites a cookie; an ADD
   * of an identical match replaces the flow).
   */
  readonly modifies: readonly FlowMod[];
  readonly adds: readonly FlowMod[];
}

export const EMPTY_DIFF: FlowDiff = { deletes: [], modifies: [], adds: [] };

export function diffSize(d: FlowDiff): number {
  return d.deletes.length + d.modifies.length + d.adds.length;
}

const keys = new WeakMap<FlowMod, string>();

const hex = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
};

const fieldKey = (f: OxmField): string =>
  `${f.field}${f.header !== undefined ? `#${f.header}` : ''}=${hex(f.value)}${f.mask ? `/${hex(f.mask)}` : ''}`;

/** The flow's identity: table, priority and match (field order does not matter). Cached per object. */
export function flowKey(f: FlowMod): string {
  let k = keys.get(f);
  if (k === undefined) {
    const fields = f.match.map(fieldKey);
    if (fields.length > 1) fields.sort();
    k = `${f.tableId}/${f.priority}/${fields.join(',')}`;
    keys.set(f, k);
  }
  return k;
}

/** True when two flows with the same key need no change: same cookie, same instructions. */
export function sameFlow(a: FlowMod, b: FlowMod): boolean {
  return a === b || (a.cookie === b.cookie && deepEqual(a.instructions, b.instructions));
}

export function diffFlows(installed: readonly FlowMod[], desired: readonly FlowMod[]): FlowDiff {
  if (installed === desired) return EMPTY_DIFF;
  const have = new Map<string, FlowMod>();
  for (const f of installed) have.set(flowKey(f), f);
  const adds: FlowMod[] = [];
  const modifies: FlowMod[] = [];
  const wanted = new Set<string>();
  for (const f of desired) {
    const k = flowKey(f);
    if (wanted.has(k)) continue; // a duplicate in desired: the first one wins
    wanted.add(k);
    const old = have.get(k);
    if (!old) adds.push(f);
    else if (!sameFlow(old, f)) modifies.push(old.cookie === f.cookie ? { ...f, command: OFPFC.MODIFY_STRICT } : f);
  }
  const deletes: FlowMod[] = [];
  for (const [k, f] of have) {
    if (!wanted.has(k)) deletes.push({ ...f, command: OFPFC.DELETE_STRICT, cookieMask: 0n, instructions: [] });
  }
  return { deletes, modifies, adds };
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}
