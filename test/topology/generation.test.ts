// OpenFlow generations across restores (src/topology/generation.ts): any generation of a later epoch is above every
// generation of an earlier one, whatever the revisions; a restore's epoch is above the backup's and the target's and
// never below the clock's hours; what the store holds is read strictly.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generationOf, GenerationEpochError, MAX_GENERATION_EPOCH, nextGenerationEpoch, parseGenerationEpoch, splitGeneration } from '../../src/topology/generation.js';

const revision = fc.bigInt({ min: 1n, max: (1n << 40n) - 1n });
const epoch = fc.integer({ min: 0, max: MAX_GENERATION_EPOCH });
const INT64_MAX = (1n << 63n) - 1n;

/** How OVS compares generation ids (ofproto/connmgr.c): the wrapping signed 64-bit difference. */
const ovsNewer = (a: bigint, b: bigint): boolean => BigInt.asIntN(64, a - b) > 0n;

describe('OpenFlow generation', () => {
  it('a later epoch is newer for OVS whatever the revisions; within an epoch the revision orders', () => {
    fc.assert(
      fc.property(epoch, epoch, revision, revision, (e1, e2, r1, r2) => {
        const g1 = generationOf(e1, r1);
        const g2 = generationOf(e2, r2);
        expect(g1).toBeLessThanOrEqual(INT64_MAX);
        expect(splitGeneration(g1)).toEqual({ epoch: e1, revision: r1 });
        if (e1 < e2) expect(ovsNewer(g2, g1)).toBe(true);
        if (e1 === e2 && r1 < r2) expect(ovsNewer(g2, g1)).toBe(true);
      }),
    );
  });

  it('epoch 0 is the plain revision (clusters never restored into keep their generations)', () => {
    expect(generationOf(0, 57n)).toBe(57n);
  });

  it("a restore's epoch is above the backup's and the target's, and not below the clock's hours since 2026", () => {
    const at = new Date('2026-12-07T17:00:00Z');
    const hours = Math.floor((at.getTime() - Date.UTC(2026, 0, 1)) / 3_600_000);
    expect(nextGenerationEpoch(0, 0, at)).toBe(hours);
    expect(nextGenerationEpoch(hours, 0, at)).toBe(hours + 1);
    expect(nextGenerationEpoch(3, hours + 5, at)).toBe(hours + 6);
    // A clock before 2026 (or wrong) only ever loses to the stored epochs.
    expect(nextGenerationEpoch(4, 2, new Date('2001-01-01T00:00:00Z'))).toBe(5);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_GENERATION_EPOCH - 1 }), fc.integer({ min: 0, max: MAX_GENERATION_EPOCH - 1 }), fc.date({ noInvalidDate: true }), (b, t, now) => {
        const e = nextGenerationEpoch(b, t, now);
        expect(e).toBeGreaterThan(b);
        expect(e).toBeGreaterThan(t);
        expect(e).toBeLessThanOrEqual(MAX_GENERATION_EPOCH);
      }),
    );
    expect(() => nextGenerationEpoch(MAX_GENERATION_EPOCH, 0, at)).toThrow(GenerationEpochError);
  });

  it('reads the stored epoch strictly', () => {
    expect(parseGenerationEpoch(undefined)).toBe(0);
    expect(parseGenerationEpoch('0')).toBe(0);
    expect(parseGenerationEpoch('8000')).toBe(8000);
    expect(parseGenerationEpoch(String(MAX_GENERATION_EPOCH))).toBe(MAX_GENERATION_EPOCH);
    for (const bad of ['', '-1', '01', '1.5', '1e3', ' 1', String(MAX_GENERATION_EPOCH + 1), '99999999', 'x'.repeat(1000)]) {
      expect(() => parseGenerationEpoch(bad), bad.slice(0, 20)).toThrow(GenerationEpochError);
    }
  });
});
