// Action / instruction text: for each case, what `ovs-ofctl -O OpenFlow13 parse-flow` prints, the bytes
// `ovs-ofctl add-flow` sends (captured from a fake switch), and ours must all agree: our parse encodes to OVS's
// bytes, our format of those bytes is OVS's text, and ofp-print of our bytes is OVS's text.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseActions, parseInstructions, ActionSyntaxError, type ActionParseContext } from '../../src/openflow/text/action-parse.js';
import { formatActions, formatInstructions } from '../../src/openflow/text/action-format.js';
import type { Instruction } from '../../src/openflow/types.js';
import { captureFlowMods, hasOvsOfctl, ofctlParseFlow } from '../helpers/ofctl-capture.js';
import { decodeInstructionBytes, encodeInstructionsToBytes, flowModBytes } from '../helpers/action-bytes.js';
import { toHex } from '../helpers/hex.js';
import { spawnSync } from 'node:child_process';

interface Case {
  /** Match text the actions need (prerequisites), '' for none. */
  readonly match: string;
  readonly actions: string;
  /** What OVS prints back (from parse-flow), recorded so the table reads without OVS installed. */
  readonly printed: string;
}

const c = (match: string, actions: string, printed = actions): Case => ({ match, actions, printed });

const CASES: readonly Case[] = [
  c('', 'output:1'),
  c('', '2', 'output:2'),
  c('', 'IN_PORT'),
  c('', 'LOCAL'),
  c('', 'ALL'),
  c('', 'FLOOD'),
  c('', 'NORMAL'),
  c('', 'CONTROLLER', 'CONTROLLER:65535'),
  c('', 'controller:100', 'CONTROLLER:100'),
  c('', 'output:CONTROLLER', 'CONTROLLER:65535'),
  c('', 'drop'),
  c('', 'controller(reason=no_match,id=3,userdata=01.02)'),
  c('', 'controller(reason=no_match,id=3)'),
  c('', 'controller(max_len=100,reason=no_match)', 'controller(reason=no_match,max_len=100)'),
  c('', 'controller(max_len=100,userdata=01,pause,meter_id=3)'),
  c('', 'mod_dl_src:12:00:00:ff:ff:ff', 'set_field:12:00:00:ff:ff:ff->eth_src'),
  c('', 'mod_dl_dst:12:00:00:FF:FF:FF', 'set_field:12:00:00:ff:ff:ff->eth_dst'),
  c('', 'load:0x0a000001->NXM_NX_TUN_IPV4_DST[]', 'load:0xa000001->NXM_NX_TUN_IPV4_DST[]'),
  c('', 'load:5->tun_id', 'load:0x5->NXM_NX_TUN_ID[]'),
  c('', 'set_field:5->tun_id', 'set_field:0x5->tun_id'),
  c('', 'set_field:0x5/0xff->tun_id', 'load:0x5->NXM_NX_TUN_ID[0..7]'),
  c('', 'set_field:1->reg0', 'set_field:0x1->reg0'),
  c('', 'set_field:0x1/0xf0f->reg0', 'load:0x1->NXM_NX_REG0[0..3],load:0->NXM_NX_REG0[8..11]'),
  c('', 'set_field:1.2.3.4->tun_dst'),
  c('', 'load:0->NXM_NX_REG0[]'),
  c('', 'load:1->NXM_NX_REG0[0..3]', 'load:0x1->NXM_NX_REG0[0..3]'),
  c('', 'load:1->OXM_OF_METADATA[0..3]', 'load:0x1->OXM_OF_METADATA[0..3]'),
  c('', 'move:eth_src->eth_dst', 'move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]'),
  c('', 'move:NXM_NX_REG0[0..7]->NXM_NX_REG1[8..15]'),
  c('', 'move:reg0[1]->reg1[2]', 'move:NXM_NX_REG0[1]->NXM_NX_REG1[2]'),
  c('', 'resubmit(,50)'),
  c('', 'resubmit:3'),
  c('', 'resubmit(1,2)'),
  c('', 'resubmit(LOCAL,3)'),
  c('', 'resubmit:LOCAL'),
  c('', 'clone(resubmit(1,50)),output:2'),
  c('', 'clone(clone(output:1),output:2)'),
  c('', 'note:01.02.03', 'note:01.02.03.00.00.00'),
  c('', 'note:', 'note:00.00.00.00.00.00'),
  c('', 'note:0102030405060708', 'note:01.02.03.04.05.06.07.08.00.00.00.00.00.00'),
  c('', 'conjunction(1,2/3)'),
  c('', 'ct_clear'),
  c('', 'exit'),
  c('', 'goto_table:5'),
  c('', 'write_metadata:0x5/0xff'),
  c('', 'write_metadata:0x5'),
  c('', 'meter:3'),
  c('', 'clear_actions'),
  c('', 'write_actions(output:1)'),
  c('', 'meter:3,output:1,clear_actions,write_actions(output:2,group:1),write_metadata:0/1,goto_table:9', 'meter:3,output:1,clear_actions,write_actions(output:2,group:1),write_metadata:0/0x1,goto_table:9'),
  c('', 'output:NXM_NX_REG0[]'),
  c('', 'output:NXM_NX_REG0[0..15]'),
  c('', 'multipath(eth_src,50,modulo_n,1,0,NXM_NX_REG0[0..15])'),
  c('', 'sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3)'),
  c('', 'sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3,sampling_port=5)'),
  c('', 'sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3,sampling_port=LOCAL,egress)'),
  c('', 'sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3,ingress)'),
  c('', 'group:3'),
  c('', 'set_queue:4'),
  c('', 'push_mpls:0x8847'),
  c('', 'push_vlan:0x8100'),
  c('', 'enqueue:1:2', 'set_queue:2,output:1,pop_queue'),
  c('', 'learn(table=1,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],NXM_NX_REG0[0..3])'),
  c(
    '',
    'learn(table=2,idle_timeout=10,hard_timeout=20,fin_idle_timeout=1,fin_hard_timeout=2,priority=5,send_flow_rem,delete_learned,cookie=0x99,eth_type=0x800,ip_src=10.0.0.1,NXM_NX_REG0[0..3]=5,load:0x7->NXM_NX_REG1[0..7],load:NXM_NX_REG2[]->NXM_NX_REG3[],NXM_OF_ETH_SRC[])',
    'learn(table=2,idle_timeout=10,hard_timeout=20,fin_idle_timeout=1,fin_hard_timeout=2,priority=5,send_flow_rem,delete_learned,cookie=0x99,eth_type=0x800,ip_src=10.0.0.1,NXM_NX_REG0[0..3]=0x5,load:0x7->NXM_NX_REG1[0..7],load:NXM_NX_REG2[]->NXM_NX_REG3[],NXM_OF_ETH_SRC[])',
  ),
  c('', 'set_tunnel:5', 'set_field:0x5->tun_id'),
  c('', 'pop_queue'),
  c('ip', 'mod_nw_src:1.2.3.4', 'set_field:1.2.3.4->ip_src'),
  c('ip', 'mod_nw_dst:1.2.3.4', 'set_field:1.2.3.4->ip_dst'),
  c('ip', 'mod_nw_tos:4', 'set_field:1->ip_dscp'),
  c('ip', 'mod_nw_ecn:2', 'set_field:2->nw_ecn'),
  c('ip', 'dec_ttl'),
  c('ip', 'dec_ttl(1,2)'),
  c('ip', 'dec_ttl(5)'),
  c('ip', 'dec_ttl(0)'),
  c('ip', 'mod_nw_ttl:5'),
  c('ip', 'ct(commit,zone=5,nat(src=1.2.3.4-1.2.3.5:100-200,random))'),
  c('ip', 'ct(nat)'),
  c('ip', 'ct(commit,nat(dst=10.0.0.1))'),
  c('ip', 'ct(commit,nat(src))'),
  c('ip', 'ct(commit,nat(src=10.0.0.1:80-80,persistent))', 'ct(commit,nat(src=10.0.0.1:80,persistent))'),
  c('ip', 'ct(commit,nat(src=10.0.0.1-10.0.0.1:5-6))', 'ct(commit,nat(src=10.0.0.1:5-6))'),
  c('ip', 'ct(commit,exec(set_field:1->ct_mark))', 'ct(commit,exec(set_field:0x1->ct_mark))'),
  c('ip', 'ct(zone=5,table=2)', 'ct(table=2,zone=5)'),
  c('ip', 'ct(commit,force,table=3,zone=NXM_NX_REG0[0..15],exec(set_field:1->ct_mark))', 'ct(commit,force,table=3,zone=NXM_NX_REG0[0..15],exec(set_field:0x1->ct_mark))'),
  c(
    'tcp',
    'ct(force,alg=ftp,table=3,zone=NXM_NX_REG0[0..15],nat(dst=10.0.0.1:80),exec(set_field:1->ct_mark),commit)',
    'ct(commit,force,table=3,zone=NXM_NX_REG0[0..15],nat(dst=10.0.0.1:80),exec(set_field:0x1->ct_mark),alg=ftp)',
  ),
  c('ct_state=+trk-inv,ip', 'resubmit(,2,ct)'),
  c('ipv6', 'ct(commit,nat(dst=[fe80::1]-[fe80::2]:80,persistent,hash))'),
  c('ip', 'set_field:10.0.0.0/255.0.0.0->ip_dst', 'load:0xa->NXM_OF_IP_DST[24..31]'),
  c('ip', 'output:in_port', 'IN_PORT'),
  c('tcp', 'mod_tp_src:80,mod_tp_dst:81', 'set_field:80->tcp_src,set_field:81->tcp_dst'),
  c('udp', 'mod_tp_src:80', 'set_field:80->udp_src'),
  c('tcp', 'fin_timeout(idle_timeout=5,hard_timeout=10)'),
  c('tcp', 'fin_timeout(idle_timeout=5)'),
  c('ip', 'check_pkt_larger(1464)->NXM_NX_REG0[0],output:1'),
  c('ip', 'check_pkt_larger(1514)->reg5[31],resubmit(,20)', 'check_pkt_larger(1514)->NXM_NX_REG5[31],resubmit(,20)'),
  c('tcp', 'multipath(symmetric_l3l4+udp,1024,hrw,12,0,NXM_NX_REG0[0..15])'),
  c('mpls', 'pop_mpls:0x0800'),
  c('mpls', 'set_mpls_ttl:5,dec_mpls_ttl', 'set_mpls_ttl(5),dec_mpls_ttl'),
  c('mpls', 'set_mpls_label:5', 'set_field:5->mpls_label'),
  c('', 'mod_vlan_vid:5', 'push_vlan:0x8100,set_field:4101->vlan_vid'),
  c('vlan_tci=0x1000/0x1000', 'pop_vlan,mod_vlan_vid:5,mod_vlan_pcp:3', 'pop_vlan,push_vlan:0x8100,set_field:4101->vlan_vid,set_field:3->vlan_pcp'),
  // The seed's tables (seed.md).
  c('', 'load:0xc0a80a01->NXM_NX_TUN_IPV4_DST[],output:3', 'load:0xc0a80a01->NXM_NX_TUN_IPV4_DST[],output:3'),
  c('', 'load:0x64->NXM_NX_TUN_ID[],load:0xc0a80a02->NXM_NX_TUN_IPV4_DST[],output:3', 'load:0x64->NXM_NX_TUN_ID[],load:0xc0a80a02->NXM_NX_TUN_IPV4_DST[],output:3'),
  c('ip', 'mod_dl_src:12:00:00:FF:FF:FF,mod_dl_dst:02:00:00:00:00:01,output:5', 'set_field:12:00:00:ff:ff:ff->eth_src,set_field:02:00:00:00:00:01->eth_dst,output:5'),
  c(
    'arp',
    'move:eth_src->eth_dst,mod_dl_src:12:00:00:FF:FF:FF,load:2->arp_op,move:arp_sha->arp_tha,load:0x120000ffffff->arp_sha,move:arp_spa->arp_tpa,load:0x0a000001->arp_spa,output:in_port',
    'move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:12:00:00:ff:ff:ff->eth_src,load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],load:0x120000ffffff->NXM_NX_ARP_SHA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xa000001->NXM_OF_ARP_SPA[],IN_PORT',
  ),
  c('', 'load:0x64->NXM_NX_TUN_ID[],resubmit(,60)'),
  c('', 'clone(resubmit(4,50)),output:4'),
];

const IP_PROTO: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };
const ctxFor = (match: string): ActionParseContext => ({ ipProto: IP_PROTO[match.split(',')[0]!], hasVlan: match.includes('vlan_tci=0x1000/0x1000') });
const flowText = (k: Case): string => `table=0,${k.match ? `${k.match},` : ''}actions=${k.actions}`;

describe('parse then format gives what OVS prints', () => {
  for (const k of CASES) {
    it(`${k.match ? `${k.match}: ` : ''}${k.actions}`, () => {
      const instrs = parseInstructions(k.actions, ctxFor(k.match));
      // Format what the bytes decode to, as dump-flows would show it.
      expect(formatInstructions(decodeInstructionBytes(encodeInstructionsToBytes(instrs)))).toBe(k.printed);
    });
  }
});

describe('printed text is a fixed point', () => {
  // OVS's printing can drop detail (an equal NAT range bound, enqueue's output max_len), so the property is that
  // what we print parses back to something that prints the same, not that it reproduces the original bytes.
  for (const k of CASES) {
    it(k.printed, () => {
      const ctx = ctxFor(k.match);
      const printed = formatInstructions(decodeInstructionBytes(encodeInstructionsToBytes(parseInstructions(k.printed, { ...ctx, hasVlan: true }))));
      expect(printed).toBe(k.printed);
    });
  }
});

describe.runIf(hasOvsOfctl())('OVS agreement', () => {
  let captured: Uint8Array[] = [];
  beforeAll(async () => {
    captured = await captureFlowMods(CASES.map(flowText), ['--no-names']);
  }, 60_000);

  it('ovs-ofctl parse-flow prints the recorded text', () => {
    const mismatches = CASES.map((k) => ({ k: k.actions, ovs: ofctlParseFlow(flowText(k)).replace(/^.*actions=/, ''), want: k.printed })).filter((x) => x.ovs !== x.want);
    expect(mismatches).toEqual([]);
  });

  it('our encoding of each text equals the bytes ovs-ofctl sends', () => {
    expect(captured.length).toBe(CASES.length);
    const mismatches: { actions: string; ours: string; ovs: string }[] = [];
    CASES.forEach((k, i) => {
      const msg = captured[i]!;
      const matchLen = (msg[50]! << 8) | msg[51]!;
      const ovs = toHex(msg.subarray(48 + ((matchLen + 7) & ~7)));
      const ours = toHex(encodeInstructionsToBytes(parseInstructions(k.actions, ctxFor(k.match))));
      if (ours !== ovs) mismatches.push({ actions: k.actions, ours, ovs });
    });
    expect(mismatches).toEqual([]);
  });

  it('formatting the bytes ovs-ofctl sends gives its text', () => {
    const mismatches = CASES.flatMap((k, i) => {
      const msg = captured[i]!;
      const matchLen = (msg[50]! << 8) | msg[51]!;
      const text = formatInstructions(decodeInstructionBytes(msg.subarray(48 + ((matchLen + 7) & ~7))));
      return text === k.printed ? [] : [{ actions: k.actions, text, want: k.printed }];
    });
    expect(mismatches).toEqual([]);
  });

  it('ofp-print of a FLOW_MOD with our bytes gives the same text', () => {
    const mismatches = CASES.flatMap((k, i) => {
      // Reuse OVS's own match bytes so prerequisites are satisfied, with our instructions after them.
      const msg = captured[i]!;
      const matchLen = (msg[50]! << 8) | msg[51]!;
      const ours = encodeInstructionsToBytes(parseInstructions(k.actions, ctxFor(k.match)));
      const hexMsg = toHex(flowModBytes(msg.subarray(52, 48 + matchLen), ours));
      const r = spawnSync('ovs-ofctl', ['ofp-print', hexMsg], { encoding: 'utf8' });
      const text = /actions=(.*)$/m.exec(r.stdout)?.[1]?.trim() ?? r.stdout + r.stderr;
      return text === k.printed ? [] : [{ actions: k.actions, text, want: k.printed }];
    });
    expect(mismatches).toEqual([]);
  });
});

describe('parseActions / formatActions', () => {
  it('plain action lists', () => {
    expect(parseActions('output:1, resubmit(,10)')).toEqual([
      { type: 'output', port: 1, maxLen: 0 },
      { type: 'nx_resubmit', inPort: 0xfff8, table: 10 },
    ]);
    expect(formatActions([])).toBe('drop');
    expect(parseActions('drop')).toEqual([]);
    expect(parseInstructions('')).toEqual([]);
    expect(parseInstructions('drop')).toEqual<Instruction[]>([]);
  });

  it('rejects instructions in a plain action list', () => {
    expect(() => parseActions('goto_table:1')).toThrow(/goto_table:1/);
  });
});

const ERRORS: readonly { text: string; token: string }[] = [
  { text: 'output:1,frobnicate:3', token: 'frobnicate:3' },
  { text: 'output:foo', token: 'output:foo' },
  { text: 'resubmit(,300)', token: 'resubmit(,300)' },
  { text: 'resubmit(,)', token: 'resubmit(,)' },
  { text: 'load:0x100->NXM_NX_REG0[0..7]', token: 'load:0x100->NXM_NX_REG0[0..7]' },
  { text: 'load:1->NXM_NX_NOPE[]', token: 'load:1->NXM_NX_NOPE[]' },
  { text: 'move:NXM_NX_REG0[0..7]->NXM_NX_REG1[0..3]', token: 'move:NXM_NX_REG0[0..7]->NXM_NX_REG1[0..3]' },
  { text: 'move:NXM_NX_REG0[30..40]->NXM_NX_REG1[]', token: 'move:NXM_NX_REG0[30..40]->NXM_NX_REG1[]' },
  { text: 'set_field:1.2.3.4', token: 'set_field:1.2.3.4' },
  { text: 'set_field:zz->eth_src', token: 'set_field:zz->eth_src' },
  { text: 'conjunction(1,4/3)', token: 'conjunction(1,4/3)' },
  { text: 'note:0g', token: 'note:0g' },
  { text: 'ct(commit,bogus)', token: 'ct(commit,bogus)' },
  { text: 'clone(output:1', token: 'clone(output:1' },
  { text: 'mod_tp_src:80', token: 'mod_tp_src:80' },
  { text: 'sample(collector_set_id=1)', token: 'sample(collector_set_id=1)' },
  { text: 'goto_table:1,goto_table:2', token: 'goto_table:2' },
  { text: 'goto_table:9,output:1', token: 'output:1' },
  { text: 'multipath(eth_src,50,nope,1,0,NXM_NX_REG0[0..15])', token: 'multipath(eth_src,50,nope,1,0,NXM_NX_REG0[0..15])' },
];

describe('syntax errors name the offending token', () => {
  for (const e of ERRORS) {
    it(e.text, () => {
      let err: unknown;
      try {
        parseInstructions(e.text);
      } catch (x) {
        err = x;
      }
      expect(err).toBeInstanceOf(ActionSyntaxError);
      expect((err as ActionSyntaxError).token).toBe(e.token);
      expect((err as Error).message).toContain(e.token.split(/[:(]/)[0]);
    });
  }

  it('deep clone nesting is rejected, not a stack overflow', () => {
    const deep = 'clone('.repeat(5000) + 'output:1' + ')'.repeat(5000);
    expect(() => parseActions(deep)).toThrow(ActionSyntaxError);
  });
});
