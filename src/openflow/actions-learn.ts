// NXAST_LEARN, binary form: its table entry and decoder. The flow specs are kept as bytes here (the codec
// round-trips them); text/learn-text.ts reads and writes their meaning.

import { NXAST } from './action-consts.js';
import { pad8 } from './writer.js';
import { atLeast, nxHeader, viaWriter, zero, type DecoderEntries, type EncoderTable } from './action-wire.js';

export const learnEncoders = {
  nx_learn: {
    length: (a) => pad8(32 + a.specs.length),
    put: viaWriter((w, a) => {
      const len = pad8(32 + a.specs.length);
      nxHeader(w, NXAST.LEARN, len);
      w.u16(a.idleTimeout);
      w.u16(a.hardTimeout);
      w.u16(a.priority);
      w.u64(a.cookie);
      w.u16(a.flags);
      w.u8(a.tableId);
      zero(w, 1);
      w.u16(a.finIdleTimeout);
      w.u16(a.finHardTimeout);
      w.bytes(a.specs);
      zero(w, len - 32 - a.specs.length);
    }),
  },
} satisfies Partial<EncoderTable>;

export const learnDecoders: DecoderEntries = [
  [
    NXAST.LEARN,
    atLeast(32, (r) => {
      const idleTimeout = r.u16();
      const hardTimeout = r.u16();
      const priority = r.u16();
      const cookie = r.u64();
      const flags = r.u16();
      const tableId = r.u8();
      r.skip(1);
      const finIdleTimeout = r.u16();
      const finHardTimeout = r.u16();
      const specs = r.bytes(r.remaining);
      return { type: 'nx_learn', idleTimeout, hardTimeout, priority, cookie, flags, tableId, finIdleTimeout, finHardTimeout, specs };
    }),
  ],
];
