// ovs-ofctl flow text: parseFlow / formatFlow / parseMatch / formatMatch checked against the real ovs-ofctl
// (parse-flow text, the bytes add-flow sends, ofp-print of flow stats) and against the golden flow vectors.
import { describe, expect, it } from 'vitest';
import { OFPFC, OFPFF, OFPG, OFPP, OFP_NO_BUFFER } from '../../src/openflow/consts.js';
import { formatFlow, formatMatch, parseFlow, parseMatch } from '../../src/openflow/text/flow-text.js';
import { encodeInstructions, instructionsEncodingLength } from '../../src/openflow/instructions.js';
import { decodeMatch, encodeMatch, matchEncodingLength } from '../../src/openflow/match.js';
import { oxm } from '../../src/openflow/text/oxm-builder.js';
import { Reader } from '../../src/openflow/reader.js';
import type { FlowMod, FlowStats } from '../../src/openflow/types.js';
import { Writer, pad8 } from '../../src/openflow/writer.js';
import { captureFlowMods, hasOvsOfctl, ofctlParseFlow, ofctlPrint } from '../helpers/ofctl-capture.js';
import { loadFlowVectors } from '../helpers/fixtures-vectors.js';
import { toHex } from '../helpers/hex.js';

const OFCTL = hasOvsOfctl();

function matchBytes(flow: FlowMod): Uint8Array {
  const buf = new Uint8Array(matchEncodingLength(flow.match));
  encodeMatch(new Writer(buf), flow.match);
  return buf;
}

/** The padded ofp_match inside a captured OFPT_FLOW_MOD (it starts after the 48-byte fixed part). */
function capturedMatch(flowMod: Uint8Array): Uint8Array {
  const len = (flowMod[50]! << 8) | flowMod[51]!;
  return flowMod.subarray(48, 48 + pad8(len));
}

/** The match part of an ofp-print FlowMod line (between the table and the cookie/timeouts/flags/actions). */
const matchPart = (text: string): string => text.replace(/^table:\d+ /, '').replace(/ ?(cookie:|idle:|hard:|buf:|out_port:|send_flow_rem|check_overlap|reset_counts|no_packet_counts|no_byte_counts|actions=).*$/, '');

// Flows whose text, and whose OXM bytes, must come out exactly as ovs-ofctl's. Actions stay simple here: the
// action syntax has its own tests.
const FLOWS = [
  // the seed's tables
  'table=0,priority=20,dl_dst=ff:ff:ff:ff:ff:ff,actions=resubmit(,50)',
  'table=0,priority=10,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,10)',
  'table=0,priority=10,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,50)',
  'table=10,priority=5,dl_src=02:00:00:00:00:aa,dl_dst=12:00:00:FF:FF:FF,actions=load:0xc0a80101->NXM_NX_TUN_IPV4_DST[],output:1',
  'table=10,priority=15,dl_dst=02:00:00:00:00:05,actions=load:0x64->NXM_NX_TUN_ID[],load:0xc0a80102->NXM_NX_TUN_IPV4_DST[],output:1',
  'table=10,priority=10,ip,nw_dst=10.0.1.5,actions=mod_dl_src:12:00:00:ff:ff:ff,mod_dl_dst:02:00:00:00:00:05,output:3',
  'table=50,priority=20,arp,arp_tpa=192.168.20.1,arp_op=1,actions=move:eth_src->eth_dst,mod_dl_src:12:00:00:ff:ff:ff,load:2->arp_op,move:arp_sha->arp_tha,load:0x120000ffffff->arp_sha,move:arp_spa->arp_tpa,load:0xc0a81401->arp_spa,output:in_port',
  'table=50,priority=15,udp,tp_src=68,tp_dst=67,in_port=3,actions=load:0x64->NXM_NX_TUN_ID[],output:1',
  'table=50,priority=10,in_port=3,actions=load:0x64->NXM_NX_TUN_ID[],resubmit(,60)',
  'table=50,priority=10,in_port=7,tun_id=0x64,actions=output:3,output:4',
  'table=50,priority=10,udp,tp_src=68,tp_dst=67,tun_id=0x64,actions=output:LOCAL',
  'table=60,priority=0,actions=clone(output:1),output:ALL',
  // flow keywords
  'priority=0,actions=drop',
  'priority=32768,cookie=0x5,table=3,idle_timeout=10,hard_timeout=20,send_flow_rem,check_overlap,reset_counts,no_packet_counts,no_byte_counts,actions=drop',
  'cookie=0xffffffffffffffff,actions=drop',
  // shorthands and ovs-ofctl's field juggling
  'ip,actions=drop',
  'ipv6,actions=drop',
  'rarp,arp_op=3,actions=drop',
  'icmp,icmp_type=8,icmp_code=0,actions=drop',
  'icmp6,icmp_type=135,icmp_code=0,nd_target=fe80::1,nd_sll=00:11:22:33:44:55,actions=drop',
  'icmp6,icmp_type=136,icmp_code=0,nd_tll=00:00:00:00:00:01,actions=drop',
  'tcp,tcp_flags=+syn-ack,actions=drop',
  'tcp,tcp_flags=syn,actions=drop',
  'tcp6,tp_dst=80,actions=drop',
  'sctp,tp_src=5,tp_dst=6/0xff,actions=drop',
  'sctp6,tp_src=5,actions=drop',
  'udp6,udp_src=5,actions=drop',
  'udp,tcp_src=5,actions=drop',
  'icmp,tp_src=5,actions=drop',
  'icmp,icmpv6_type=5,actions=drop',
  'arp,nw_src=1.2.3.4,nw_proto=1,actions=drop',
  'dl_type=0x0800,nw_proto=6,tp_dst=80,actions=drop',
  'eth_type=2048,ip_proto=17,actions=drop',
  'ip,nw_proto=47,actions=drop',
  'dl_type=0x1234,actions=drop',
  'mpls,mpls_label=5,mpls_tc=2,mpls_bos=1,mpls_ttl=3,actions=drop',
  'mplsm,actions=drop',
  // L3
  'ip,nw_src=10.0.0.0/255.255.0.0,nw_dst=10.1.0.0/255.0.255.0,actions=drop',
  'nw_src=1.2.3.4/32,ip,actions=drop',
  'nw_src=1.2.3.4/0,ip,actions=drop',
  'ip,nw_ttl=5,nw_tos=8,nw_ecn=1,actions=drop',
  'ip,ip_dscp=2,actions=drop',
  'ip,ip_frag=first,actions=drop',
  'ip,nw_frag=later,actions=drop',
  'ip,nw_frag=yes,actions=drop',
  'ip,nw_frag=no,actions=drop',
  'ip,nw_frag=not_later,actions=drop',
  'ipv6,ipv6_src=2001:db8::/32,ipv6_label=0x12345,actions=drop',
  'ipv6,ipv6_src=fe80::/ffff:0:ffff::,ipv6_dst=2001:db8:0:0:1:0:0:1,actions=drop',
  'ipv6,ipv6_src=::ffff:1.2.3.4,ipv6_dst=::/0,actions=drop',
  'arp,arp_sha=00:11:22:33:44:55,arp_tha=00:11:22:33:44:66/ff:ff:ff:ff:ff:00,arp_spa=1.2.3.4,actions=drop',
  // L2 and VLANs
  'eth_dst=00:00:00:00:00:01/ff:ff:ff:ff:ff:ff,actions=drop',
  'in_port=1,dl_src=00:11:22:33:44:55,dl_dst=66:77:88:99:aa:bb,dl_type=0x86dd,actions=drop',
  'vlan_tci=0x1005,actions=drop',
  'vlan_tci=0x3005,actions=drop',
  'vlan_tci=0x1000/0x1000,actions=drop',
  'vlan_tci=0x0005/0x0fff,actions=drop',
  'dl_vlan=5,dl_vlan_pcp=3,actions=drop',
  'dl_vlan_pcp=3,actions=drop',
  'dl_vlan=0xffff,actions=drop',
  'dl_vlan=0,actions=drop',
  'vlan_vid=0x1005/0x1fff,actions=drop',
  'vlan_vid=4096,actions=drop',
  // ports
  'in_port=LOCAL,actions=drop',
  'in_port=65534,actions=drop',
  'in_port=none,actions=drop',
  'in_port=controller,actions=drop',
  'actset_output=5,actions=drop',
  // metadata, registers, tunnels, conntrack
  'metadata=0x5/0xff,actions=drop',
  'metadata=18446744073709551615,actions=drop',
  'reg0=5,reg15=0x10/0xff,actions=drop',
  'reg3=0/0xffffffff,actions=drop',
  'xreg0=0x100000002,actions=drop',
  'xreg1=0x5/0xffff,actions=drop',
  'xxreg1=0x5,actions=drop',
  'pkt_mark=0x5,conj_id=7,actions=drop',
  'dp_hash=5,recirc_id=4,actions=drop',
  'tun_id=0x5,tun_src=1.2.3.4,tun_dst=10.0.0.0/8,tun_ipv6_src=::1,actions=drop',
  'tun_id=0x5/0xff,actions=drop',
  'tun_flags=+oam,tun_gbp_id=5,tun_gbp_flags=1,actions=drop',
  'tun_flags=0,actions=drop',
  'tun_flags=oam,actions=drop',
  'ct_state=+trk-new,ct_zone=5,ct_mark=0x3/0xf,ct_label=0x1/0x1,actions=drop',
  'ct_state=0x21/0x21,actions=drop',
  'ct_state=trk|est,actions=drop',
  'ct_state=0,actions=drop',
  'ct_state=5,actions=drop',
  'ct_mark=5,ct_zone=0x10,ct_label=0x10,actions=drop',
  // separators
  'tcp tp_dst=80 actions=drop',
  'table:5,dl_dst:01:00:00:00:00:00,actions=drop',
];

describe.skipIf(!OFCTL)('against ovs-ofctl', () => {
  it('prints every flow as `ovs-ofctl -O OpenFlow13 parse-flow` does', () => {
    for (const text of FLOWS) expect(formatFlow(parseFlow(text)), text).toBe(ofctlParseFlow(text));
  });

  it('encodes every match byte for byte as ovs-ofctl add-flow sends it', async () => {
    const mods = await captureFlowMods(FLOWS);
    expect(mods.length).toBe(FLOWS.length);
    FLOWS.forEach((text, i) => expect(toHex(matchBytes(parseFlow(text))), text).toBe(toHex(capturedMatch(mods[i]!))));
  });

  it('prints ovs-ofctl-encoded matches as ovs-ofctl does (formatMatch of decoded bytes)', async () => {
    const mods = await captureFlowMods(FLOWS);
    FLOWS.forEach((text, i) => {
      const decoded = decodeMatch(new Reader(capturedMatch(mods[i]!)));
      expect(formatMatch(decoded, parseFlow(text).priority), text).toBe(matchPart(ofctlParseFlow(text)));
    });
  });

  it('formats flow-stats entries as ovs-ofctl dump-flows does', () => {
    const stats: FlowStats[] = [
      { ...statsOf('table=50,priority=20,arp,arp_tpa=192.168.20.1,arp_op=1,actions=output:in_port'), durationSec: 12, durationNsec: 345_000_000, packetCount: 3n, byteCount: 180n },
      { ...statsOf('cookie=0x1234,idle_timeout=10,hard_timeout=20,send_flow_rem,actions=drop'), durationSec: 1, durationNsec: 5_000_000 },
      { ...statsOf('priority=0,in_port=LOCAL,send_flow_rem,check_overlap,reset_counts,no_packet_counts,no_byte_counts,actions=output:in_port'), durationNsec: 1 },
      { ...statsOf('table=10,priority=10,ip,nw_dst=10.0.1.5,actions=mod_dl_src:12:00:00:ff:ff:ff,output:3'), packetCount: 18446744073709551615n },
    ];
    const printed = ofctlPrint(flowStatsReply(stats)).split('\n').slice(1).filter(Boolean);
    expect(stats.map((s) => ' ' + formatFlow(s))).toEqual(printed);
  });

  it('formats modify/delete FlowMods as ovs-ofctl ofp-print does', () => {
    const base = parseFlow('priority=5,ip,nw_dst=10.0.0.1,actions=drop');
    const mods: FlowMod[] = [
      { ...base, command: OFPFC.DELETE, cookie: 0x55n, cookieMask: 0xffn, outPort: OFPP.LOCAL, priority: 0 },
      { ...base, command: OFPFC.DELETE_STRICT, tableId: 255 },
      { ...base, command: OFPFC.MODIFY, cookie: 5n },
      { ...base, command: OFPFC.MODIFY_STRICT, flags: OFPFF.RESET_COUNTS, idleTimeout: 3, bufferId: 7 },
      { ...base, cookie: 0x55n, idleTimeout: 10, hardTimeout: 20, outPort: 5 },
    ];
    for (const m of mods) {
      const line = ofctlPrint(flowModBytes(m)).trim();
      const want = line.replace(/^OFPT_FLOW_MOD \(OF1\.3\) \(xid=0x1\): /, '').replace(/^ADD /, '');
      expect(formatFlow(m)).toBe(want);
    }
  });
});

describe('golden flow vectors (test/fixtures/flow-vectors.json)', () => {
  const vectors = loadFlowVectors().positive.filter((v) => !v.text.includes('tun_metadata'));
  it('encode every match as the captured OFPT_FLOW_MOD has it', () => {
    expect(vectors.length).toBeGreaterThan(150);
    for (const v of vectors) {
      let flow: FlowMod;
      try {
        flow = parseFlow(v.text);
      } catch (e) {
        // Action syntax not supported (yet) is the action parser's business; the match must still parse.
        if (!/actions?=/.test(v.text)) throw e;
        flow = { ...parseFlow(v.text.replace(/(^|[\s,])actions?=.*$/, '')) };
      }
      expect(toHex(matchBytes(flow)), v.text).toBe(toHex(capturedMatch(new Uint8Array(Buffer.from(v.hex, 'hex')))));
    }
  });

  it('print every decoded match as ovs-ofctl did', () => {
    for (const v of vectors) {
      const decoded = decodeMatch(new Reader(capturedMatch(new Uint8Array(Buffer.from(v.hex, 'hex')))));
      const bytes = Buffer.from(v.hex, 'hex');
      const priority = bytes.readUInt16BE(30);
      const table = bytes[24]!;
      const printed = v.ofctl.replace(/^.*?: ADD /, '');
      const want = table ? printed.replace(/^table:\d+ /, '') : printed;
      expect(want.startsWith(formatMatch(decoded, priority)), `${v.text}: ${formatMatch(decoded, priority)} vs ${want}`).toBe(true);
    }
  });
});

describe('parseFlow', () => {
  it('uses the ovs-ofctl defaults', () => {
    expect(parseFlow('actions=drop')).toEqual({
      type: 'flow_mod',
      cookie: 0n,
      cookieMask: 0n,
      tableId: 0,
      command: OFPFC.ADD,
      idleTimeout: 0,
      hardTimeout: 0,
      priority: 32768,
      bufferId: OFP_NO_BUFFER,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      flags: 0,
      match: [],
      instructions: [],
    });
    expect(parseFlow('')).toMatchObject({ match: [], instructions: [] });
  });

  it('shares one FieldRef per field among the flows it parses (they are immutable)', () => {
    const text = (ip: string): string => `table=50,arp,arp_tpa=${ip},actions=move:arp_sha->arp_tha,move:arp_spa->arp_tpa,load:0x2->NXM_OF_ARP_OP[]`;
    const refs = (f: FlowMod): unknown[] => {
      const ins = f.instructions[0];
      if (ins?.type !== 'apply_actions') throw new Error('expected apply_actions');
      return ins.actions.flatMap((a) => (a.type === 'nx_reg_move' ? [a.src, a.dst] : a.type === 'nx_reg_load' ? [a.dst] : []));
    };
    const [a, b] = [refs(parseFlow(text('10.0.0.1'))), refs(parseFlow(text('10.0.0.2')))];
    expect(a).toHaveLength(5);
    a.forEach((r, i) => expect(r).toBe(b[i]));
    expect(a[0]).toEqual({ field: 'NXM_NX_ARP_SHA', header: 0x00012206 });
  });

  it('reads the flow keywords', () => {
    const f = parseFlow('table=7,priority=010,cookie=0x10,idle_timeout=1,hard_timeout=2,send_flow_rem,no_byte_counts');
    // priority=010 is octal, as ovs-ofctl's strtoull(base 0) reads it.
    expect(f).toMatchObject({ tableId: 7, priority: 8, cookie: 0x10n, cookieMask: 0n, idleTimeout: 1, hardTimeout: 2, outPort: OFPP.ANY, flags: OFPFF.SEND_FLOW_REM | OFPFF.NO_BYT_COUNTS });
  });

  it('refuses what ovs-ofctl refuses in an addition: out_port, out_group, hex table ids', () => {
    expect(() => parseFlow('out_port=LOCAL,actions=drop')).toThrow(/unknown field 'out_port'/);
    expect(() => parseFlow('out_group=3,actions=drop')).toThrow(/unknown field 'out_group'/);
    expect(() => parseFlow('table=0x5,actions=drop')).toThrow(/unknown table "0x5"/);
    expect(parseFlow('table=255,actions=drop').tableId).toBe(0);
    expect(() => parseFlow('priority=08,actions=drop')).toThrow(/priority/);
  });

  it('rejects a cookie mask, as ovs-ofctl does for flow additions', () => {
    expect(() => parseFlow('cookie=0x10/0xff,actions=drop')).toThrow(/'cookie=0x10\/0xff': flow additions cannot use a cookie mask/);
  });

  it('maps OpenFlow 1.0 reserved port numbers to the OpenFlow 1.3 ones, as ovs-ofctl does', () => {
    const out = (text: string) => (parseFlow(text).instructions[0] as { actions: readonly unknown[] }).actions;
    expect(out('actions=output:65534')).toEqual([{ type: 'output', port: OFPP.LOCAL, maxLen: 0 }]);
    expect(out('actions=65533')).toEqual([{ type: 'output', port: OFPP.CONTROLLER, maxLen: 0xffff }]);
    expect(out('actions=enqueue:65534:1')[1]).toEqual({ type: 'output', port: OFPP.LOCAL, maxLen: 0xffff });
    expect(out('actions=resubmit:4294967294')).toEqual([{ type: 'nx_resubmit', inPort: 0xfffe, table: 0xff }]);
    expect(parseFlow('in_port=65534,actions=drop').match).toEqual([oxm('in_port', OFPP.LOCAL)]);
    // Outside 0..0xffff and 0xffffff00..: no port; reserved ports that are no output port: OFPBAC_BAD_OUT_PORT.
    expect(() => parseFlow('actions=output:65536')).toThrow(/output:65536/);
    expect(() => parseFlow('actions=output:65280')).toThrow(/OFPBAC_BAD_OUT_PORT/);
    expect(() => parseFlow('actions=output:ANY')).toThrow(/OFPBAC_BAD_OUT_PORT/);
    expect(() => parseFlow('actions=enqueue:NORMAL:1')).toThrow(/OFPBAC_BAD_OUT_PORT/);
  });

  it('rejects what ovs-ofctl rejects about drop and ct fields, naming the token', () => {
    expect(() => parseFlow('actions=drop,output:1')).toThrow(/"drop" must not be accompanied/);
    expect(() => parseFlow('actions=goto_table:1,drop')).toThrow(/"drop" must not be accompanied/);
    expect(() => parseFlow('actions=clone(drop,output:1)')).toThrow(/"drop" must not be accompanied/);
    expect(parseFlow('actions=drop,drop').instructions).toEqual([]);
    expect(() => parseFlow('actions=set_field:0x1/0x1->ct_label')).toThrow(/set_field:0x1\/0x1->ct_label: cannot set CT fields outside of ct action/);
    expect(() => parseFlow('actions=load:1->NXM_NX_CT_MARK[]')).toThrow(/cannot set CT fields outside of ct action/);
    expect(() => parseFlow('actions=clone(set_field:1->ct_mark)')).toThrow(/cannot set CT fields outside of ct action/);
    expect(() => parseFlow('ip,actions=nat')).toThrow(/NAT action outside of "ct" action/);
    expect(() => parseFlow('ip,actions=ct(commit,exec(output:1))')).toThrow(/output:1: ct action doesn't support nested action output/);
    expect(() => parseFlow('ip,actions=ct(commit,exec(set_field:1->reg0))')).toThrow(/nested modification of reg0/);
    expect(() => parseFlow('ip,actions=ct(commit,exec(set_field:1->ct_mark,move:reg0[]->NXM_NX_CT_LABEL[0..31]),nat)')).not.toThrow();
  });

  it('pushes no VLAN header for mod_vlan_vid when the match requires one (as ovs-ofctl parse-flow)', () => {
    const acts = (text: string) => (parseFlow(text).instructions[0] as { actions: readonly { type: string }[] }).actions.map((a) => a.type);
    expect(acts('dl_vlan=5,actions=mod_vlan_vid:7')).toEqual(['set_field']);
    expect(acts('vlan_tci=0x1000/0x1000,actions=mod_vlan_pcp:1')).toEqual(['set_field']);
    expect(acts('vlan_tci=0x0000/0x1000,actions=mod_vlan_vid:7')).toEqual(['push_vlan', 'set_field']);
    expect(acts('actions=mod_vlan_vid:7')).toEqual(['push_vlan', 'set_field']);
    expect(acts('dl_vlan=5,actions=strip_vlan,mod_vlan_vid:7')).toEqual(['pop_vlan', 'push_vlan', 'set_field']);
  });

  it('puts match fields in Open vSwitch wire order with the prerequisites the shorthands imply', () => {
    expect(parseFlow('tp_dst=67,udp,tp_src=68,in_port=3,tun_id=0x10').match).toEqual([oxm('in_port', 3), oxm('eth_type', 0x0800), oxm('ip_proto', 17), oxm('udp_src', 68), oxm('udp_dst', 67), oxm('tun_id', 0x10)]);
    expect(parseMatch('arp_op=1,arp,arp_tpa=192.168.20.1')).toEqual([oxm('eth_type', 0x0806), oxm('arp_op', 1), oxm('arp_tpa', '192.168.20.1')]);
  });

  it('passes the match ip_proto to the action parser (mod_tp_dst)', () => {
    const f = parseFlow('udp,actions=mod_tp_dst:53');
    expect(JSON.stringify(f.instructions)).toContain('udp_dst');
  });

  it('ignores the statistics dump-flows prints, so its output parses back', () => {
    const text = 'cookie=0x5, duration=1.5s, table=3, n_packets=10, n_bytes=600, idle_age=1, priority=7,ip actions=drop';
    expect(parseFlow(text)).toMatchObject({ cookie: 5n, tableId: 3, priority: 7, match: [oxm('eth_type', 0x0800)] });
  });

  const errors: readonly [string, RegExp][] = [
    ['foo=1,actions=drop', /unknown field 'foo'/],
    ['ip_proto=300,ip', /bad value '300' for 'ip_proto'/],
    ['tcp,tp_dst=80x', /bad value '80x' for 'tp_dst'/],
    ['dl_dst=zz:00:00:00:00:00', /bad value 'zz:00:00:00:00:00' for 'dl_dst'/],
    ['priority=70000', /bad value '70000' for 'priority'/],
    ['table=256', /unknown table "256"/],
    ['idle_timeout=65536', /bad value '65536' for 'idle_timeout'/],
    ['cookie=-1', /bad value '-1' for 'cookie'/],
    ['ip,tp_src=5', /'tp_src=5' needs tcp, udp, sctp, icmp or icmp6/],
    ['tcp_dst=80', /'tcp_dst=80' needs tcp/],
    ['nw_src=1.2.3.4', /'nw_src=1.2.3.4' needs ip, arp or rarp/],
    ['arp_tpa=1.2.3.4', /'arp_tpa=1.2.3.4' needs ip, arp or rarp/],
    ['ipv6,nw_src=1.2.3.4', /'nw_src=1.2.3.4' needs ip, arp or rarp/],
    ['ip,ipv6_src=::1', /'ipv6_src=::1' needs IPv6/],
    ['mpls_label=5', /'mpls_label=5' needs MPLS/],
    ['icmp6,icmp_type=135,nd_tll=00:00:00:00:00:01', /'nd_tll=00:00:00:00:00:01' needs arp, rarp or icmp6 with icmp_type=136/],
    ['ip,ipv6', /conflicting eth_type: 'ip' and 'ipv6'/],
    ['ip,nw_src=1.2.3.4,nw_src=1.2.3.5', /conflicting values for 'nw_src'/],
    ['in_port', /field 'in_port' needs a value/],
    ['eth_type=0x800/0xff', /does not support masking/],
    ['icmp,icmp_type=8/0xff', /does not support masking/],
    ['ct_state=+foo', /unknown flag 'foo'/],
    ['dl_vlan=4096', /bad value '4096' for 'dl_vlan'/],
    ['vlan_pcp=8', /bad value '8' for 'vlan_pcp'/],
    ['ip,nw_tos=9', /bad value '9' for 'nw_tos'/],
    ['send_flow_rem=1', /'send_flow_rem' takes no value/],
    ['tcp,tp_dst=80,,=', /syntax error/],
  ];
  for (const [text, re] of errors) {
    it(`rejects ${text}`, () => expect(() => parseFlow(text)).toThrow(re));
  }
});

describe('text round trip', () => {
  it('parseFlow(formatFlow(parseFlow(t))) equals parseFlow(t)', () => {
    // An all-ones ADD cookie is not printed (it means "no new cookie" to ovs-ofctl), so it cannot come back.
    for (const text of FLOWS.filter((t) => !t.includes('cookie=0xffffffffffffffff'))) {
      const f = parseFlow(text);
      // formatFlow prints ovs-ofctl's `table:N`, `cookie:V` forms, which parse as table=N, cookie=V.
      expect(parseFlow(formatFlow(f).replace(/ idle:/, ' idle_timeout=').replace(/ hard:/, ' hard_timeout=')), text).toEqual(f);
    }
  });

  it('formatMatch puts OVS-unsupported and unknown fields at the end', () => {
    const m = [oxm('eth_type', 0x88e7), oxm('pbb_isid', 0x123), { field: 'unknown', header: 0x80006402, value: new Uint8Array([1, 2]) }];
    expect(formatMatch(m)).toBe('dl_type=0x88e7,pbb_isid=0x123,oxm_0x80006402=0x102');
    expect(formatMatch([oxm('NXM_OF_ETH_DST', '00:00:00:00:00:01'), oxm('NXM_NX_TUN_ID', 5)])).toBe('tun_id=0x5,dl_dst=00:00:00:00:00:01');
    expect(formatMatch([], 7)).toBe('priority=7');
  });
});

// ---- building the bytes ovs-ofctl prints ----

function statsOf(text: string): FlowStats {
  const f = parseFlow(text);
  return {
    tableId: f.tableId,
    durationSec: 0,
    durationNsec: 0,
    priority: f.priority,
    idleTimeout: f.idleTimeout,
    hardTimeout: f.hardTimeout,
    flags: f.flags,
    cookie: f.cookie,
    packetCount: 0n,
    byteCount: 0n,
    match: f.match,
    instructions: f.instructions,
  };
}

/** OFPMP_FLOW reply (OF1.3) carrying `flows`, built by hand from ofp_flow_stats. */
function flowStatsReply(flows: readonly FlowStats[]): Uint8Array {
  const entryLen = (f: FlowStats) => 48 + matchEncodingLength(f.match) + instructionsEncodingLength(f.instructions);
  const total = 16 + flows.reduce((n, f) => n + entryLen(f), 0);
  const buf = new Uint8Array(total);
  const w = new Writer(buf);
  w.u8(4); // version
  w.u8(19); // OFPT_MULTIPART_REPLY
  w.u16(total);
  w.u32(0); // xid
  w.u16(1); // OFPMP_FLOW
  w.u16(0); // flags
  w.zeros(4);
  for (const f of flows) {
    w.u16(entryLen(f));
    w.u8(f.tableId);
    w.zeros(1);
    w.u32(f.durationSec);
    w.u32(f.durationNsec);
    w.u16(f.priority);
    w.u16(f.idleTimeout);
    w.u16(f.hardTimeout);
    w.u16(f.flags);
    w.zeros(4);
    w.u64(f.cookie);
    w.u64(f.packetCount);
    w.u64(f.byteCount);
    encodeMatch(w, f.match);
    encodeInstructions(w, f.instructions);
  }
  expect(w.pos).toBe(total);
  return buf;
}

/** OFPT_FLOW_MOD (OF1.3), xid 1, built by hand from ofp_flow_mod. */
function flowModBytes(m: FlowMod): Uint8Array {
  const total = 48 + matchEncodingLength(m.match) + instructionsEncodingLength(m.instructions);
  const buf = new Uint8Array(total);
  const w = new Writer(buf);
  w.u8(4);
  w.u8(14); // OFPT_FLOW_MOD
  w.u16(total);
  w.u32(1);
  w.u64(m.cookie);
  w.u64(m.cookieMask);
  w.u8(m.tableId);
  w.u8(m.command);
  w.u16(m.idleTimeout);
  w.u16(m.hardTimeout);
  w.u16(m.priority);
  w.u32(m.bufferId);
  w.u32(m.outPort);
  w.u32(m.outGroup);
  w.u16(m.flags);
  w.zeros(2);
  encodeMatch(w, m.match);
  encodeInstructions(w, m.instructions);
  return buf;
}
