// Helpers for the action / instruction tests: encode/decode wrappers, the match fixtures, and a
// hand-built OF1.3 FLOW_MOD so `ovs-ofctl ofp-print` can judge action bytes we produce.
import { spawnSync } from 'node:child_process';
import { Reader } from '../../src/openflow/reader.js';
import { Writer } from '../../src/openflow/writer.js';
import { actionsEncodingLength, decodeActions, encodeActions } from '../../src/openflow/actions.js';
import { decodeInstructions, encodeInstructions, instructionsEncodingLength } from '../../src/openflow/instructions.js';
import type { Action, Instruction } from '../../src/openflow/types.js';
import { hex, toHex } from './hex.js';

export function encodeActionsToBytes(actions: readonly Action[]): Uint8Array {
  const out = new Uint8Array(actionsEncodingLength(actions));
  const w = new Writer(out);
  encodeActions(w, actions);
  if (w.pos !== out.length) throw new Error(`wrote ${w.pos} bytes, encodingLength said ${out.length}`);
  return out;
}

export const decodeActionBytes = (b: Uint8Array): Action[] => decodeActions(new Reader(b), b.length);

export function encodeInstructionsToBytes(instrs: readonly Instruction[]): Uint8Array {
  const out = new Uint8Array(instructionsEncodingLength(instrs));
  const w = new Writer(out);
  encodeInstructions(w, instrs);
  if (w.pos !== out.length) throw new Error(`wrote ${w.pos} bytes, encodingLength said ${out.length}`);
  return out;
}

export const decodeInstructionBytes = (b: Uint8Array): Instruction[] => decodeInstructions(new Reader(b), b.length);

/**
 * A minimal OF1.3 FLOW_MOD (ADD, table 0, priority 0x8000) with `matchOxms` (raw OXM TLVs) and `instructions`
 * (raw instruction bytes): header, cookie, cookie_mask, table, command, idle, hard, priority, buffer_id,
 * out_port, out_group, flags, pad, ofp_match, instructions.
 */
export function flowModBytes(matchOxms: Uint8Array, instructions: Uint8Array): Uint8Array {
  const matchLen = 4 + matchOxms.length;
  const matchPadded = (matchLen + 7) & ~7;
  const total = 8 + 40 + matchPadded + instructions.length;
  const b = Buffer.alloc(total);
  b.writeUInt8(4, 0); // version
  b.writeUInt8(14, 1); // OFPT_FLOW_MOD
  b.writeUInt16BE(total, 2);
  b.writeUInt32BE(1, 4); // xid
  // cookie, cookie_mask (16 zero bytes), table_id 0, command ADD, idle 0, hard 0
  b.writeUInt16BE(0x8000, 30); // priority
  b.writeUInt32BE(0xffffffff, 32); // buffer_id: OFP_NO_BUFFER
  b.writeUInt32BE(0xffffffff, 36); // out_port: ANY
  b.writeUInt32BE(0xffffffff, 40); // out_group: ANY
  b.writeUInt16BE(1, 48); // OFPMT_OXM
  b.writeUInt16BE(matchLen, 50);
  b.set(matchOxms, 52);
  b.set(instructions, 48 + matchPadded);
  return new Uint8Array(b);
}

/** OFPIT_APPLY_ACTIONS around raw action bytes. */
export function applyActionsBytes(actions: Uint8Array): Uint8Array {
  return hex('0004', (8 + actions.length).toString(16).padStart(4, '0'), '00000000', toHex(actions));
}

/** What `ovs-ofctl ofp-print` prints after "actions=" for a FLOW_MOD carrying `instructions`. */
export function ofpPrintActions(matchOxms: Uint8Array, instructions: Uint8Array): string {
  const msg = flowModBytes(matchOxms, instructions);
  const r = spawnSync('ovs-ofctl', ['ofp-print', toHex(msg)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ofp-print failed: ${r.stderr}`);
  const m = /actions=(.*)$/m.exec(r.stdout);
  if (!m) throw new Error(`ofp-print: no actions in ${r.stdout}${r.stderr}`);
  return m[1]!.trim();
}

/** Common match prerequisites as raw OXM TLVs. */
export const MATCH = {
  none: hex(''),
  ip: hex('80000a02', '0800'), // OXM_OF_ETH_TYPE = 0x0800
  ipv6: hex('80000a02', '86dd'), // OXM_OF_ETH_TYPE = 0x86dd
  arp: hex('80000a02', '0806'), // OXM_OF_ETH_TYPE = 0x0806
  mpls: hex('80000a02', '8847'), // OXM_OF_ETH_TYPE = 0x8847
  tcp: hex('80000a02', '0800', '80001401', '06'), // eth_type ip, OXM_OF_IP_PROTO = 6
  vlan: hex('80000d04', '10001000'), // OXM_OF_VLAN_VID = 0x1000/0x1000 (any VLAN)
} as const;
