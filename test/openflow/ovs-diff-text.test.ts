// The differential fuzzer's reverse direction (issue 20): generated flow text, as people write it and as our printer
// prints it, valid and corrupted, through our parseFlow + encodeMessage and through ovs-ofctl (parse-flows, then
// add-flows to a fake switch for the bytes). Every case must agree: the same FLOW_MOD bytes when OVS accepts the text,
// a rejection when OVS rejects it, never an exception but a parse error. Disagreements kept on purpose are listed
// with their reason in ovs-diff/not-yet-agreeing.ts (KNOWN_TEXT_DISAGREEMENTS).
// Fixed seed here (OVS_DIFF_TEXT_SEED / OVS_DIFF_TEXT_N override it); `npm run fuzz:ovs -- --text` runs longer with a
// random seed.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareTextCases, formatTextStats, generateTextCases, ourFlowBytes, type TextDisagreement } from './ovs-diff/reverse.js';
import { loadTextRegressions } from './ovs-diff/text-regressions.js';

const hasOvs = spawnSync('ovs-ofctl', ['--version']).status === 0;
const SEED = Number(process.env.OVS_DIFF_TEXT_SEED ?? 0x0f5d1ff);
// Each text OVS rejects costs one ovs-ofctl process (it stops at the first bad line), so the count stays modest.
const N = Number(process.env.OVS_DIFF_TEXT_N ?? 800);

const explain = (ds: readonly TextDisagreement[]): string =>
  ds
    .slice(0, 5)
    .map((d) => `${d.how} (${d.origin}) ${d.text}\n--- ours\n${d.ours}\n--- ovs\n${d.ovs}`)
    .join('\n\n');

describe.skipIf(!hasOvs)('differential fuzzing of flow text against ovs-ofctl', () => {
  it(`agrees with OVS on ${N} generated flow texts (seed ${SEED})`, { timeout: 600_000 }, async () => {
    const r = await compareTextCases(generateTextCases(SEED, N), SEED);
    console.log(formatTextStats(r));
    const stats = [...r.perOrigin.values()];
    const sum = (k: 'sameBytes' | 'bothReject'): number => stats.reduce((n, s) => n + s[k], 0);
    // Both outcomes are exercised, from both origins (people's syntax and our printer's).
    expect(sum('sameBytes')).toBeGreaterThan(N / 8);
    expect(sum('bothReject')).toBeGreaterThan(N / 8);
    for (const origin of ['written', 'printed']) expect(r.perOrigin.get(origin)?.sameBytes ?? 0, `${origin} texts OVS and we agree on`).toBeGreaterThan(0);
    expect(r.disagreements.length, explain(r.disagreements)).toBe(0);
  });

  it('replays the regression vectors', { timeout: 300_000 }, async () => {
    const vectors = loadTextRegressions();
    expect(vectors.length).toBeGreaterThan(10);
    const r = await compareTextCases(vectors.map((v) => ({ text: v.text, how: 'regression' })));
    expect(r.disagreements.length, explain(r.disagreements)).toBe(0);
  });
});

describe('flow text parsing never throws anything but a parse error', () => {
  it('on generated texts, valid and corrupted', () => {
    const thrown = generateTextCases(SEED + 1, 3000)
      .map((c) => ({ c, v: ourFlowBytes(c.text, 1) }))
      .filter(({ v }) => v.exception);
    expect(thrown.map(({ c, v }) => `${c.text}: ${v.exception}`).slice(0, 3)).toEqual([]);
  });
});
