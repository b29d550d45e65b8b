// Small shared types of src/hosts. What hosts share with the cloud model (NodeRole, GATEWAY_MAC, the port names)
// comes from src/topology/model.ts, not from here.

/** A pino-compatible logger: pino instances fit, and so does a `{ info, debug, warn, error }` object of functions. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Discards everything: the default where no logger is given. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
