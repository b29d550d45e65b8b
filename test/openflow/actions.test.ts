// Actions, binary form: one byte fixture per action type (hex written field by field, mostly captured from
// `ovs-ofctl -O OpenFlow13 add-flow`), each checked in both directions; OVS agreement through `ovs-ofctl
// ofp-print`; round trips (fixtures and fast-check); a malformed-input table.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Reader } from '../../src/openflow/reader.js';
import { Writer } from '../../src/openflow/writer.js';
import { CodecError } from '../../src/openflow/errors.js';
import { OFPET, OFPBAC, OFPBMC } from '../../src/openflow/consts.js';
import { NXERR, ONFERR } from '../../src/openflow/action-check.js';
import { OFPAT, NXAST, ONFACT, OFPIT } from '../../src/openflow/action-consts.js';
import { actionEncodingLength, actionsEncodingLength, decodeActions, encodeActions, MAX_ACTION_NESTING } from '../../src/openflow/actions.js';
import type { Action, FieldRef } from '../../src/openflow/types.js';
import { hasOvsOfctl } from '../helpers/ofctl-capture.js';
import { MATCH, applyActionsBytes, decodeActionBytes, encodeActionsToBytes, ofpPrintActions } from '../helpers/action-bytes.js';
import { hex, toHex } from '../helpers/hex.js';

const REG0: FieldRef = { field: 'reg0', header: 0x00010004 };
const ETH_SRC: FieldRef = { field: 'NXM_OF_ETH_SRC', header: 0x00000406 };
const ETH_DST: FieldRef = { field: 'NXM_OF_ETH_DST', header: 0x00000206 };
const TUN_DST: FieldRef = { field: 'tun_dst', header: 0x00014004 };
const NX = '00002320'; // NX_VENDOR_ID
const CT_MATCH = hex(toHex(MATCH.ip), '0001d308', '00000020', '00000030'); // ip, NXM_NX_CT_STATE=+trk-inv

interface Fixture {
  readonly name: string;
  readonly action: Action;
  readonly bytes: Uint8Array;
  /** What `ovs-ofctl ofp-print` prints for these bytes, with the match it needs (absent: OVS has no such action). */
  readonly ovs?: { readonly match: Uint8Array; readonly text: string };
  /**
   * The error decoding the bytes as an action list gives, as OVS gives it: actions the codec can encode that OVS
   * does not take in OpenFlow 1.3 (or not on their own), so the decoder refuses them.
   */
  readonly refused?: { readonly type: number; readonly code: number };
}

const REFUSED = (code: number): Fixture['refused'] => ({ type: OFPET.BAD_ACTION, code });

const u8 = (h: string): Uint8Array => hex(h);

const ACTION_FIXTURES: readonly Fixture[] = [
  {
    name: 'output',
    action: { type: 'output', port: 1, maxLen: 0 },
    bytes: hex('0000', /* OFPAT_OUTPUT */ '0010', /* len 16 */ '00000001', /* port 1 */ '0000', /* max_len */ '000000000000' /* pad */),
    ovs: { match: MATCH.none, text: 'output:1' },
  },
  {
    name: 'output to CONTROLLER',
    action: { type: 'output', port: 0xfffffffd, maxLen: 0xffff },
    bytes: hex('0000', /* OFPAT_OUTPUT */ '0010', /* len */ 'fffffffd', /* OFPP_CONTROLLER */ 'ffff', /* max_len NO_BUFFER */ '000000000000'),
    ovs: { match: MATCH.none, text: 'CONTROLLER:65535' },
  },
  {
    name: 'copy_ttl_out',
    action: { type: 'copy_ttl_out' },
    bytes: hex('000b', /* OFPAT_COPY_TTL_OUT */ '0008', /* len */ '00000000' /* pad */),
    refused: REFUSED(OFPBAC.BAD_TYPE),
  },
  {
    name: 'copy_ttl_in',
    action: { type: 'copy_ttl_in' },
    bytes: hex('000c', /* OFPAT_COPY_TTL_IN */ '0008', /* len */ '00000000' /* pad */),
    refused: REFUSED(OFPBAC.BAD_TYPE),
  },
  {
    name: 'set_mpls_ttl',
    action: { type: 'set_mpls_ttl', ttl: 5 },
    bytes: hex('000f', /* OFPAT_SET_MPLS_TTL */ '0008', /* len */ '05', /* mpls_ttl */ '000000' /* pad */),
    ovs: { match: MATCH.mpls, text: 'set_mpls_ttl(5)' },
  },
  {
    name: 'dec_mpls_ttl',
    action: { type: 'dec_mpls_ttl' },
    bytes: hex('0010', /* OFPAT_DEC_MPLS_TTL */ '0008', /* len */ '00000000' /* pad */),
    ovs: { match: MATCH.mpls, text: 'dec_mpls_ttl' },
  },
  {
    name: 'push_vlan',
    action: { type: 'push_vlan', ethertype: 0x8100 },
    bytes: hex('0011', /* OFPAT_PUSH_VLAN */ '0008', /* len */ '8100', /* ethertype */ '0000' /* pad */),
    ovs: { match: MATCH.none, text: 'push_vlan:0x8100' },
  },
  {
    name: 'pop_vlan',
    action: { type: 'pop_vlan' },
    bytes: hex('0012', /* OFPAT_POP_VLAN */ '0008', /* len */ '00000000' /* pad */),
    ovs: { match: MATCH.vlan, text: 'pop_vlan' },
  },
  {
    name: 'push_mpls',
    action: { type: 'push_mpls', ethertype: 0x8847 },
    bytes: hex('0013', /* OFPAT_PUSH_MPLS */ '0008', /* len */ '8847', /* ethertype */ '0000' /* pad */),
    ovs: { match: MATCH.none, text: 'push_mpls:0x8847' },
  },
  {
    name: 'pop_mpls',
    action: { type: 'pop_mpls', ethertype: 0x0800 },
    bytes: hex('0014', /* OFPAT_POP_MPLS */ '0008', /* len */ '0800', /* ethertype */ '0000' /* pad */),
    ovs: { match: MATCH.mpls, text: 'pop_mpls:0x0800' },
  },
  {
    name: 'set_queue',
    action: { type: 'set_queue', queueId: 4 },
    bytes: hex('0015', /* OFPAT_SET_QUEUE */ '0008', /* len */ '00000004' /* queue_id */),
    ovs: { match: MATCH.none, text: 'set_queue:4' },
  },
  {
    name: 'group',
    action: { type: 'group', groupId: 3 },
    bytes: hex('0016', /* OFPAT_GROUP */ '0008', /* len */ '00000003' /* group_id */),
    ovs: { match: MATCH.none, text: 'group:3' },
  },
  {
    name: 'set_nw_ttl',
    action: { type: 'set_nw_ttl', ttl: 5 },
    bytes: hex('0017', /* OFPAT_SET_NW_TTL */ '0008', /* len */ '05', /* nw_ttl */ '000000' /* pad */),
    ovs: { match: MATCH.ip, text: 'mod_nw_ttl:5' },
  },
  {
    name: 'dec_nw_ttl',
    action: { type: 'dec_nw_ttl' },
    bytes: hex('0018', /* OFPAT_DEC_NW_TTL */ '0008', /* len */ '00000000' /* pad */),
    ovs: { match: MATCH.ip, text: 'dec_ttl' },
  },
  {
    name: 'set_field eth_src',
    action: { type: 'set_field', field: { field: 'eth_src', value: u8('120000ffffff') } },
    bytes: hex('0019', /* OFPAT_SET_FIELD */ '0010', /* len */ '80000806', /* OXM_OF_ETH_SRC */ '120000ffffff', /* value */ '0000' /* pad */),
    ovs: { match: MATCH.none, text: 'set_field:12:00:00:ff:ff:ff->eth_src' },
  },
  {
    name: 'set_field reg0 (NXM header inside OFPAT_SET_FIELD, as OVS sends it)',
    action: { type: 'set_field', field: { field: 'reg0', value: u8('00000001') } },
    bytes: hex('0019', /* OFPAT_SET_FIELD */ '0010', /* len */ '00010004', /* NXM_NX_REG0 */ '00000001', /* value */ '00000000' /* pad */),
    ovs: { match: MATCH.none, text: 'set_field:0x1->reg0' },
  },
  {
    name: 'push_pbb',
    action: { type: 'push_pbb', ethertype: 0x88e7 },
    bytes: hex('001a', /* OFPAT_PUSH_PBB */ '0008', /* len */ '88e7', /* ethertype */ '0000' /* pad */),
    refused: REFUSED(OFPBAC.BAD_TYPE),
  },
  {
    name: 'pop_pbb',
    action: { type: 'pop_pbb' },
    bytes: hex('001b', /* OFPAT_POP_PBB */ '0008', /* len */ '00000000' /* pad */),
    refused: REFUSED(OFPBAC.BAD_TYPE),
  },
  {
    name: 'resubmit (NXAST_RESUBMIT_TABLE)',
    action: { type: 'nx_resubmit', inPort: 0xfff8, table: 50 },
    bytes: hex('ffff', /* OFPAT_EXPERIMENTER */ '0010', /* len */ NX, '000e', /* NXAST_RESUBMIT_TABLE */ 'fff8', /* in_port IN_PORT */ '32', /* table 50 */ '000000' /* pad */),
    ovs: { match: MATCH.none, text: 'resubmit(,50)' },
  },
  {
    name: 'resubmit (NXAST_RESUBMIT)',
    action: { type: 'nx_resubmit', inPort: 3 },
    bytes: hex('ffff', '0010', NX, '0001', /* NXAST_RESUBMIT */ '0003', /* in_port */ '00000000' /* pad */),
    ovs: { match: MATCH.none, text: 'resubmit:3' },
  },
  {
    name: 'resubmit (NXAST_RESUBMIT_TABLE_CT)',
    action: { type: 'nx_resubmit', inPort: 0xfff8, table: 2, ct: true },
    bytes: hex('ffff', '0010', NX, '002c', /* NXAST_RESUBMIT_TABLE_CT */ 'fff8', /* in_port */ '02', /* table */ '000000' /* pad */),
    ovs: { match: CT_MATCH, text: 'resubmit(,2,ct)' },
  },
  {
    name: 'reg_move',
    action: { type: 'nx_reg_move', nBits: 48, srcOfs: 0, dstOfs: 0, src: ETH_SRC, dst: ETH_DST },
    bytes: hex('ffff', '0018', /* len 24 */ NX, '0006', /* NXAST_REG_MOVE */ '0030', /* n_bits 48 */ '0000', /* src_ofs */ '0000', /* dst_ofs */ '00000406', /* src NXM_OF_ETH_SRC */ '00000206' /* dst NXM_OF_ETH_DST */),
    ovs: { match: MATCH.none, text: 'move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]' },
  },
  {
    name: 'reg_load',
    action: { type: 'nx_reg_load', ofs: 0, nBits: 32, dst: TUN_DST, value: 0x0a000001n },
    bytes: hex('ffff', '0018', NX, '0007', /* NXAST_REG_LOAD */ '001f', /* ofs 0, n_bits-1 31 */ '00014004', /* NXM_NX_TUN_IPV4_DST */ '000000000a000001' /* value */),
    ovs: { match: MATCH.none, text: 'load:0xa000001->NXM_NX_TUN_IPV4_DST[]' },
  },
  {
    name: 'reg_load2 (experimenter OXM, masked)',
    action: { type: 'nx_reg_load2', field: { field: 'tun_erspan_ver', value: u8('01'), mask: u8('0f') } },
    bytes: hex('ffff', '0018', NX, '0021', /* NXAST_REG_LOAD2 */ 'ffff1906', /* NXOXM_ET_ERSPAN_VER, masked, len 6 */ NX, /* experimenter */ '01', /* value */ '0f', /* mask */ '00000000' /* pad */),
    ovs: { match: MATCH.none, text: 'set_field:1/0xf->tun_erspan_ver' },
  },
  {
    name: 'clone',
    action: { type: 'nx_clone', actions: [{ type: 'nx_resubmit', inPort: 1, table: 50 }] },
    bytes: hex('ffff', '0020', /* len 32 */ NX, '002a', /* NXAST_CLONE */ '000000000000', /* pad */ 'ffff0010', NX, '000e', '0001', '32', '000000' /* resubmit(1,50) */),
    ovs: { match: MATCH.none, text: 'clone(resubmit(1,50))' },
  },
  {
    name: 'ct with nat',
    action: {
      type: 'nx_ct',
      flags: 1,
      zoneOfs: 0,
      zoneNBits: 0,
      zoneImm: 5,
      recircTable: 255,
      alg: 0,
      actions: [{ type: 'nx_nat', flags: 0x11, rangePresent: 0x33, ipv4Min: 0x01020304, ipv4Max: 0x01020305, protoMin: 100, protoMax: 200 }],
    },
    bytes: hex(
      'ffff', '0038', /* len 56 */ NX, '0023', /* NXAST_CT */ '0001', /* flags COMMIT */ '00000000', /* zone_src: none */ '0005', /* zone 5 */
      'ff', /* recirc_table NONE */ '000000', /* pad */ '0000', /* alg */
      'ffff', '0020', NX, '0024', /* NXAST_NAT */ '0000', /* pad */ '0011', /* flags SRC|PROTO_RANDOM */ '0033', /* range_present */
      '01020304', /* ipv4 min */ '01020305', /* ipv4 max */ '0064', /* proto min */ '00c8', /* proto max */ '00000000' /* pad */,
    ),
    ovs: { match: MATCH.ip, text: 'ct(commit,zone=5,nat(src=1.2.3.4-1.2.3.5:100-200,random))' },
  },
  {
    name: 'ct with zone from a register',
    action: { type: 'nx_ct', flags: 0, zoneSrc: REG0, zoneOfs: 0, zoneNBits: 16, zoneImm: 0, recircTable: 3, alg: 21, actions: [] },
    bytes: hex('ffff', '0018', NX, '0023', '0000', /* flags */ '00010004', /* zone_src NXM_NX_REG0 */ '000f', /* ofs 0, n_bits 16 */ '03', /* table 3 */ '000000', '0015' /* alg ftp */),
    ovs: { match: MATCH.tcp, text: 'ct(table=3,zone=NXM_NX_REG0[0..15],alg=ftp)' },
  },
  {
    name: 'ct_clear',
    action: { type: 'nx_ct_clear' },
    bytes: hex('ffff', '0010', NX, '002b', /* NXAST_CT_CLEAR */ '000000000000'),
    ovs: { match: MATCH.none, text: 'ct_clear' },
  },
  {
    name: 'nat (IPv6 range, outside ct)',
    action: { type: 'nx_nat', flags: 0x0e, rangePresent: 0x0c | 0x10, ipv6Min: u8('fe800000000000000000000000000001'), ipv6Max: u8('fe800000000000000000000000000002'), protoMin: 80 },
    bytes: hex('ffff', '0038', NX, '0024', '0000', '000e', /* DST|PERSISTENT|PROTO_HASH */ '001c', /* IPV6_MIN|IPV6_MAX|PROTO_MIN */
      'fe800000000000000000000000000001', 'fe800000000000000000000000000002', '0050', /* proto min 80 */ '000000000000' /* pad */),
    // OVS takes nat only inside ct (ofpacts_verify).
    refused: REFUSED(OFPBAC.BAD_SET_ARGUMENT),
  },
  {
    name: 'conjunction',
    action: { type: 'nx_conjunction', clause: 1, nClauses: 3, id: 1 },
    bytes: hex('ffff', '0010', NX, '0022', /* NXAST_CONJUNCTION */ '01', /* clause (0-based) */ '03', /* n_clauses */ '00000001' /* id */),
    ovs: { match: MATCH.none, text: 'conjunction(1,2/3)' },
  },
  {
    name: 'learn',
    action: {
      type: 'nx_learn',
      idleTimeout: 0,
      hardTimeout: 0,
      priority: 0x8000,
      cookie: 0n,
      flags: 0,
      tableId: 1,
      finIdleTimeout: 0,
      finHardTimeout: 0,
      specs: u8('000c0000080200000000080200000030000004060000000002060000101000000002000000000000'),
    },
    bytes: hex(
      'ffff', '0048', NX, '0010', /* NXAST_LEARN */ '0000', /* idle */ '0000', /* hard */ '8000', /* priority */ '0000000000000000', /* cookie */
      '0000', /* flags */ '01', /* table */ '00', /* pad */ '0000', /* fin_idle */ '0000', /* fin_hard */
      '000c', '00000802', '0000', '00000802', '0000', /* match VLAN_TCI[0..11] from itself */
      '0030', '00000406', '0000', '00000206', '0000', /* match ETH_DST[] = ETH_SRC[] */
      '1010', '00000002', '0000', /* output IN_PORT[] */ '00000000' /* end + pad */,
    ),
    ovs: { match: MATCH.none, text: 'learn(table=1,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])' },
  },
  {
    name: 'note',
    action: { type: 'nx_note', note: u8('010203000000') },
    bytes: hex('ffff', '0010', NX, '0008', /* NXAST_NOTE */ '010203000000' /* note, zero padded */),
    ovs: { match: MATCH.none, text: 'note:01.02.03.00.00.00' },
  },
  {
    name: 'dec_ttl (NXAST_DEC_TTL)',
    action: { type: 'nx_dec_ttl' },
    // OVS accepts NXAST_DEC_TTL only in OpenFlow 1.0: OFPBAC_BAD_EXP_TYPE (OVS's BAD_VENDOR_TYPE) in 1.3.
    bytes: hex('ffff', '0010', NX, '0012', /* NXAST_DEC_TTL */ '000000000000'),
    refused: REFUSED(OFPBAC.BAD_EXP_TYPE),
  },
  {
    name: 'dec_ttl with controller ids',
    action: { type: 'nx_dec_ttl', controllerIds: [1, 2] },
    bytes: hex('ffff', '0018', NX, '0015', /* NXAST_DEC_TTL_CNT_IDS */ '0002', /* n_controllers */ '00000000', /* zeros */ '0001', '0002', /* ids */ '00000000' /* pad */),
    ovs: { match: MATCH.ip, text: 'dec_ttl(1,2)' },
  },
  {
    name: 'controller (NXAST_CONTROLLER)',
    action: { type: 'nx_controller', maxLen: 0xffff, controllerId: 3, reason: 0 },
    bytes: hex('ffff', '0010', NX, '0014', /* NXAST_CONTROLLER */ 'ffff', /* max_len */ '0003', /* controller_id */ '00', /* reason no_match */ '00' /* pad */),
    ovs: { match: MATCH.none, text: 'controller(reason=no_match,id=3)' },
  },
  {
    name: 'controller2 with userdata',
    action: { type: 'nx_controller2', controllerId: 3, reason: 0, userdata: u8('0102') },
    bytes: hex(
      'ffff', '0028', NX, '0025', /* NXAST_CONTROLLER2 */ '000000000000', /* pad */
      '0001', '0008', '0003', '0000', /* CONTROLLER_ID 3 (u16 + 2 pad) */
      '0002', '0005', '00', '000000', /* REASON no_match */
      '0003', '0006', '0102', '0000' /* USERDATA 01.02 */,
    ),
    ovs: { match: MATCH.none, text: 'controller(reason=no_match,id=3,userdata=01.02)' },
  },
  {
    name: 'controller2 with pause and meter',
    action: { type: 'nx_controller2', maxLen: 100, pause: true, meterId: 5 },
    bytes: hex('ffff', '0028', NX, '0025', '000000000000', '0000', '0008', '0064', '0000', /* MAX_LEN 100 */ '0004', '0004', '00000000', /* PAUSE */ '0005', '0008', '00000005' /* METER_ID 5 */),
    ovs: { match: MATCH.none, text: 'controller(max_len=100,pause,meter_id=5)' },
  },
  {
    name: 'output_reg',
    action: { type: 'nx_output_reg', ofs: 0, nBits: 16, src: REG0, maxLen: 0xffff },
    bytes: hex('ffff', '0018', NX, '000f', /* NXAST_OUTPUT_REG */ '000f', /* ofs 0, n_bits 16 */ '00010004', /* src NXM_NX_REG0 */ 'ffff', /* max_len */ '000000000000' /* zero */),
    ovs: { match: MATCH.none, text: 'output:NXM_NX_REG0[0..15]' },
  },
  {
    name: 'check_pkt_larger',
    action: { type: 'nx_check_pkt_larger', pktLen: 1464, ofs: 0, dst: REG0 },
    bytes: hex('ffff', '0018', NX, '0031', /* NXAST_CHECK_PKT_LARGER */ '05b8', /* pkt_len 1464 */ '0000', /* offset */ '00010004', /* dst NXM_NX_REG0 */ '000000000000' /* pad */),
    ovs: { match: MATCH.none, text: 'check_pkt_larger(1464)->NXM_NX_REG0[0]' },
  },
  {
    name: 'output_reg2',
    action: { type: 'nx_output_reg2', ofs: 0, nBits: 16, src: REG0, maxLen: 0xffff },
    bytes: hex('ffff', '0018', NX, '0020', /* NXAST_OUTPUT_REG2 */ '000f', /* ofs_nbits */ 'ffff', /* max_len */ '00010004', /* src */ '000000000000' /* pad */),
    ovs: { match: MATCH.none, text: 'output:NXM_NX_REG0[0..15]' },
  },
  {
    name: 'multipath',
    action: { type: 'nx_multipath', fields: 0, basis: 50, algorithm: 0, maxLink: 0, arg: 0, ofs: 0, nBits: 16, dst: REG0 },
    bytes: hex('ffff', '0020', NX, '000a', /* NXAST_MULTIPATH */ '0000', /* fields eth_src */ '0032', /* basis */ '0000', /* pad */ '0000', /* modulo_n */
      '0000', /* max_link */ '00000000', /* arg */ '0000', /* pad */ '000f', /* ofs_nbits */ '00010004' /* dst */),
    ovs: { match: MATCH.none, text: 'multipath(eth_src,50,modulo_n,1,0,NXM_NX_REG0[0..15])' },
  },
  {
    name: 'exit',
    action: { type: 'nx_exit' },
    bytes: hex('ffff', '0010', NX, '0011', /* NXAST_EXIT */ '000000000000'),
    ovs: { match: MATCH.none, text: 'exit' },
  },
  {
    name: 'sample',
    action: { type: 'nx_sample', version: 1, probability: 100, collectorSetId: 1, obsDomainId: 2, obsPointId: 3 },
    bytes: hex('ffff', '0018', NX, '001d', /* NXAST_SAMPLE */ '0064', /* probability */ '00000001', /* collector_set_id */ '00000002', /* obs_domain_id */ '00000003' /* obs_point_id */),
    ovs: { match: MATCH.none, text: 'sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3)' },
  },
  {
    name: 'sample2',
    action: { type: 'nx_sample', version: 2, probability: 100, collectorSetId: 1, obsDomainId: 2, obsPointId: 3, samplingPort: 5 },
    bytes: hex('ffff', '0020', NX, '0026', /* NXAST_SAMPLE2 */ '0064', '00000001', '00000002', '00000003', '0005', /* sampling_port */ '00', /* direction */ '0000000000' /* pad */),
    ovs: { match: MATCH.none, text: 'sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3,sampling_port=5)' },
  },
  {
    name: 'sample3',
    action: { type: 'nx_sample', version: 3, probability: 100, collectorSetId: 1, obsDomainId: 2, obsPointId: 3, samplingPort: 5, direction: 1 },
    bytes: hex('ffff', '0020', NX, '0029', /* NXAST_SAMPLE3 */ '0064', '00000001', '00000002', '00000003', '0005', '01', /* ingress */ '0000000000'),
    ovs: { match: MATCH.none, text: 'sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3,sampling_port=5,ingress)' },
  },
  {
    name: 'fin_timeout',
    action: { type: 'nx_fin_timeout', finIdleTimeout: 5, finHardTimeout: 10 },
    bytes: hex('ffff', '0010', NX, '0013', /* NXAST_FIN_TIMEOUT */ '0005', /* fin_idle */ '000a', /* fin_hard */ '0000' /* pad */),
    ovs: { match: MATCH.tcp, text: 'fin_timeout(idle_timeout=5,hard_timeout=10)' },
  },
  {
    name: 'ONF copy_field',
    action: { type: 'onf_copy_field', nBits: 48, srcOffset: 0, dstOffset: 0, src: ETH_SRC, dst: ETH_DST },
    bytes: hex('ffff', '0020', '4f4e4600', /* ONF_EXPERIMENTER_ID */ '0c80', /* ONFACT_COPY_FIELD 3200 */ '0000', /* pad */ '0030', /* n_bits */
      '0000', /* src_offset */ '0000', /* dst_offset */ '0000', /* pad */ '00000406', '00000206', /* src, dst */ '00000000' /* pad */),
    ovs: { match: MATCH.none, text: 'move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]' },
  },
  {
    name: 'unknown Nicira subtype (NXAST_POP_QUEUE) kept raw',
    action: { type: 'experimenter', experimenter: 0x2320, subtype: 5, raw: u8('ffff0010000023200005000000000000') },
    bytes: hex('ffff', '0010', NX, '0005', /* NXAST_POP_QUEUE */ '000000000000'),
    ovs: { match: MATCH.none, text: 'pop_queue' },
  },
  {
    name: 'unknown experimenter',
    action: { type: 'experimenter', experimenter: 0x00001234, raw: u8('ffff00100000123400aabbccddeeff00') },
    bytes: hex('ffff', '0010', '00001234', /* experimenter */ '00aabbccddeeff00' /* body */),
    // OVS knows no experimenter but Nicira and ONF: OFPBAC_BAD_EXPERIMENTER (OVS's BAD_VENDOR).
    refused: REFUSED(OFPBAC.BAD_EXPERIMENTER),
  },
];

describe('action fixtures', () => {
  for (const f of ACTION_FIXTURES) {
    it(`${f.name}: decode`, () => {
      if (f.refused) expect(errorOf(() => decodeActionBytes(f.bytes))).toEqual(f.refused);
      else expect(decodeActionBytes(f.bytes)).toEqual([f.action]);
    });
    it(`${f.name}: encode`, () => {
      expect(toHex(encodeActionsToBytes([f.action]))).toBe(toHex(f.bytes));
      expect(actionEncodingLength(f.action)).toBe(f.bytes.length);
    });
  }

  it('covers every Action variant', () => {
    const covered = new Set(ACTION_FIXTURES.map((f) => f.action.type));
    const all: Action['type'][] = [
      'output', 'copy_ttl_out', 'copy_ttl_in', 'set_mpls_ttl', 'dec_mpls_ttl', 'push_vlan', 'pop_vlan', 'push_mpls', 'pop_mpls',
      'set_queue', 'group', 'set_nw_ttl', 'dec_nw_ttl', 'set_field', 'push_pbb', 'pop_pbb', 'nx_resubmit', 'nx_reg_move',
      'nx_reg_load', 'nx_reg_load2', 'nx_clone', 'nx_ct', 'nx_ct_clear', 'nx_nat', 'nx_conjunction', 'nx_learn', 'nx_note',
      'nx_dec_ttl', 'nx_controller', 'nx_controller2', 'nx_output_reg', 'nx_output_reg2', 'nx_check_pkt_larger', 'nx_multipath', 'nx_exit',
      'nx_sample', 'nx_fin_timeout', 'onf_copy_field', 'experimenter',
    ];
    expect(all.filter((t) => !covered.has(t))).toEqual([]);
  });

  it('spec constants', () => {
    expect([OFPAT.OUTPUT, OFPAT.SET_FIELD, OFPAT.POP_PBB, OFPAT.EXPERIMENTER]).toEqual([0, 25, 27, 0xffff]);
    expect([NXAST.RESUBMIT_TABLE, NXAST.CLONE, NXAST.CT_CLEAR, NXAST.RESUBMIT_TABLE_CT]).toEqual([14, 42, 43, 44]);
    expect(ONFACT.COPY_FIELD).toBe(3200);
    expect([OFPIT.GOTO_TABLE, OFPIT.METER]).toEqual([1, 6]);
  });
});

describe.runIf(hasOvsOfctl())('OVS agreement (ovs-ofctl ofp-print of our bytes)', () => {
  for (const f of ACTION_FIXTURES) {
    if (!f.ovs) continue;
    const ovs = f.ovs;
    it(`${f.name}: ${ovs.text}`, () => {
      expect(ofpPrintActions(ovs.match, applyActionsBytes(encodeActionsToBytes([f.action])))).toBe(ovs.text);
    });
  }
});

describe('round trips', () => {
  // A conjunction stands only with notes (NXBAC_BAD_CONJUNCTION otherwise), so the list leaves it out.
  const all = ACTION_FIXTURES.filter((f) => !f.refused && f.action.type !== 'nx_conjunction').map((f) => f.action);
  const allBytes = encodeActionsToBytes(all);

  it('a list of every fixture: decode(encode(x)) equals x, encode(decode(b)) equals b', () => {
    expect(decodeActionBytes(allBytes)).toEqual(all);
    expect(toHex(encodeActionsToBytes(decodeActionBytes(allBytes)))).toBe(toHex(allBytes));
    expect(actionsEncodingLength(all)).toBe(allBytes.length);
  });

  it('encodes at an offset into a larger buffer and decodes from there', () => {
    const buf = new Uint8Array(allBytes.length + 24).fill(0xee);
    const w = new Writer(buf, 16);
    encodeActions(w, all);
    expect(w.pos).toBe(16 + allBytes.length);
    expect(buf.subarray(0, 16).every((b) => b === 0xee)).toBe(true);
    expect(buf.subarray(w.pos).every((b) => b === 0xee)).toBe(true);
    const r = new Reader(buf, 16);
    expect(decodeActions(r, allBytes.length)).toEqual(all);
    expect(r.pos).toBe(16 + allBytes.length);
  });

  it('decoded byte payloads are views into the input, not copies', () => {
    const note = ACTION_FIXTURES.find((f) => f.name === 'note')!;
    const buf = new Uint8Array(note.bytes);
    const [a] = decodeActionBytes(buf);
    expect(a?.type === 'nx_note' && a.note.buffer).toBe(buf.buffer);
  });

  // Ports OVS outputs to (ofpact_check_output_port): 0..0xfeff and the reserved ports IN_PORT..LOCAL.
  const port = fc.oneof(fc.integer({ min: 0, max: 0xfeff }), fc.integer({ min: 0xfffffff8, max: 0xfffffffe }));
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u8n = fc.integer({ min: 0, max: 0xff });
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const leaf: fc.Arbitrary<Action> = fc.oneof(
    fc.record({ type: fc.constant('output' as const), port, maxLen: u16 }),
    fc.record({ type: fc.constant('push_vlan' as const), ethertype: fc.constantFrom(0x8100, 0x88a8) }),
    fc.record({ type: fc.constant('set_queue' as const), queueId: u32 }),
    fc.record({ type: fc.constant('group' as const), groupId: u32 }),
    fc.record({ type: fc.constant('set_nw_ttl' as const), ttl: u8n }),
    fc.record({ type: fc.constant('nx_resubmit' as const), inPort: u16, table: u8n }),
    fc.record({ type: fc.constant('nx_controller' as const), maxLen: u16, controllerId: u16, reason: u8n }),
    fc.record({ type: fc.constant('nx_fin_timeout' as const), finIdleTimeout: u16, finHardTimeout: u16 }),
    fc.record({ type: fc.constant('nx_check_pkt_larger' as const), pktLen: u16, ofs: fc.integer({ min: 0, max: 31 }), dst: fc.constant(REG0) }),
    fc.record({ type: fc.constant('nx_sample' as const), version: fc.constant(1 as const), probability: fc.integer({ min: 1, max: 0xffff }), collectorSetId: u32, obsDomainId: u32, obsPointId: u32 }),
    fc.record({ type: fc.constant('nx_dec_ttl' as const), controllerIds: fc.array(u16, { maxLength: 9 }) }),
    fc.integer({ min: 0, max: 40 }).map((n) => ({ type: 'nx_note' as const, note: new Uint8Array(((10 + n + 7) & ~7) - 10).fill(7) })),
    fc.tuple(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 1, max: 32 })).chain(([ofs, n]) =>
      fc.bigInt({ min: 0n, max: (1n << BigInt(Math.min(n, 32 - ofs))) - 1n }).map((value) => ({ type: 'nx_reg_load' as const, ofs, nBits: Math.min(n, 32 - ofs), dst: REG0, value })),
    ),
    fc.record({ type: fc.constant('nx_controller2' as const), controllerId: u16, userdata: fc.uint8Array({ maxLength: 12 }) }),
  );
  const action: fc.Arbitrary<Action> = fc.letrec<{ a: Action }>((tie) => ({
    a: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('a'), { maxLength: 3 }).map((actions) => ({ type: 'nx_clone' as const, actions })),
    ),
  })).a;

  it('property: decode(encode(x)) deep-equals x and lengths agree', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 6 }), (actions) => {
        const bytes = encodeActionsToBytes(actions);
        expect(bytes.length % 8).toBe(0);
        expect(decodeActionBytes(bytes)).toEqual(actions);
        expect(toHex(encodeActionsToBytes(decodeActionBytes(bytes)))).toBe(toHex(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('property: random bytes either decode and re-encode identically or throw CodecError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        let decoded: Action[];
        try {
          decoded = decodeActionBytes(b);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
          return;
        }
        // Bytes may hold nonzero padding the typed form cannot carry; the typed form must still be stable.
        const again = encodeActionsToBytes(decoded);
        expect(decodeActionBytes(again)).toEqual(decoded);
      }),
      { numRuns: 2000 },
    );
  });
});

// --------------------------------------------------------------------------------------------------------------
// Malformed input

const clone = (inner: string): string => {
  const len = 16 + inner.length / 2;
  return `ffff${len.toString(16).padStart(4, '0')}${NX}002a000000000000${inner}`;
};

function nestedClones(depth: number): string {
  let s = 'ffff0010000023200011000000000000'; // exit
  for (let i = 0; i < depth; i++) s = clone(s);
  return s;
}

const MALFORMED: readonly { name: string; bytes: string; type: number; code: number }[] = [
  { name: 'shorter than an action header', bytes: '000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'length 0 (would loop forever)', bytes: '0000000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'length not a multiple of 8', bytes: '0000000c0000000100000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'length overruns the list', bytes: '00000018000000010000000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'output truncated to 8 bytes', bytes: '0000000800000001', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'output longer than its struct', bytes: '00000018' + '00000001' + '0000'.padEnd(32, '0'), type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'unknown standard type', bytes: '0063000800000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_TYPE },
  { name: 'Nicira action shorter than 16', bytes: 'ffff000800002320', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'resubmit above its maximum', bytes: 'ffff001800002320000e0001ff000000' + '0000000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'check_pkt_larger bit past its field', bytes: 'ffff001800002320003105b80020' + '00010004' + '000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_SET_LEN },
  { name: 'check_pkt_larger with nonzero padding (NXBRC_MUST_BE_ZERO)', bytes: 'ffff001800002320003105b80000' + '00010004' + '000000000001', type: OFPET.EXPERIMENTER, code: NXERR.MUST_BE_ZERO },
  { name: 'check_pkt_larger longer than 24', bytes: 'ffff002000002320003105b80000' + '00010004' + '000000000000' + '0000000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'reg_load below its minimum', bytes: 'ffff0010000023200007000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'reg_load value wider than n_bits', bytes: 'ffff00180000232000070003' + '00010004' + '00000000000000ff', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_ARGUMENT },
  { name: 'reg_load range past the field', bytes: 'ffff00180000232000070fc1' + '00010004' + '0000000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_SET_LEN },
  { name: 'reg_load to a read-only field (eth_type)', bytes: 'ffff0018000023200007000f' + '00000602' + '0000000000000800', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_SET_ARGUMENT },
  { name: 'reg_load to an unknown field', bytes: 'ffff00180000232000070003' + '0001fe04' + '0000000000000001', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_SET_TYPE },
  { name: 'reg_move field header cut off (an OXM entry, OFPBMC_BAD_LEN)', bytes: 'ffff0018000023200006003000000000' + 'ffff0c0800002320', type: OFPET.BAD_MATCH, code: OFPBMC.BAD_LEN },
  { name: 'reg_move from an unknown field (OFPBMC_BAD_FIELD)', bytes: 'ffff0018000023200006002000000000' + '0001fe04' + '00010004', type: OFPET.BAD_MATCH, code: OFPBMC.BAD_FIELD },
  { name: 'reg_move with nonzero padding (NXBRC_MUST_BE_ZERO)', bytes: 'ffff0020000023200006002000000000' + '00010004' + '00010204' + '0000000000000001', type: OFPET.EXPERIMENTER, code: NXERR.MUST_BE_ZERO },
  { name: 'push_vlan of a non-VLAN ethertype', bytes: '0011000808000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_ARGUMENT },
  { name: 'push_mpls of a non-MPLS ethertype', bytes: '0013000808000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_ARGUMENT },
  { name: 'output to ANY', bytes: '00000010ffffffff0000000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_OUT_PORT },
  { name: 'conjunction with one clause (NXBAC_BAD_CONJUNCTION)', bytes: 'ffff0010000023200022000100000001', type: OFPET.EXPERIMENTER, code: NXERR.BAD_CONJUNCTION },
  { name: 'conjunction beside an output (NXBAC_BAD_CONJUNCTION)', bytes: 'ffff0010000023200022000200000001' + '00000010000000010000000000000000', type: OFPET.EXPERIMENTER, code: NXERR.BAD_CONJUNCTION },
  { name: 'sample with probability 0', bytes: 'ffff001800002320001d' + '0000' + '000000000000000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_ARGUMENT },
  { name: 'ct force without commit', bytes: 'ffff0018000023200023' + '0002' + '00000000' + '0000' + 'ff000000' + '0000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_ARGUMENT },
  { name: 'nat outside ct', bytes: 'ffff0010000023200024000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_SET_ARGUMENT },
  { name: 'unknown Nicira subtype', bytes: 'ffff0010000023200fff000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_EXP_TYPE },
  { name: 'unknown type before a bad length: the type is named first', bytes: '0063000c00000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_TYPE },
  { name: 'clone whose nested action overruns it', bytes: clone('0000001800000001ffff000000000000'), type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: `clone nested ${MAX_ACTION_NESTING + 1} deep`, bytes: nestedClones(MAX_ACTION_NESTING + 1), type: OFPET.BAD_ACTION, code: OFPBAC.BAD_ARGUMENT },
  { name: 'nat naming ranges it has no room for', bytes: 'ffff0010000023200024000000010003', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_ARGUMENT },
  { name: 'dec_ttl_cnt_ids claiming more ids than fit', bytes: 'ffff0010000023200015000900000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'controller2 property overrunning the action (OFPBPC_BAD_LEN)', bytes: 'ffff0018000023200025000000000000' + '0003002001020000', type: OFPET.EXPERIMENTER, code: ONFERR.BPC_BAD_LEN },
  { name: 'controller2 property of an unknown type (OFPBPC_BAD_TYPE)', bytes: 'ffff0018000023200025000000000000' + '0009000800000000', type: OFPET.EXPERIMENTER, code: ONFERR.BPC_BAD_TYPE },
  { name: 'set_field with nonzero padding', bytes: '00190018800008061200000000010000' + '0000000000000001', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_SET_ARGUMENT },
  { name: 'set_field of a read-only field (eth_type)', bytes: '0019001080000a020800000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_SET_ARGUMENT },
  { name: 'set_field with a wrong length (OFPBAC_BAD_SET_LEN)', bytes: '00190010800008051200000000010000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_SET_LEN },
  { name: 'set_field with a mask (OFPBAC_BAD_SET_MASK)', bytes: '00190018' + '8000090c' + '120000000001' + 'ffffffffffff' + '00000000', type: OFPET.EXPERIMENTER, code: ONFERR.BAD_SET_MASK },
  { name: 'set_field of vlan_vid without OFPVID_PRESENT', bytes: '0019001080000c02' + '0005' + '000000000000', type: OFPET.BAD_ACTION, code: OFPBAC.BAD_SET_ARGUMENT },
];

describe('malformed actions', () => {
  for (const m of MALFORMED) {
    it(m.name, () => {
      const b = hex(m.bytes);
      let err: unknown;
      try {
        decodeActionBytes(b);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CodecError);
      expect({ type: (err as CodecError).ofpType, code: (err as CodecError).ofpCode }).toEqual({ type: m.type, code: m.code });
    });
  }

  it('set_field takes zero padding of any length (OVS checks only that it is zero)', () => {
    expect(decodeActionBytes(hex('00190018800008061200000000010000' + '0000000000000000'))).toEqual([{ type: 'set_field', field: { field: 'eth_src', value: u8('120000000001') } }]);
  });

  it(`accepts clone nested exactly ${MAX_ACTION_NESTING} deep`, () => {
    const b = hex(nestedClones(MAX_ACTION_NESTING));
    expect(toHex(encodeActionsToBytes(decodeActionBytes(b)))).toBe(toHex(b));
  });

  it('a 64 KiB chain of nested clones throws CodecError, not a stack overflow', () => {
    let s = '';
    for (let i = 0; i < 4000; i++) s += `ffff0000${NX}002a000000000000`;
    const b = hex(s);
    // 4000 clone headers, each claiming the rest of the buffer (64000 bytes fit a u16 length).
    const v = new DataView(b.buffer);
    for (let i = 0; i < 4000; i++) v.setUint16(i * 16 + 2, b.length - i * 16);
    expect(() => decodeActionBytes(b)).toThrow(CodecError);
  });
});


describe('32-bit field references (NXAST_REG_LOAD, OUTPUT_REG, MULTIPATH)', () => {
  // Only output_reg2, reg_move and copy_field may carry a 64-bit experimenter header; in the older actions a
  // class-0xffff header is a 32-bit field OVS does not know: OFPBAC_BAD_SET_TYPE (mf_vl_mff_mf_from_nxm_header).
  it('output_reg, reg_load and multipath with a class-0xffff field are OFPBAC_BAD_SET_TYPE', () => {
    const outputReg = hex('ffff 0018 00002320 000f', '00ff', 'ffffffff', 'ffff', '000000000000');
    const load = hex('ffff 0018 00002320 0007', '001f', 'ffff0104', '0000000000000005');
    const mp = hex('ffff 0020 00002320 000a', '0000 0032 0000 0002 0003 00000000 0000 001f', 'ffff0104');
    for (const b of [outputReg, load, mp]) expect(errorOf(() => decodeActionBytes(b))).toEqual({ type: OFPET.BAD_ACTION, code: OFPBAC.BAD_SET_TYPE });
  });

  it('tun_metadata, which OVS knows at any length, may be named', () => {
    const outputReg = hex('ffff 0018 00002320 000f', '001f', '0001507c', 'ffff', '000000000000');
    expect(toHex(encodeActionsToBytes(decodeActionBytes(outputReg)))).toBe(toHex(outputReg));
  });

  it('output_reg with nonzero padding is rejected (OVS: OFPBAC_BAD_ARGUMENT)', () => {
    const b = hex('ffff 0018 00002320 000f', '001f', '00010004', 'ffff', '000000000001');
    expect(errorOf(() => decodeActionBytes(b))).toEqual({ type: OFPET.BAD_ACTION, code: OFPBAC.BAD_ARGUMENT });
  });
});

function errorOf(f: () => unknown): { type: number; code: number } | string {
  try {
    f();
  } catch (e) {
    return e instanceof CodecError ? { type: e.ofpType, code: e.ofpCode } : String(e);
  }
  return 'no error';
}
