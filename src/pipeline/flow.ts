// Building FlowMods: actions, instructions, and `flow()`, which fills the fixed FlowMod fields and checks the row
// against the pipeline declaration (declared table, forward goto only).
import { OFP_NO_BUFFER, OFPFC, OFPG, OFPP, type Action, type FieldRef, type FlowMod, type Instruction, type Match, type OxmField } from '../openflow/index.js';
import { checkGoto, tableDecl } from './tables.js';

// Small immutable pieces are interned: a 10,000-VM cloud references the same few hundred port outputs and gotos
// millions of times, and fewer objects means less garbage-collector work on a large heap.
const outputs = new Map<number, Action>();
export function output(port: number): Action {
  let a = outputs.get(port);
  if (!a) outputs.set(port, (a = { type: 'output', port, maxLen: 0 }));
  return a;
}
const gotos = new Map<number, Instruction>();
function gotoTable(tableId: number): Instruction {
  let i = gotos.get(tableId);
  if (!i) gotos.set(tableId, (i = { type: 'goto_table', tableId }));
  return i;
}
export const OUTPUT_IN_PORT = output(OFPP.IN_PORT);
export const OUTPUT_LOCAL = output(OFPP.LOCAL);

/** OF1.3 set_field (for fields with a standard OXM: eth_*, arp_*, tun_id). */
export const setField = (field: OxmField): Action => ({ type: 'set_field', field });

/** Nicira reg_load of a whole field (used where OF1.3 has no OXM: tun_ipv4_dst). */
export const load = (dst: FieldRef, nBits: number, value: number | bigint): Action => ({
  type: 'nx_reg_load',
  ofs: 0,
  nBits,
  dst,
  value: BigInt(value),
});

/** Nicira reg_move of a whole field (OF1.3 has no copy-field). */
export const move = (src: FieldRef, dst: FieldRef, nBits: number): Action => ({
  type: 'nx_reg_move',
  nBits,
  srcOfs: 0,
  dstOfs: 0,
  src,
  dst,
});

/** OF1.3 dec_nw_ttl: routed packets lose a hop as they would through a router. */
export const DEC_TTL: Action = { type: 'dec_nw_ttl' };

export interface FlowSpec {
  readonly table: number;
  readonly priority: number;
  readonly cookie: bigint;
  readonly match: Match;
  /** Applied in order (apply_actions). None and no goto = drop. */
  readonly actions?: readonly Action[];
  readonly goto?: number;
  /** OF1.3 meter instruction (applied before the actions: packets over the meter's rate are dropped). */
  readonly meter?: number;
}

/** A FlowMod (OFPFC_ADD, no timeouts, no buffer) for one pipeline row. */
export function flow(spec: FlowSpec): FlowMod {
  tableDecl(spec.table);
  if (spec.goto !== undefined) checkGoto(spec.table, spec.goto);
  const apply: Instruction | undefined = spec.actions?.length ? { type: 'apply_actions', actions: spec.actions } : undefined;
  const go = spec.goto === undefined ? undefined : gotoTable(spec.goto);
  // Array literals, not pushes: a node keeps thousands of these flows, and a pushed-to array keeps its growth slack.
  const plain: Instruction[] = apply && go ? [apply, go] : apply ? [apply] : go ? [go] : [];
  const instructions = spec.meter === undefined ? plain : [{ type: 'meter', meterId: spec.meter } as const, ...plain];
  return {
    type: 'flow_mod',
    cookie: spec.cookie,
    cookieMask: 0n,
    tableId: spec.table,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: spec.priority,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: spec.match,
    instructions,
  };
}
