import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { OFP_NO_BUFFER, OFPG, OFPP } from '../../src/openflow/consts.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import { formatMessage, hexDump } from '../../src/openflow/text/message-text.js';
import type { Message, MessageOf } from '../../src/openflow/types.js';
import { normalisePrint, ofpParseBatch } from '../helpers/fixtures-ofp.js';
import { hex } from '../helpers/hex.js';
import { loadFlowVectors } from '../helpers/fixtures-vectors.js';
import { FIXTURES } from './msg-fixtures.js';

const hasOvs = spawnSync('ovs-ofctl', ['--version']).status === 0;
const ofpPrint = (b: Uint8Array): string => spawnSync('ovs-ofctl', ['ofp-print', Buffer.from(b).toString('hex')], { encoding: 'utf8' }).stdout.trimEnd();

/** Where our text knowingly differs from ovs-ofctl (packet summaries, names of unmodelled Nicira messages). */
const FIRST_LINE_ONLY = new Set(['packet_in', 'packet_out', 'hello OF1.5 with 1.0..1.5 and an unknown element']);

describe.skipIf(!hasOvs)('formatMessage matches ovs-ofctl ofp-print', () => {
  for (const f of FIXTURES) {
    if (f.ovsRejects || f.msg.type === 'experimenter') continue;
    it(f.name, () => {
      const ovs = ofpPrint(f.bytes);
      const ours = formatMessage(f.msg);
      if (FIRST_LINE_ONLY.has(f.name)) expect(ours.split('\n')[0]).toBe(ovs.split('\n')[0]);
      else expect(ours).toBe(ovs);
    });
  }
});

describe('formatMessage', () => {
  it('prints every fixture without throwing, header first', () => {
    for (const f of FIXTURES) expect(formatMessage(f.msg)).toMatch(/^(OFPT_|OFPST_|ONFT_)\w+( request| reply)?( \(OF1\.\d\))? \(xid=0x[0-9a-f]+\):/);
  });

  it('hex-dumps like ovs-ofctl', () => {
    expect(hexDump(Uint8Array.from([0x61, 0x62, 0x63]))).toBe('00000000  61 62 63                                        |abc             |');
  });
});

describe.skipIf(!hasOvs)('flow messages print as ovs-ofctl ofp-print prints them', () => {
  // Every OVS-accepted flow vector as FLOW_MOD (every command, cookies, timeouts, flags, out_port, buffer),
  // flow-stats entry, FLOW_REMOVED and flow/aggregate stats request. Texts OVS prints for features the codec does
  // not model (tun_metadata, output_trunc, learn2) or for flows its decoder rejects are left out.
  const unmodelled = /tun_metadata|TUN_METADATA|output\(port=|learn\(.*limit=|bundle\(|bundle_load\(|push:|check_pkt_larger|decode error/;
  const msgs: Message[] = [];
  loadFlowVectors().positive.forEach((v, i) => {
    const fm = decodeMessage(hex(v.hex)) as MessageOf<'flow_mod'>;
    const n = i + 1;
    msgs.push({ ...fm, command: n % 5, cookie: BigInt(n * 17), cookieMask: n % 3 ? 0n : 0xffn, idleTimeout: n % 4 ? 0 : 10, hardTimeout: n % 7 ? 0 : 20, flags: n % 6, outPort: n % 2 ? OFPP.ANY : 3, outGroup: n % 8 ? OFPG.ANY : 5, bufferId: n % 9 ? OFP_NO_BUFFER : 7, tableId: n % 4 });
    const entry = { tableId: n % 5, durationSec: n, durationNsec: n * 1000, priority: fm.priority, idleTimeout: n % 4 ? 0 : 10, hardTimeout: n % 7 ? 0 : 20, flags: n % 6, cookie: BigInt(n), packetCount: BigInt(n * 3), byteCount: n % 11 ? BigInt(n * 100) : 0xffffffffffffffffn, match: fm.match, instructions: fm.instructions };
    msgs.push({ type: 'flow_stats_reply', xid: n, flags: 0, flows: [entry] });
    msgs.push({ type: 'flow_removed', xid: n, cookie: BigInt(n), priority: fm.priority, reason: n % 4, tableId: n % 3, durationSec: n, durationNsec: 5000, idleTimeout: n % 3, hardTimeout: n % 2, packetCount: 5n, byteCount: 500n, match: fm.match });
    const request = { xid: n, flags: 0, tableId: n % 2 ? 0xff : 3, outPort: n % 3 ? OFPP.ANY : 2, outGroup: n % 5 ? OFPG.ANY : 9, cookie: BigInt(n), cookieMask: n % 3 ? 0n : 0xffn, match: fm.match };
    msgs.push({ type: 'flow_stats_request', ...request }, { type: 'aggregate_stats_request', ...request });
  });
  let printed: string[] = [];
  beforeAll(() => {
    printed = ofpParseBatch(msgs.map((m) => encodeMessage(m)));
  });
  it(`${msgs.length} messages`, () => {
    let compared = 0;
    msgs.forEach((m, i) => {
      const ovs = normalisePrint(printed[i]!);
      if (unmodelled.test(ovs)) return;
      compared++;
      expect(normalisePrint(formatMessage(m)), ovs).toBe(ovs);
    });
    expect(compared).toBeGreaterThan(msgs.length * 0.9);
  });
});
