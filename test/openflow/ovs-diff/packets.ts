// The packet summary differential run: generated Ethernet frames (ovs-diff/arbitraries.ts packetArb), each in a
// packet-in with an empty match, printed by our formatter and by ovs-ofctl. What is compared is the summary line
// OVS prints under the packet-in (its flow_extract + flow_format and the L4 checksum), and the header line with it.
import fc from 'fast-check';
import { encodeMessage } from '../../../src/openflow/message.js';
import { packetArb } from './arbitraries.js';
import { compareCases, type RunResult } from './run.js';

/** The frames of a run: `count` packets from `seed`. */
export const generatePackets = (seed: number, count: number): Uint8Array[] => fc.sample(packetArb, { seed, numRuns: count });

/** The packet-in each frame travels in: unbuffered, whole, no match fields. */
export const packetInOf = (data: Uint8Array, xid: number): Uint8Array =>
  new Uint8Array(encodeMessage({ type: 'packet_in', xid, bufferId: 0xffffffff, totalLen: data.length, reason: 0, tableId: 0, cookie: 0n, match: [], data }));

export async function runPacketDifferential(seed: number, count: number): Promise<RunResult> {
  const cases = generatePackets(seed, count).map((data, i) => ({ kind: 'packet_in' as const, bytes: packetInOf(data, i) }));
  return { ...(await compareCases(cases, seed)), seed };
}
