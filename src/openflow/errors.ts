import { OFPET, OFPBRC } from './consts.js';

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
}

export const isCodecError = (e: unknown): e is CodecError => e instanceof CodecError;
