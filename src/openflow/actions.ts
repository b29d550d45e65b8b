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
import { checkAction, checkDeprecatedAction, NX_DEBUG_SUBTYPES, ovsKnowsExperimenterAction, ovsKnowsStandardAction, rawActionLengths, verifyActions } from './action-check.js';

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

/** The whole TLV of an action kept verbatim: a view, like Reader.bytes. */
const rawAction = (r: Reader, start: number, len: number): Uint8Array => new Uint8Array(r.buf.buffer, r.buf.byteOffset + start, len);

/**
 * Decodes one action TLV at `r.pos` (`r` bounded to the action list) in ofpact_pull_raw's order: which action it
 * is (OFPBAC_BAD_TYPE, BAD_VENDOR, BAD_VENDOR_TYPE), then its length (BAD_LEN), then its body and the checks
 * action-check.ts makes on it.
 */
function decodeOne(r: Reader, depth: number): Action {
  const start = r.pos;
  if (r.remaining < 8) throw badLen(`action: ${r.remaining} bytes left, an action needs at least 8`, start);
  const type = r.u16At(start);
  const len = r.u16At(start + 2);
  let d: ActionDecoder | undefined;
  let experimenter: number | undefined;
  if (type !== OFPAT.EXPERIMENTER) {
    d = standardByType.get(type);
    if (!d || !ovsKnowsStandardAction(type)) {
      if (ovsKnowsStandardAction(type)) checkDeprecatedAction(r, start, type, len);
      throw new CodecError(`unknown action type ${type}`, OFPET.BAD_ACTION, OFPBAC.BAD_TYPE, start);
    }
  } else {
    experimenter = r.u32At(start + 4);
    const subtypes = experimenterDecoders.get(experimenter);
    if (!subtypes) throw new CodecError(`unknown action experimenter 0x${experimenter.toString(16)}`, OFPET.BAD_ACTION, OFPBAC.BAD_EXPERIMENTER, start);
    if (r.remaining < 16) throw badLen(`experimenter 0x${experimenter.toString(16)} action: ${r.remaining} bytes left, needs 16`, start);
    const subtype = r.u16At(start + 8);
    d = subtypes.get(subtype);
    if (!ovsKnowsExperimenterAction(experimenter, subtype)) throw new CodecError(`unknown ${nameOf(r, start)}`, OFPET.BAD_ACTION, OFPBAC.BAD_EXP_TYPE, start);
  }
  let min: number;
  let max: number;
  if (d) {
    min = d.min;
    max = d.max;
  } else [min, max] = rawActionLengths(r.u16At(start + 8));
  if (len > r.remaining || len < min || len > max || len % 8 !== 0) throw lengthError(r, start, len, min, max);
  const body = r.sub(len, 'action', OFPET.BAD_ACTION, OFPBAC.BAD_LEN);
  if (!d) {
    // An extension OVS knows that the codec does not model (bundle, encap, ...): kept verbatim; the debugging ones
    // (which ovs-ofctl refuses) after their length.
    if (NX_DEBUG_SUBTYPES.has(r.u16At(start + 8))) throw new CodecError(`${nameOf(r, start)}: a debugging action`, OFPET.BAD_ACTION, OFPBAC.BAD_EXP_TYPE, start);
    return { type: 'experimenter', experimenter: experimenter!, subtype: r.u16At(start + 8), raw: rawAction(r, start, len) };
  }
  body.pos += experimenter === undefined ? 4 : 10;
  const a = d.decode(body, start, depth);
  checkAction(a, r.buf, start, len);
  return a;
}

/** The action at `start` for an error message. */
const nameOf = (r: Reader, start: number): string =>
  r.u16At(start) === OFPAT.EXPERIMENTER ? `experimenter 0x${r.u32At(start + 4).toString(16)} subtype ${r.u16At(start + 8)}` : `action type ${r.u16At(start)}`;

/** ofpact_pull_raw's length checks, in its order: inside the list, within the action's bounds, a multiple of 8. */
function lengthError(r: Reader, start: number, len: number, min: number, max: number): CodecError {
  const what = nameOf(r, start);
  if (len > r.remaining) return badLen(`${what}: length ${len} overruns the ${r.remaining} bytes left`, start);
  if (len < min) return badLen(`${what}: length ${len} below minimum ${min}`, start);
  if (len > max) return badLen(`${what}: length ${len} above maximum ${max}`, start);
  return badLen(`${what}: length ${len} not a multiple of 8`, start);
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

/**
 * Decodes `length` bytes of an instruction's actions at `r.pos` and moves `r` past them, without the list checks
 * (ofpacts_decode): instructions.ts verifies the flow's actions as a whole.
 */
export function decodeInstructionActions(r: Reader, length: number): Action[] {
  return decodeActionList(r, length, 0);
}

/**
 * Decodes an action list of `length` bytes at `r.pos` (a packet-out's, a bucket's) and moves `r` past it, as
 * ofpacts_pull_openflow_actions does: each action, then the list as a whole (verifyActions).
 */
export function decodeActions(r: Reader, length: number): Action[] {
  const actions = decodeActionList(r, length, 0);
  verifyActions(actions, false);
  return actions;
}