// Small shared types of src/hosts. They mirror src/topology's model where the two meet (NodeRole, the VM's port
// name) so the lead can wire topology to them without src/hosts importing anything but types.

/** A pino-compatible logger: pino instances fit, and so does a `{ info, debug, warn, error }` object of functions. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Discards everything: the default where no logger is given. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** What a node does (same names as src/topology). 'management' needs nothing from bootstrap. */
export type NodeRole = 'compute' | 'gateway' | 'switch' | 'dhcp' | 'management';

/** The one MAC every node answers ARP for every subnet gateway IP with; gateway and DHCP nodes give br0 this MAC. */
export const GATEWAY_MAC = '12:00:00:ff:ff:ff';
