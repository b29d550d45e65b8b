// OpenFlow 1.3 instructions (ofp_instruction_*), binary form. Same shape as actions.ts: encoders keyed by
// `Instruction['type']`, decoders keyed by OFPIT, every length checked (OFPBIC_BAD_LEN), experimenter
// instructions kept verbatim.

import { OFPET, OFPBIC } from './consts.js';
import { OFPIT } from './action-consts.js';
import { CodecError } from './errors.js';
import type { Reader } from './reader.js';
import { room, type Writer, writerAt } from './writer.js';
import { actionsEncodingLength, decodeActions, putActions } from './actions.js';
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

interface InstructionDecoder {
  readonly min: number;
  readonly max: number;
  /** `r` is bounded to the instruction and positioned after its type and len. */
  readonly decode: (r: Reader) => Instruction;
}

const MAX_INSTRUCTION_LEN = 0xfff8;

const decoders = new Map<number, InstructionDecoder>([
  [OFPIT.GOTO_TABLE, { min: 8, max: 8, decode: (r) => ({ type: 'goto_table', tableId: r.u8() }) }],
  [
    OFPIT.WRITE_METADATA,
    {
      min: 24,
      max: 24,
      decode: (r) => {
        r.skip(4);
        const metadata = r.u64();
        return { type: 'write_metadata', metadata, mask: r.u64() };
      },
    },
  ],
  [OFPIT.WRITE_ACTIONS, { min: 8, max: MAX_INSTRUCTION_LEN, decode: (r) => (r.skip(4), { type: 'write_actions', actions: decodeActions(r, r.remaining) }) }],
  [OFPIT.APPLY_ACTIONS, { min: 8, max: MAX_INSTRUCTION_LEN, decode: (r) => (r.skip(4), { type: 'apply_actions', actions: decodeActions(r, r.remaining) }) }],
  [OFPIT.CLEAR_ACTIONS, { min: 8, max: 8, decode: () => ({ type: 'clear_actions' }) }],
  [OFPIT.METER, { min: 8, max: 8, decode: (r) => ({ type: 'meter', meterId: r.u32() }) }],
]);

const badLen = (msg: string, at: number): CodecError => new CodecError(msg, OFPET.BAD_INSTRUCTION, OFPBIC.BAD_LEN, at);

function decodeOne(r: Reader): Instruction {
  const start = r.pos;
  if (r.remaining < 8) throw badLen(`instruction: ${r.remaining} bytes left, an instruction needs at least 8`, start);
  const type = r.u16At(start);
  const len = r.u16At(start + 2);
  if (len < 8) throw badLen(`instruction type ${type}: length ${len} below 8`, start);
  if (len % 8 !== 0) throw badLen(`instruction type ${type}: length ${len} not a multiple of 8`, start);
  if (len > r.remaining) throw badLen(`instruction type ${type}: length ${len} overruns the ${r.remaining} bytes left`, start);
  const body = r.sub(len, 'instruction', OFPET.BAD_INSTRUCTION, OFPBIC.BAD_LEN);
  body.pos += 4;
  if (type === OFPIT.EXPERIMENTER) {
    return { type: 'experimenter', experimenter: body.u32(), raw: new Uint8Array(r.buf.buffer, r.buf.byteOffset + start, len) };
  }
  const d = decoders.get(type);
  if (!d) throw new CodecError(`unknown instruction type ${type}`, OFPET.BAD_INSTRUCTION, OFPBIC.UNKNOWN_INST, start);
  if (len < d.min || len > d.max) {
    throw badLen(`instruction type ${type}: length ${len} outside ${d.min}..${d.max}`, start);
  }
  return d.decode(body);
}

/** Decodes `length` bytes of instructions at `r.pos` and moves `r` past them. */
export function decodeInstructions(r: Reader, length: number): Instruction[] {
  const list = r.sub(length, 'instructions', OFPET.BAD_INSTRUCTION, OFPBIC.BAD_LEN);
  const out: Instruction[] = [];
  while (list.remaining > 0) out.push(decodeOne(list));
  return out;
}
