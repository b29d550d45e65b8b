// The differential fuzzer against Open vSwitch (issue 20): generated OpenFlow 1.3 messages, valid and corrupted,
// through our decodeMessage + formatMessage and through `ovs-ofctl ofp-parse`. Every case must agree: identical text
// when OVS decodes it, the same OpenFlow error when OVS rejects it, and never an exception other than CodecError.
// Fixed seed here (OVS_DIFF_SEED / OVS_DIFF_N override it); `npm run fuzz:ovs` runs longer with a random seed.
// Message types the codec does not agree on yet are listed, with the reason, in ovs-diff/not-yet-agreeing.ts.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { OFPBAC, OFPET } from '../../src/openflow/consts.js';
import { CodecError } from '../../src/openflow/errors.js';
import { checkPort } from '../../src/openflow/ports.js';
import { MESSAGE_KINDS } from './ovs-diff/arbitraries.js';
import { ourView } from './ovs-diff/compare.js';
import { NOT_YET_AGREEING } from './ovs-diff/not-yet-agreeing.js';
import { loadRegressions } from './ovs-diff/regressions.js';
import { compareCases, FUZZED_KINDS, formatStats, generateCases, type Disagreement } from './ovs-diff/run.js';
import { generatePackets, packetInOf, runPacketDifferential } from './ovs-diff/packets.js';
import { decodeMessage } from '../../src/openflow/message.js';
import { formatMessage } from '../../src/openflow/text/message-text.js';

const hasOvs = spawnSync('ovs-ofctl', ['--version']).status === 0;
const SEED = Number(process.env.OVS_DIFF_SEED ?? 0x0f5d1ff);
const N = Number(process.env.OVS_DIFF_N ?? 10_000);

const explain = (ds: readonly Disagreement[]): string =>
  ds
    .slice(0, 5)
    .map((d) => `${d.kind} (${d.how}${d.corruption ? `, corrupted: ${d.corruption}` : ''}) ${d.hex}\n--- ours\n${d.ours}\n--- ovs\n${d.ovs}`)
    .join('\n\n');

describe.skipIf(!hasOvs)('differential fuzzing against ovs-ofctl', () => {
  it(`agrees with OVS on ${N} generated messages (seed ${SEED})`, { timeout: 240_000 }, async () => {
    const cases = generateCases(SEED, N);
    // The encoder refuses only a few generated values; nearly every case must reach both sides.
    expect(cases.length).toBeGreaterThan(N * 0.95);
    const r = await compareCases(cases, SEED);
    console.log(formatStats(r));
    for (const kind of FUZZED_KINDS) expect(r.perKind.get(kind)?.cases ?? 0, `${kind} generated`).toBeGreaterThan(0);
    // Both outcomes are exercised: messages OVS decodes and messages it rejects.
    const stats = [...r.perKind.values()];
    expect(stats.reduce((n, s) => n + s.sameText, 0)).toBeGreaterThan(N / 2);
    expect(stats.reduce((n, s) => n + s.sameError, 0)).toBeGreaterThan(N / 10);
    expect(r.disagreements.length, explain(r.disagreements)).toBe(0);
  });

  it('summarises generated packets as OVS does (flow_extract + flow_format + L4 checksum)', { timeout: 240_000 }, async () => {
    const r = await runPacketDifferential(SEED, Math.ceil(N / 3));
    expect(r.disagreements.length, explain(r.disagreements)).toBe(0);
  });

  it('prints at every verbosity what ofp-print HEX N prints', { timeout: 240_000 }, () => {
    // The messages whose text depends on the verbosity, one ofp-print per message and level (0..5).
    const packets = generatePackets(SEED, 4);
    const msgs = [
      ...packets.map((p, i) => packetInOf(p, i)),
      ...generateCases(SEED + 2, 400, ['echo_request', 'packet_out', 'port_stats_reply', 'queue_stats_reply', 'bundle_add'])
        .filter((c) => !c.corruption)
        .filter((c, i, all) => all.findIndex((d) => d.kind === c.kind) === i)
        .map((c) => c.bytes),
    ];
    const norm = (t: string): string => t.split('\n').map((l) => l.trimEnd()).join('\n').trim();
    let compared = 0;
    for (const bytes of msgs) {
      const hex = Buffer.from(bytes).toString('hex');
      for (const v of [0, 1, 2, 3, 4, 5]) {
        const ovs = spawnSync('ovs-ofctl', ['ofp-print', hex, String(v)], { encoding: 'latin1', timeout: 30_000 }).stdout;
        if (ovs.includes('decode error')) continue; // rejected messages: the fuzzer's business
        expect(norm(formatMessage(decodeMessage(bytes), v, bytes)), `${hex} at verbosity ${v}`).toBe(norm(ovs));
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(6 * 6);
  });

  it('replays the regression vectors: agreement for every type off the open list', async () => {
    const vectors = loadRegressions().filter((v) => !(v.kind in NOT_YET_AGREEING.messages) && !(v.corruption && v.corruption in NOT_YET_AGREEING.corruptions));
    const r = await compareCases(vectors.map((v) => ({ kind: v.kind, bytes: new Uint8Array(Buffer.from(v.hex, 'hex')), ...(v.corruption ? { corruption: v.corruption } : {}) })));
    expect(r.disagreements.length, explain(r.disagreements)).toBe(0);
  });
});

describe('the codec on every generated message type', () => {
  it('throws nothing but CodecError, also on the types OVS does not agree with yet', () => {
    const all = [...generateCases(SEED + 1, 3000, MESSAGE_KINDS), ...loadRegressions().map((v) => ({ kind: v.kind, bytes: new Uint8Array(Buffer.from(v.hex, 'hex')) }))];
    const thrown = all.map((c) => ({ c, v: ourView(c.bytes) })).filter(({ v }) => v.exception);
    expect(thrown.map(({ c, v }) => `${c.kind} ${Buffer.from(c.bytes).toString('hex')}: ${v.exception}`).slice(0, 3)).toEqual([]);
  });

  it('the open list names only message types the codec has', () => {
    for (const k of Object.keys(NOT_YET_AGREEING.messages)) expect(MESSAGE_KINDS).toContain(k);
    expect(FUZZED_KINDS.length + Object.keys(NOT_YET_AGREEING.messages).length).toBe(MESSAGE_KINDS.length);
  });

  it('refuses ports OVS cannot map, as OVS does', () => {
    for (const ok of [0, 1, 0xfeff, 0xffffff00, 0xfffffff8, 0xffffffff]) expect(checkPort(ok, 'p')).toBe(ok);
    for (const bad of [0xff00, 0x10000, 0x7fffffff, 0xfffffeff]) {
      const e = (() => {
        try {
          checkPort(bad, 'p');
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(CodecError);
      expect([(e as CodecError).ofpType, (e as CodecError).ofpCode]).toEqual([OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT]);
    }
  });
});
