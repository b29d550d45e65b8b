// Port numbers in action text: reserved names and OVS's 32-bit / 16-bit (Nicira) numbering, parsed and printed.

import { OFPP } from '../consts.js';
import { ActionSyntaxError, parseUint } from './action-text-util.js';

const NAMED_PORTS: ReadonlyArray<readonly [string, number]> = [
  ['IN_PORT', OFPP.IN_PORT],
  ['TABLE', OFPP.TABLE],
  ['NORMAL', OFPP.NORMAL],
  ['FLOOD', OFPP.FLOOD],
  ['ALL', OFPP.ALL],
  ['CONTROLLER', OFPP.CONTROLLER],
  ['LOCAL', OFPP.LOCAL],
  ['ANY', OFPP.ANY],
];
export const PORT_BY_NAME = new Map<string, number>(NAMED_PORTS.map(([k, v]) => [k, v]));
export const NAME_BY_PORT = new Map<number, string>(NAMED_PORTS.map(([k, v]) => [v, k]));
PORT_BY_NAME.set('NONE', OFPP.ANY);

/** OF1.0's OFPP_MAX: 16-bit ports from here up are reserved. */
const OFP10_PORT_MAX = 0xff00;
/** What OVS adds to an OF1.0 reserved port to get the OF1.1+ one (OFPP11_OFFSET). */
const OFPP11_OFFSET = 0xffff0000;

/**
 * A port as ofputil_port_from_string reads it, in OF1.1+ (32-bit) numbering: a reserved name, a number below
 * 0x10000, or 0xffffff00 and up. OF1.0's reserved numbers 0xff00..0xffff mean their OF1.1+ counterparts
 * (`output:65534` is LOCAL, 0xfffffffe on the wire); numbers between the two ranges are rejected.
 */
export function parsePort32(text: string, token: string): number {
  const named = PORT_BY_NAME.get(text.toUpperCase());
  if (named !== undefined) return named;
  // str_to_uint(s, 10): decimal only (ovs-ofctl calls `output:0xfffe` an unknown port).
  if (!/^\d+$/.test(text.trim())) throw new ActionSyntaxError(`${token}: unknown port "${text}"`, token);
  const p = parseUint(text, 0xffffffff, token, 'port');
  if (p >= OFP10_PORT_MAX && p <= 0xffff) return (p + OFPP11_OFFSET) >>> 0;
  if (p > 0xffff && p < OFPP.MAX) throw new ActionSyntaxError(`${token}: port ${p} is outside 0..0xffff and 0xffffff00..0xffffffff`, token);
  return p;
}

/** A Nicira 16-bit port (resubmit in_port, sample sampling_port): OVS's 16-bit form of what parsePort32 reads. */
export function parsePort16(text: string, token: string): number {
  const p = parsePort32(text, token);
  return p >= OFPP.MAX ? p - OFPP11_OFFSET : p;
}

/** Reserved ports an output action may name (ofpact_check_output_port); any other port must be below OFPP_MAX. */
const OUTPUT_RESERVED = new Set<number>([OFPP.IN_PORT, OFPP.TABLE, OFPP.NORMAL, OFPP.FLOOD, OFPP.ALL, OFPP.CONTROLLER, OFPP.LOCAL]);

/** Reserved ports enqueue may name (ofpact_check_enqueue). */
export const ENQUEUE_RESERVED = new Set<number>([OFPP.IN_PORT, OFPP.LOCAL]);

export function parseOutputPort(text: string, token: string, reserved: ReadonlySet<number> = OUTPUT_RESERVED): number {
  const port = parsePort32(text, token);
  if (port >= OFPP.MAX && !reserved.has(port)) throw new ActionSyntaxError(`${token}: cannot output to port ${formatPort32(port)} (OFPBAC_BAD_OUT_PORT)`, token);
  return port;
}

export function formatPort32(port: number): string {
  return NAME_BY_PORT.get(port) ?? String(port);
}

export function formatPort16(port: number): string {
  return port >= 0xfff8 ? (NAME_BY_PORT.get(port + 0xffff0000) ?? String(port)) : String(port);
}
