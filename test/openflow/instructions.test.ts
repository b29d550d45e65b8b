// Instructions, binary form: a fixture per instruction type (captured from ovs-ofctl, field by field), both
// directions, OVS agreement through ofp-print, round trips and a malformed-input table.
import { describe, expect, it } from 'vitest';
import { Reader } from '../../src/openflow/reader.js';
import { Writer } from '../../src/openflow/writer.js';
import { CodecError } from '../../src/openflow/errors.js';
import { OFPET, OFPBIC, OFPBAC } from '../../src/openflow/consts.js';
import { decodeInstructions, encodeInstructions, instructionsEncodingLength } from '../../src/openflow/instructions.js';
import type { Instruction } from '../../src/openflow/types.js';
import { hasOvsOfctl } from '../helpers/ofctl-capture.js';
import { MATCH, decodeInstructionBytes, encodeInstructionsToBytes, flowModBytes } from '../helpers/action-bytes.js';
import { hex, toHex } from '../helpers/hex.js';
import { spawnSync } from 'node:child_process';

interface Fixture {
  readonly name: string;
  readonly instruction: Instruction;
  readonly bytes: Uint8Array;
  readonly ovs?: string;
}

const FIXTURES: readonly Fixture[] = [
  {
    name: 'goto_table',
    instruction: { type: 'goto_table', tableId: 5 },
    bytes: hex('0001', /* OFPIT_GOTO_TABLE */ '0008', /* len */ '05', /* table_id */ '000000' /* pad */),
    ovs: 'goto_table:5',
  },
  {
    name: 'write_metadata',
    instruction: { type: 'write_metadata', metadata: 5n, mask: 0xffn },
    bytes: hex('0002', /* OFPIT_WRITE_METADATA */ '0018', /* len 24 */ '00000000', /* pad */ '0000000000000005', /* metadata */ '00000000000000ff' /* mask */),
    ovs: 'write_metadata:0x5/0xff',
  },
  {
    name: 'write_actions',
    instruction: { type: 'write_actions', actions: [{ type: 'output', port: 1, maxLen: 0 }] },
    bytes: hex('0003', /* OFPIT_WRITE_ACTIONS */ '0018', /* len */ '00000000', /* pad */ '0000001000000001', '0000000000000000' /* output:1 */),
    ovs: 'write_actions(output:1)',
  },
  {
    name: 'apply_actions',
    instruction: { type: 'apply_actions', actions: [{ type: 'nx_resubmit', inPort: 0xfff8, table: 50 }] },
    bytes: hex('0004', /* OFPIT_APPLY_ACTIONS */ '0018', /* len */ '00000000', /* pad */ 'ffff001000002320000efff832000000' /* resubmit(,50) */),
    ovs: 'resubmit(,50)',
  },
  {
    name: 'apply_actions, empty',
    instruction: { type: 'apply_actions', actions: [] },
    bytes: hex('0004', /* OFPIT_APPLY_ACTIONS */ '0008', /* len */ '00000000' /* pad */),
    ovs: 'drop',
  },
  {
    name: 'clear_actions',
    instruction: { type: 'clear_actions' },
    bytes: hex('0005', /* OFPIT_CLEAR_ACTIONS */ '0008', /* len */ '00000000' /* pad */),
    ovs: 'clear_actions',
  },
  {
    name: 'meter',
    instruction: { type: 'meter', meterId: 3 },
    bytes: hex('0006', /* OFPIT_METER */ '0008', /* len */ '00000003' /* meter_id */),
    ovs: 'meter:3',
  },
  {
    name: 'experimenter (OVS: OFPBIC_BAD_EXPERIMENTER)',
    instruction: { type: 'experimenter', experimenter: 0x1234, raw: hex('ffff0010000012340102030405060708') },
    bytes: hex('ffff', /* OFPIT_EXPERIMENTER */ '0010', /* len */ '00001234', /* experimenter */ '0102030405060708' /* body */),
  },
];

function ofpPrint(instrs: Uint8Array): string {
  const r = spawnSync('ovs-ofctl', ['ofp-print', toHex(flowModBytes(MATCH.none, instrs))], { encoding: 'utf8' });
  return /actions=(.*)$/m.exec(r.stdout)?.[1]?.trim() ?? `${r.stdout}${r.stderr}`;
}

describe('instruction fixtures', () => {
  for (const f of FIXTURES) {
    // OVS takes no experimenter instruction: encoded as given, refused on decode.
    if (f.instruction.type === 'experimenter') it(`${f.name}: decode`, () => expect(() => decodeInstructionBytes(f.bytes)).toThrow(expect.objectContaining({ ofpType: OFPET.BAD_INSTRUCTION, ofpCode: OFPBIC.BAD_EXPERIMENTER })));
    else it(`${f.name}: decode`, () => expect(decodeInstructionBytes(f.bytes)).toEqual([f.instruction]));
    it(`${f.name}: encode`, () => {
      expect(toHex(encodeInstructionsToBytes([f.instruction]))).toBe(toHex(f.bytes));
      expect(instructionsEncodingLength([f.instruction])).toBe(f.bytes.length);
    });
  }
});

describe.runIf(hasOvsOfctl())('OVS agreement (ofp-print of our bytes)', () => {
  for (const f of FIXTURES) {
    if (!f.ovs) continue;
    it(`${f.name}: ${f.ovs}`, () => expect(ofpPrint(encodeInstructionsToBytes([f.instruction]))).toBe(f.ovs));
  }
  it('all six together, in OVS order', () => {
    const all = FIXTURES.filter((f) => f.ovs && f.name !== 'apply_actions, empty').map((f) => f.instruction);
    const order: Instruction['type'][] = ['meter', 'apply_actions', 'clear_actions', 'write_actions', 'write_metadata', 'goto_table'];
    all.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
    expect(ofpPrint(encodeInstructionsToBytes(all))).toBe('meter:3,resubmit(,50),clear_actions,write_actions(output:1),write_metadata:0x5/0xff,goto_table:5');
  });
});

describe('instruction round trips', () => {
  // One instruction of each type (OFPBIC_DUP_INST otherwise), and no experimenter one (OVS refuses them).
  const all = FIXTURES.filter((f, i, a) => f.instruction.type !== 'experimenter' && a.findIndex((g) => g.instruction.type === f.instruction.type) === i).map((f) => f.instruction);
  const bytes = encodeInstructionsToBytes(all);
  it('decode(encode(x)) equals x; encode(decode(b)) equals b', () => {
    expect(decodeInstructionBytes(bytes)).toEqual(all);
    expect(toHex(encodeInstructionsToBytes(decodeInstructionBytes(bytes)))).toBe(toHex(bytes));
  });
  it('encodes at an offset into a larger buffer', () => {
    const buf = new Uint8Array(bytes.length + 11).fill(0xaa);
    const w = new Writer(buf, 3);
    encodeInstructions(w, all);
    expect(w.pos).toBe(3 + bytes.length);
    expect(buf[2]).toBe(0xaa);
    expect(buf[w.pos]).toBe(0xaa);
    const r = new Reader(buf, 3);
    expect(decodeInstructions(r, bytes.length)).toEqual(all);
    expect(r.pos).toBe(3 + bytes.length);
  });
});

const MALFORMED: readonly { name: string; bytes: string; type: number; code: number }[] = [
  { name: 'shorter than an instruction header', bytes: '00010008', type: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_LEN },
  { name: 'length 0', bytes: '0001000005000000', type: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_LEN },
  { name: 'length not a multiple of 8', bytes: '0001000c050000000000000000', type: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_LEN },
  { name: 'length overruns', bytes: '0001001005000000', type: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_LEN },
  { name: 'goto_table too long', bytes: '00010010050000000000000000000000', type: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_LEN },
  { name: 'write_metadata too short', bytes: '0002001000000000' + '0000000000000005', type: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_LEN },
  { name: 'unknown instruction type', bytes: '0009000800000000', type: OFPET.BAD_INSTRUCTION, code: OFPBIC.UNKNOWN_INST },
  { name: 'apply_actions holding a truncated action', bytes: '0004001000000000' + '0000001000000001', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'apply_actions holding an unknown action', bytes: '0004001000000000' + '0063000800000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_TYPE },
];

describe('malformed instructions', () => {
  for (const m of MALFORMED) {
    it(m.name, () => {
      const b = hex(m.bytes);
      let err: unknown;
      try {
        decodeInstructionBytes(b);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CodecError);
      expect({ type: (err as CodecError).ofpType, code: (err as CodecError).ofpCode }).toEqual({ type: m.type, code: m.code });
    });
  }
});
