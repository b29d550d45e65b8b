import { OFPET, OFPBRC } from './consts.js';
import type { Message } from './types.js';

/**
 * Malformed or unsupported OpenFlow input. Carries the OFPT_ERROR type/code a switch or controller would answer
 * with, so a connection can reply with exactly that error before closing.
 */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    message: string,
    readonly ofpType: number = OFPET.BAD_REQUEST,
    readonly ofpCode: number = OFPBRC.BAD_LEN,
    /** Byte offset into the buffer being decoded, when known. */
    readonly offset?: number,
    /** The experimenter id of an OFPET_EXPERIMENTER error (ofpCode is then its exp_code). */
    readonly experimenter?: number,
  ) {
    super(message);
  }

  /**
   * A list reply's entries decoded before the one that failed, as a message: OVS prints those before its decode
   * error, so a message embedded in another (an OFPT_ERROR's data) prints them too.
   */
  partial?: Message;
}

/** Records `partial` on a CodecError that has none yet; returns the error to rethrow. */
export function withPartial(e: unknown, partial: () => Message): unknown {
  if (e instanceof CodecError && e.partial === undefined) e.partial = partial();
  return e;
}

export const isCodecError = (e: unknown): e is CodecError => e instanceof CodecError;
