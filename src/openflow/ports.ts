import { OFPBAC, OFPET, OFPP } from './consts.js';
import { CodecError } from './errors.js';

/** The first 32-bit port number OVS refuses: ports run 0..0xfeff (OFPP_MAX of OpenFlow 1.0), then OFPP_MAX of 1.1+. */
const FIRST_INVALID_PORT = 0xff00;

/**
 * A 32-bit port number as OVS accepts it (ofputil_port_from_ofp11): below 0xff00, or from OFPP_MAX (0xffffff00) up.
 * The numbers in between cannot be mapped to OVS's 16-bit ports, and OVS rejects them with OFPBAC_BAD_OUT_PORT
 * wherever a port is read (actions, requests, port descriptions, watch ports).
 */
export function checkPort(port: number, what: string, offset?: number): number {
  if (port >= FIRST_INVALID_PORT && port < OFPP.MAX) {
    throw new CodecError(`${what}: port ${port} is outside 0..65279 and ${OFPP.MAX}..${0xffffffff}`, OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT, offset);
  }
  return port;
}
