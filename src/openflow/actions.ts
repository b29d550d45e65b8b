// OpenFlow 1.3 actions plus the Nicira (NXAST_*) and ONF extensions Open vSwitch speaks, binary form: the registry.
//
// Two registries: encoders keyed by `Action['type']` (a mapped type, so every variant must have exactly one entry,
// its length and its writer: the one place its wire format is written) and decoders
// keyed by wire code (standard OFPAT, Nicira subtype, ONF subtype). Several wire codes can decode to one action
// type (e.g. NXAST_RESUBMIT / RESUBMIT_TABLE / RESUBMIT_TABLE_CT all become 'nx_resubmit'); each encoder picks the
// code from the action's fields so that encode(decode(b)) reproduces b.
//
// The entries live in one file per concern: actions-standard.ts (OFPAT_*), actions-nicira.ts (NXAST_* and ONF's
// copy_field), actions-conntrack.ts (ct, ct_clear, nat), actions-learn.ts; action-wire.ts holds what they share.
// clone and ct nest action lists: they get this file's list functions when the table is built (NestedActions),
// so no concern file imports the registry back.
//
// Lengths are validated the way ofp-actions.c does: every action is at least 8 bytes, a multiple of 8, inside the
// buffer, and within its own type's minimum/maximum; otherwise CodecError(OFPET_BAD_ACTION, OFPBAC_BAD_LEN).
// The encode path allocates nothing: lengths are arithmetic on the action, writes go straight into the buffer.

import { OFPET, OFPBAC, NX_VENDOR_ID, ONF_EXPERIMENTER_ID } from './consts.js';
import { OFPAT } from './action-consts.js';
import { CodecError } from './errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';
import type { Action } from './types.js';
import { badLen, type ActionDecoder, type ActionEncoder, type DecoderEntries, type EncoderTable, type NestedActions } from './action-wire.js';
import { standardDecoders, standardEncoders } from './actions-standard.js';
import { niciraActions } from './actions-nicira.js';
import { conntrackActions } from './actions-conntrack.js';
import { learnDecoders, learnEncoders } from './actions-learn.js';

export { ofsNbits } from './action-wire.js';

/** Deepest clone/ct nesting accepted on decode; deeper input is rejected instead of recursing further. */
export const MAX_ACTION_NESTING = 16;

const nested: NestedActions = { length: actionsEncodingLength, encode: encodeActions, decode: decodeActionList };
const nicira = niciraActions(nested);
const conntrack = conntrackActions(nested);

const encoderParts = [standardEncoders, nicira.encoders, conntrack.encoders, learnEncoders];
onlyOnce(encoderParts.flatMap((part) => Object.keys(part)), 'action type');
const encoders: EncoderTable = { ...standardEncoders, ...nicira.encoders, ...conntrack.encoders, ...learnEncoders };

/** Two concern files claiming one action type or wire code would silently replace each other in the table. */
function onlyOnce(keys: readonly (string | number)[], what: string): void {
  const seen = new Set<string | number>();
  for (const k of keys) {
    if (seen.has(k)) throw new Error(`actions: ${what} ${k} registered twice`);
    seen.add(k);
  }
}

/**
 * The table's entry for an action. The three actions flows are mostly made of are picked by comparing the type
 * string first: a keyed load for every action (megamorphic, so their `put` is not inlined either) measured 1.6x
 * the CPU time per seed FLOW_MOD.
 */
function encoderFor<A extends Action>(a: A): ActionEncoder<A> {
  const t = a.type;
  if (t === 'set_field') return encoders.set_field as unknown as ActionEncoder<A>;
  if (t === 'output') return encoders.output as unknown as ActionEncoder<A>;
  if (t === 'nx_reg_move') return encoders.nx_reg_move as unknown as ActionEncoder<A>;
  return entryOf(t) as ActionEncoder<A>;
}

function entryOf(type: string): ActionEncoder<Action> {
  if (!Object.hasOwn(encoders, type)) throw new TypeError(`unknown action type ${JSON.stringify(type)}`);
  return (encoders as Readonly<Record<string, ActionEncoder<Action>>>)[type]!;
}

/** Total bytes `encodeActions` writes for `actions`. */
export function actionsEncodingLength(actions: readonly Action[]): number {
  let n = 0;
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i]!;
    n += encoderFor(a).length(a);
  }
  return n;
}

/** Length of a single action TLV. */
export function actionEncodingLength(a: Action): number {
  return encoderFor(a).length(a);
}

export function encodeActions(w: Writer, actions: readonly Action[]): void {
  w.pos = putActions(w.view, w.pos, actions, w.buf.length);
}

/** Writes `actions` at `p` in `d` (`limit` is d.byteLength); returns the end. */
export function putActions(d: DataView, p: number, actions: readonly Action[], limit: number): number {
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i]!;
    p = encoderFor(a).put(d, p, a, limit);
  }
  return p;
}

const decoderTable = (entries: DecoderEntries, what: string): Map<number, ActionDecoder> => {
  onlyOnce(entries.map(([code]) => code), what);
  return new Map(entries);
};
const standardByType = decoderTable(standardDecoders, 'OFPAT type');
const nxDecoders = decoderTable([...nicira.nxDecoders, ...conntrack.nxDecoders, ...learnDecoders], 'NXAST subtype');
const onfDecoders = decoderTable(nicira.onfDecoders, 'ONF subtype');

/** Subtype registries by experimenter id; experimenters not listed here are kept raw without a subtype. */
const experimenterDecoders = new Map<number, Map<number, ActionDecoder>>([
  [NX_VENDOR_ID, nxDecoders],
  [ONF_EXPERIMENTER_ID, onfDecoders],
]);

/** Rejects a length outside the decoder's bounds; `experimenter` and `subtype` only name the action in the error. */
function checkLength(d: ActionDecoder, len: number, type: number, at: number, experimenter?: number): void {
  if (len >= d.min && len <= d.max) return;
  const what = experimenter === undefined ? `action type ${type}` : `experimenter 0x${experimenter.toString(16)} subtype ${type}`;
  if (len < d.min) throw badLen(`${what}: length ${len} below minimum ${d.min}`, at);
  throw badLen(`${what}: length ${len} above maximum ${d.max}`, at);
}

/** The whole TLV of an action kept verbatim: a view, like Reader.bytes. */
const rawAction = (r: Reader, start: number, len: number): Uint8Array => new Uint8Array(r.buf.buffer, r.buf.byteOffset + start, len);

/** Decodes one action TLV at `r.pos`; `r` must be bounded to the action list. */
function decodeOne(r: Reader, depth: number): Action {
  const start = r.pos;
  if (r.remaining < 8) throw badLen(`action: ${r.remaining} bytes left, an action needs at least 8`, start);
  const type = r.u16At(start);
  const len = r.u16At(start + 2);
  if (len < 8) throw badLen(`action type ${type}: length ${len} below 8`, start);
  if (len % 8 !== 0) throw badLen(`action type ${type}: length ${len} not a multiple of 8`, start);
  if (len > r.remaining) throw badLen(`action type ${type}: length ${len} overruns the ${r.remaining} bytes left`, start);
  const body = r.sub(len, 'action', OFPET.BAD_ACTION, OFPBAC.BAD_LEN);
  body.pos += 4;

  if (type !== OFPAT.EXPERIMENTER) {
    const d = standardByType.get(type);
    if (!d) throw new CodecError(`unknown action type ${type}`, OFPET.BAD_ACTION, OFPBAC.BAD_TYPE, start);
    checkLength(d, len, type, start);
    return d.decode(body, start, depth);
  }

  const experimenter = body.u32();
  const subtypes = experimenterDecoders.get(experimenter);
  if (!subtypes) return { type: 'experimenter', experimenter, raw: rawAction(r, start, len) };
  if (len < 16) throw badLen(`experimenter 0x${experimenter.toString(16)} action: length ${len} below 16`, start);
  const subtype = body.u16();
  const d = subtypes.get(subtype);
  if (!d) return { type: 'experimenter', experimenter, subtype, raw: rawAction(r, start, len) };
  checkLength(d, len, subtype, start, experimenter);
  return d.decode(body, start, depth);
}

function decodeActionList(r: Reader, length: number, depth: number): Action[] {
  if (depth > MAX_ACTION_NESTING) {
    throw new CodecError(`actions nested more than ${MAX_ACTION_NESTING} deep`, OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT, r.pos);
  }
  const list = r.sub(length, 'actions', OFPET.BAD_ACTION, OFPBAC.BAD_LEN);
  const out: Action[] = [];
  while (list.remaining > 0) out.push(decodeOne(list, depth));
  return out;
}

/** Decodes `length` bytes of actions at `r.pos` and moves `r` past them. */
export function decodeActions(r: Reader, length: number): Action[] {
  return decodeActionList(r, length, 0);
}