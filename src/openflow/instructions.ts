// OpenFlow 1.3 instructions (ofp_instruction_*), binary form. Same shape as actions.ts: encoders keyed by
// `Instruction['type']`, decoders keyed by OFPIT, every length checked (OFPBIC_BAD_LEN), experimenter
// instructions kept verbatim.

import { OFPET, OFPBIC } from './consts.js';
import { OFPIT } from './action-consts.js';
import { CodecError } from './errors.js';
import { room, type Writer, writerAt } from './writer.js';
import { actionsEncodingLength, decodeInstructionActions, putActions } from './actions.js';
import { checkActionSet, onfError, ONFERR, verifyActions } from './action-check.js';
import type { Reader } from './reader.js';
import type { Action, Instruction } from './types.js';

type InstructionType = Instruction['type'];
type InstructionOf<T extends InstructionType> = Extract<Instruction, { readonly type: T }>;

/** How one instruction is written: the one place its wire format is encoded. */
interface InstructionEncoder<I extends Instruction> {
  readonly length: (i: I) => number;
  /** Writes the whole instruction at `p` in `d` (`limit` is d.byteLength); returns the end. */
  readonly put: (d: DataView, p: number, i: I, limit: number) => number;
}

/** An instruction's `put` written with a Writer's checked field writes. */
const viaWriter =
  <I extends Instruction>(encode: (w: Writer, i: I) => void): InstructionEncoder<I>['put'] =>
  (d, p, i) => {
    const w = writerAt(d, p);
    encode(w, i);
    return w.pos;
  };

const header = (w: Writer, type: number, len: number): void => {
  w.u16(type);
  w.u16(len);
};

const actionsInstruction = (type: number): InstructionEncoder<InstructionOf<'apply_actions' | 'write_actions'>> => ({
  length: (i) => 8 + actionsEncodingLength(i.actions),
  put: (d, p, i, limit) => putActionsInstruction(d, p, type, i.actions, limit),
});

const encoders: { readonly [T in InstructionType]: InstructionEncoder<InstructionOf<T>> } = {
  goto_table: {
    length: () => 8,
    put: (d, p, i, limit) => {
      room(limit, p + 8);
      d.setUint32(p, (OFPIT.GOTO_TABLE << 16) | 8);
      d.setUint32(p + 4, i.tableId << 24);
      return p + 8;
    },
  },
  write_metadata: {
    length: () => 24,
    put: viaWriter((w, i) => {
      header(w, OFPIT.WRITE_METADATA, 24);
      w.zeros(4);
      w.u64(i.metadata);
      w.u64(i.mask);
    }),
  },
  write_actions: actionsInstruction(OFPIT.WRITE_ACTIONS),
  apply_actions: actionsInstruction(OFPIT.APPLY_ACTIONS),
  clear_actions: {
    length: () => 8,
    put: viaWriter((w) => {
      header(w, OFPIT.CLEAR_ACTIONS, 8);
      w.zeros(4);
    }),
  },
  meter: {
    length: () => 8,
    put: viaWriter((w, i) => {
      header(w, OFPIT.METER, 8);
      w.u32(i.meterId);
    }),
  },
  experimenter: {
    length: (i) => i.raw.length,
    put: viaWriter((w, i) => w.bytes(i.raw)),
  },
};

/** The table's entry for an instruction; the two flows are mostly made of are picked first (see actions.ts). */
function encoderFor<I extends Instruction>(i: I): InstructionEncoder<I> {
  const t = i.type;
  if (t === 'apply_actions') return encoders.apply_actions as unknown as InstructionEncoder<I>;
  if (t === 'goto_table') return encoders.goto_table as unknown as InstructionEncoder<I>;
  if (!Object.hasOwn(encoders, t)) throw new TypeError(`unknown instruction type ${JSON.stringify(t)}`);
  return (encoders as unknown as Readonly<Record<string, InstructionEncoder<I>>>)[t]!;
}

export function instructionsEncodingLength(instructions: readonly Instruction[]): number {
  let n = 0;
  for (let k = 0; k < instructions.length; k++) {
    const i = instructions[k]!;
    n += encoderFor(i).length(i);
  }
  return n;
}

export function encodeInstructions(w: Writer, instructions: readonly Instruction[]): void {
  w.pos = putInstructions(w.view, w.pos, instructions, w.buf.length);
}

/** Writes `instructions` at `p` in `d` (`limit` is d.byteLength); returns the end. */
export function putInstructions(d: DataView, p: number, instructions: readonly Instruction[], limit: number): number {
  for (let k = 0; k < instructions.length; k++) {
    const i = instructions[k]!;
    p = encoderFor(i).put(d, p, i, limit);
  }
  return p;
}

/** apply_actions / write_actions: type and length go out after the actions, so they are walked once. */
function putActionsInstruction(d: DataView, p: number, type: number, actions: readonly Action[], limit: number): number {
  room(limit, p + 8);
  d.setUint32(p + 4, 0);
  const end = putActions(d, p + 8, actions, limit);
  d.setUint32(p, (type << 16) | ((end - p) & 0xffff));
  return end;
}

/** The length OVS requires of a fixed-size instruction (decode_openflow11_instruction); 0 for the action lists. */
function fixedLen(type: number): number {
  switch (type) {
    case OFPIT.GOTO_TABLE:
    case OFPIT.CLEAR_ACTIONS:
    case OFPIT.METER:
      return 8;
    case OFPIT.WRITE_METADATA:
      return 24;
    default:
      return 0;
  }
}

/** The order OVS decodes a flow's instructions in (ofpacts_pull_openflow_instructions): the order they run in. */
const DECODE_ORDER = [OFPIT.METER, OFPIT.APPLY_ACTIONS, OFPIT.CLEAR_ACTIONS, OFPIT.WRITE_ACTIONS, OFPIT.WRITE_METADATA, OFPIT.GOTO_TABLE] as const;

const badLen = (msg: string, at: number): CodecError => new CodecError(msg, OFPET.BAD_INSTRUCTION, OFPBIC.BAD_LEN, at);

/**
 * Decodes `length` bytes of instructions at `r.pos` and moves `r` past them, as Open vSwitch does
 * (ofpacts_pull_openflow_instructions): first every instruction's header in wire order (length, type, no type
 * twice: OFPBIC_BAD_LEN, UNKNOWN_INST, BAD_EXPERIMENTER, DUP_INST), then their bodies in the order they run in
 * (meter, apply_actions, clear_actions, write_actions, write_metadata, goto_table), then the flow's actions as a
 * whole (verifyActions). The result keeps wire order.
 */
export function decodeInstructions(r: Reader, length: number): Instruction[] {
  if (length % 8 !== 0) throw badLen(`instructions: length ${length} not a multiple of 8`, r.pos);
  const list = r.sub(length, 'instructions', OFPET.BAD_INSTRUCTION, OFPBIC.BAD_LEN);
  // Where each type is (-1: absent), as 6 small integers rather than a map: this runs for every flow decoded.
  let at1 = -1, at2 = -1, at3 = -1, at4 = -1, at5 = -1, at6 = -1;
  let p = list.pos;
  let n = 0;
  while (p < list.end) {
    const left = list.end - p;
    const type = list.u16At(p);
    const len = list.u16At(p + 2);
    if (len % 8 !== 0 || len < 8 || len > left) throw badLen(`instruction type ${type}: length ${len} (${left} bytes left)`, p);
    if (type === OFPIT.EXPERIMENTER) throw new CodecError('experimenter instructions are not supported', OFPET.BAD_INSTRUCTION, OFPBIC.BAD_EXPERIMENTER, p);
    if (type < OFPIT.GOTO_TABLE || type > OFPIT.METER) throw new CodecError(`unknown instruction type ${type}`, OFPET.BAD_INSTRUCTION, OFPBIC.UNKNOWN_INST, p);
    const fixed = fixedLen(type);
    if (fixed !== 0 && len !== fixed) throw badLen(`instruction type ${type}: length ${len}, not ${fixed}`, p);
    const seen = type === 1 ? at1 : type === 2 ? at2 : type === 3 ? at3 : type === 4 ? at4 : type === 5 ? at5 : at6;
    if (seen >= 0) throw onfError(`instruction type ${type} appears twice`, ONFERR.DUP_INST, p);
    if (type === 1) at1 = p;
    else if (type === 2) at2 = p;
    else if (type === 3) at3 = p;
    else if (type === 4) at4 = p;
    else if (type === 5) at5 = p;
    else at6 = p;
    p += len;
    n++;
  }
  const out = new Array<Instruction>(n);
  let apply: readonly Action[] = EMPTY;
  let others = 0;
  for (let k = 0; k < DECODE_ORDER.length; k++) {
    const type = DECODE_ORDER[k]!;
    const start = type === 1 ? at1 : type === 2 ? at2 : type === 3 ? at3 : type === 4 ? at4 : type === 5 ? at5 : at6;
    if (start < 0) continue;
    const len = list.u16At(start + 2);
    let inst: Instruction;
    switch (type) {
      case OFPIT.METER:
        inst = { type: 'meter', meterId: list.u32At(start + 4) };
        break;
      case OFPIT.APPLY_ACTIONS:
        list.pos = start + 8;
        apply = decodeInstructionActions(list, len - 8);
        inst = { type: 'apply_actions', actions: apply };
        break;
      case OFPIT.CLEAR_ACTIONS:
        inst = { type: 'clear_actions' };
        break;
      case OFPIT.WRITE_ACTIONS: {
        list.pos = start + 8;
        const actions = decodeInstructionActions(list, len - 8);
        checkActionSet(actions);
        inst = { type: 'write_actions', actions };
        break;
      }
      case OFPIT.WRITE_METADATA: {
        list.pos = start + 8;
        const metadata = list.u64();
        inst = { type: 'write_metadata', metadata, mask: list.u64() };
        break;
      }
      default:
        inst = { type: 'goto_table', tableId: list.buf[start + 4]! };
    }
    if (type !== OFPIT.APPLY_ACTIONS) others++;
    // Wire order: the instructions before this one in the message.
    let index = 0;
    if (at1 >= 0 && at1 < start) index++;
    if (at2 >= 0 && at2 < start) index++;
    if (at3 >= 0 && at3 < start) index++;
    if (at4 >= 0 && at4 < start) index++;
    if (at5 >= 0 && at5 < start) index++;
    if (at6 >= 0 && at6 < start) index++;
    out[index] = inst;
  }
  // ofpacts_verify over the flow's ofpacts: a conjunction may share the flow with notes only, instructions included.
  verifyActions(apply, false, others);
  list.pos = list.end;
  return out;
}

const EMPTY: readonly Action[] = [];
