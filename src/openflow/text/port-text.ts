// Port numbers in ovs-ofctl text, in matches and actions alike: reserved names and OVS's 32-bit (OpenFlow 1.1+)
// and 16-bit (OpenFlow 1.0, Nicira) numbering, parsed and printed as ofputil_port_from_string / ofputil_format_port.

import { OFPP } from '../consts.js';
import { ActionSyntaxError } from './action-syntax-error.js';

/** Reserved port names, as ovs-ofctl prints them (OF1.1+ numbering). */
export const PORT_NAMES: ReadonlyMap<number, string> = new Map([
  [OFPP.IN_PORT, 'IN_PORT'],
  [OFPP.TABLE, 'TABLE'],
  [OFPP.NORMAL, 'NORMAL'],
  [OFPP.FLOOD, 'FLOOD'],
  [OFPP.ALL, 'ALL'],
  [OFPP.CONTROLLER, 'CONTROLLER'],
  [OFPP.LOCAL, 'LOCAL'],
  [OFPP.ANY, 'ANY'],
]);
/** The names ovs-ofctl reads (any case): the printed ones, and NONE for ANY. */
const PORT_BY_NAME = new Map<string, number>([...[...PORT_NAMES].map(([n, s]) => [s, n] as const), ['NONE', OFPP.ANY]]);

export const isPortName = (text: string): boolean => PORT_BY_NAME.has(text.toUpperCase());

/** OF1.0's OFPP_MAX: 16-bit ports from here up are reserved. */
const OFP10_PORT_MAX = 0xff00;
/** What OVS adds to an OF1.0 reserved port to get the OF1.1+ one (OFPP11_OFFSET). */
const OFPP11_OFFSET = 0xffff0000;

/**
 * A port as ofputil_port_from_string reads it, in OF1.1+ (32-bit) numbering: a reserved name (any case), a decimal
 * number below 0x10000, or 0xffffff00 and up. OF1.0's reserved numbers 0xff00..0xffff mean their OF1.1+
 * counterparts (`65534` is LOCAL, 0xfffffffe on the wire); numbers between the two ranges, hex and signs are
 * rejected (str_to_uint(s, 10)). Undefined for what OVS rejects.
 */
export function parsePort(text: string): number | undefined {
  const t = text.trim();
  const named = PORT_BY_NAME.get(t.toUpperCase());
  if (named !== undefined) return named;
  if (!/^\d{1,10}$/.test(t)) return undefined;
  const p = Number(t);
  if (p >= OFP10_PORT_MAX && p <= 0xffff) return (p + OFPP11_OFFSET) >>> 0;
  if (p > 0xffff && p < OFPP.MAX) return undefined;
  if (p > 0xffffffff) return undefined;
  return p;
}

/** ofputil_format_port for an OF1.1+ port number: reserved ports by name, the rest in decimal (OF1.0 numbering). */
export function formatPort(port: number): string {
  const name = PORT_NAMES.get(port);
  if (name) return name;
  return String(port >= OFPP.MAX ? port - OFPP11_OFFSET : port);
}

/** parsePort for an action argument: a syntax error naming the token for what OVS rejects. */
export function parsePort32(text: string, token: string): number {
  const p = parsePort(text);
  if (p === undefined) throw new ActionSyntaxError(`${token}: unknown port "${text}"`, token);
  return p;
}

/** A Nicira 16-bit port (resubmit in_port, sample sampling_port): OVS's 16-bit form of what parsePort32 reads. */
export function parsePort16(text: string, token: string): number {
  const p = parsePort32(text, token);
  return p >= OFPP.MAX ? p - OFPP11_OFFSET : p;
}

/** formatPort for a Nicira 16-bit port. */
export const formatPort16 = (port: number): string => formatPort(port >= OFP10_PORT_MAX ? port + OFPP11_OFFSET : port);

/** Reserved ports an output action may name (ofpact_check_output_port); any other port must be below OFPP_MAX. */
const OUTPUT_RESERVED = new Set<number>([OFPP.IN_PORT, OFPP.TABLE, OFPP.NORMAL, OFPP.FLOOD, OFPP.ALL, OFPP.CONTROLLER, OFPP.LOCAL]);

/** Reserved ports enqueue may name (ofpact_check_enqueue). */
export const ENQUEUE_RESERVED = new Set<number>([OFPP.IN_PORT, OFPP.LOCAL]);

export function parseOutputPort(text: string, token: string, reserved: ReadonlySet<number> = OUTPUT_RESERVED): number {
  const port = parsePort32(text, token);
  if (port >= OFPP.MAX && !reserved.has(port)) throw new ActionSyntaxError(`${token}: cannot output to port ${formatPort(port)} (OFPBAC_BAD_OUT_PORT)`, token);
  return port;
}
