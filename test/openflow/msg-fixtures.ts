// Byte fixtures for every OF1.3 message type (mqtt-packet style: one comment per field), each with the decoded
// form and a line `ovs-ofctl ofp-print` is expected to print for it.
import type { Message } from '../../src/openflow/types.js';

export const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
export const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
export const u64 = (n: bigint): number[] => [...u32(Number(n >> 32n)), ...u32(Number(n & 0xffffffffn))];
export const zeros = (n: number): number[] => new Array<number>(n).fill(0);
export const str = (s: string, n: number): number[] => [...Buffer.from(s, 'latin1'), ...zeros(n - s.length)];
export const bytes = (...parts: (number | number[])[]): Uint8Array => Uint8Array.from(parts.flat());

/** ofp_header: version, type, length, xid. */
export const header = (type: number, length: number, xid: number, version = 4): number[] => [version, type, ...u16(length), ...u32(xid)];
/** ofp_multipart_request/reply header: ofp_header + type, flags, pad[4]. */
export const mpHeader = (ofpType: number, length: number, xid: number, mpType: number, flags = 0): number[] => [...header(ofpType, length, xid), ...u16(mpType), ...u16(flags), ...zeros(4)];

export const MATCH_EMPTY = [0, 1, 0, 4, /* type OXM, length 4 */ 0, 0, 0, 0 /* pad to 8 */];
export const MATCH_IN_PORT_1 = [
  0, 1, 0, 12, // type OXM, length 12
  0x80, 0x00, 0x00, 0x04, // OXM_OF_IN_PORT, len 4
  0, 0, 0, 1, // in_port=1
  0, 0, 0, 0, // pad to 8
];
export const GOTO_TABLE_1 = [0, 1, 0, 8, /* OFPIT_GOTO_TABLE, len 8 */ 1, 0, 0, 0 /* table 1, pad */];
export const OUTPUT_1 = [
  0, 0, 0, 16, // OFPAT_OUTPUT, len 16
  0, 0, 0, 1, // port 1
  0xff, 0xe5, // max_len
  0, 0, 0, 0, 0, 0, // pad
];
export const GOTO_TABLE_51 = [0, 1, 0, 8, /* OFPIT_GOTO_TABLE, len 8 */ 51, 0, 0, 0 /* table 51, pad */];
export const APPLY_OUTPUT_1 = [0, 4, 0, 24, /* OFPIT_APPLY_ACTIONS, len 24 */ 0, 0, 0, 0, /* pad */ ...OUTPUT_1];

const inPort1 = [{ field: 'in_port', value: Uint8Array.from([0, 0, 0, 1]) }];
const output1 = { type: 'output', port: 1, maxLen: 0xffe5 } as const;
const ETH_FRAME = [...zeros(5), 2, ...zeros(5), 1, 0x88, 0xb5]; // 14 bytes: dst, src, ethertype 0x88b5

export const PORT_1 = [
  0, 0, 0, 1, // port_no
  0, 0, 0, 0, // pad
  0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, // hw_addr
  0, 0, // pad
  ...str('eth0', 16), // name
  0, 0, 0, 0, // config
  0, 0, 0, 4, // state: LIVE
  0, 0, 0x28, 0x20, // curr: 1GB_FD COPPER AUTONEG
  0, 0, 0, 0, // advertised
  0, 0, 0, 0, // supported
  0, 0, 0, 0, // peer
  ...u32(10_000_000), // curr_speed (kbps)
  0, 0, 0, 0, // max_speed
];
const port1 = {
  portNo: 1,
  hwAddr: 'aa:bb:cc:dd:ee:ff',
  name: 'eth0',
  config: 0,
  state: 4,
  curr: 0x2820,
  advertised: 0,
  supported: 0,
  peer: 0,
  currSpeed: 10_000_000,
  maxSpeed: 0,
};

const BUCKET_OUTPUT_1 = [
  0, 32, // len
  0, 1, // weight
  0xff, 0xff, 0xff, 0xff, // watch_port ANY
  0xff, 0xff, 0xff, 0xff, // watch_group ANY
  0, 0, 0, 0, // pad
  ...OUTPUT_1,
];
const bucketOutput1 = { weight: 1, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [output1] };

const FLOW_MOD_BODY = [
  ...u64(0x10n), // cookie
  ...u64(0n), // cookie_mask
  50, // table_id
  0, // command ADD
  0, 0, // idle_timeout
  0, 0, // hard_timeout
  0, 20, // priority
  0xff, 0xff, 0xff, 0xff, // buffer_id NO_BUFFER
  0xff, 0xff, 0xff, 0xff, // out_port ANY
  0xff, 0xff, 0xff, 0xff, // out_group ANY
  0, 1, // flags SEND_FLOW_REM
  0, 0, // pad
  ...MATCH_IN_PORT_1,
  ...APPLY_OUTPUT_1,
  ...GOTO_TABLE_51,
];
const flowModFields = {
  cookie: 0x10n,
  cookieMask: 0n,
  tableId: 50,
  command: 0,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 20,
  bufferId: 0xffffffff,
  outPort: 0xffffffff,
  outGroup: 0xffffffff,
  flags: 1,
  match: inPort1,
  instructions: [{ type: 'apply_actions', actions: [output1] }, { type: 'goto_table', tableId: 51 }],
} as const;

const FLOW_STATS_1 = [
  0, 96, // length
  3, // table_id
  0, // pad
  0, 0, 0, 1, // duration_sec
  0, 0, 0, 2, // duration_nsec
  0, 100, // priority
  0, 10, // idle_timeout
  0, 0, // hard_timeout
  0, 0, // flags
  0, 0, 0, 0, // pad
  ...u64(0xabn), // cookie
  ...u64(5n), // packet_count
  ...u64(500n), // byte_count
  ...MATCH_IN_PORT_1,
  ...GOTO_TABLE_1,
  ...APPLY_OUTPUT_1,
];
const flowStats1 = {
  tableId: 3,
  durationSec: 1,
  durationNsec: 2,
  priority: 100,
  idleTimeout: 10,
  hardTimeout: 0,
  flags: 0,
  cookie: 0xabn,
  packetCount: 5n,
  byteCount: 500n,
  match: inPort1,
  instructions: [{ type: 'goto_table', tableId: 1 }, { type: 'apply_actions', actions: [output1] }],
} as const;
const FLOW_STATS_2 = [
  0, 56, // length
  0, 0, // table_id, pad
  0, 0, 0, 0, 0, 0, 0, 0, // duration
  0, 0, 0, 0, 0, 0, 0, 0, // priority, idle, hard, flags
  0, 0, 0, 0, // pad
  ...u64(0n), ...u64(0n), ...u64(0n), // cookie, packet_count, byte_count
  ...MATCH_EMPTY, // no instructions: drop
];
const flowStats2 = { tableId: 0, durationSec: 0, durationNsec: 0, priority: 0, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 0n, packetCount: 0n, byteCount: 0n, match: [], instructions: [] };

const FLOW_STATS_REQUEST_BODY = [
  0xff, // table_id ALL
  0, 0, 0, // pad
  0xff, 0xff, 0xff, 0xff, // out_port ANY
  0xff, 0xff, 0xff, 0xff, // out_group ANY
  0, 0, 0, 0, // pad
  ...u64(0n), // cookie
  ...u64(0n), // cookie_mask
  ...MATCH_EMPTY,
];
const flowStatsRequestFields = { tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [] };

const TABLE_FEATURES_0 = [
  0, 80, // length
  0, // table_id
  0, 0, 0, 0, 0, // pad
  ...str('classifier', 32), // name
  ...u64(0xffffffffffffffffn), // metadata_match
  ...u64(0xffffffffffffffffn), // metadata_write
  0, 0, 0, 3, // config
  ...u32(1_000_000), // max_entries
  0, 2, 0, 6, 1, 2, 0, 0, // OFPTFPT_NEXT_TABLES, len 6, tables 1 and 2, pad
  0, 8, 0, 4, 0, 0, 0, 0, // OFPTFPT_MATCH, len 4 (no fields), pad
];
const tableFeatures0 = {
  tableId: 0,
  name: 'classifier',
  metadataMatch: 0xffffffffffffffffn,
  metadataWrite: 0xffffffffffffffffn,
  config: 3,
  maxEntries: 1_000_000,
  properties: [
    { type: 2, data: Uint8Array.from([1, 2]) },
    { type: 8, data: new Uint8Array(0) },
  ],
};

export interface Fixture {
  readonly name: string;
  readonly msg: Message;
  readonly bytes: Uint8Array;
  /** A substring of `ovs-ofctl ofp-print` output, or a pattern. */
  readonly ovs: string | RegExp;
  /** OVS is known to refuse this one (unknown experimenter, incomplete table features): don't insist on no errors. */
  readonly ovsRejects?: boolean;
}

const mp = (type: string, xid: number, fields: object = {}, flags = 0): Message => ({ type, xid, flags, ...fields }) as unknown as Message;

export const FIXTURES: readonly Fixture[] = [
  {
    name: 'hello with version bitmap',
    msg: { type: 'hello', xid: 1, version: 4, versions: [4] },
    bytes: bytes(header(0, 16, 1), [0, 1, 0, 8, /* OFPHET_VERSIONBITMAP, len 8 */ 0, 0, 0, 0x10 /* bit 4: OF1.3 */]),
    ovs: 'version bitmap: 0x04',
  },
  {
    name: 'hello OF1.0, no body',
    msg: { type: 'hello', xid: 1, version: 1 },
    bytes: bytes(header(0, 8, 1, 1)),
    ovs: 'OFPT_HELLO (xid=0x1)',
  },
  {
    name: 'hello OF1.5 with 1.0..1.5 and an unknown element',
    msg: { type: 'hello', xid: 2, version: 6, versions: [1, 4, 6], extra: Uint8Array.from([0, 99, 0, 6, 1, 2, 0, 0]) },
    bytes: bytes(header(0, 24, 2, 6), [0, 1, 0, 8, /* VERSIONBITMAP, len 8 */ 0, 0, 0, 0x52 /* 1, 4, 6 */], [0, 99, 0, 6, /* unknown type 99, len 6 */ 1, 2, 0, 0 /* data, pad */]),
    ovs: 'version bitmap: 0x01, 0x04, 0x06',
  },
  {
    name: 'error FLOW_MOD_FAILED/TABLE_FULL',
    msg: { type: 'error', xid: 9, errType: 5, code: 1, data: Uint8Array.from(header(20, 8, 9)) },
    bytes: bytes(header(1, 20, 9), [0, 5, /* OFPET_FLOW_MOD_FAILED */ 0, 1 /* OFPFMFC_TABLE_FULL */], header(20, 8, 9) /* data: the offending message */),
    ovs: 'OFPFMFC_TABLE_FULL',
  },
  {
    name: 'error for a refused OF1.0 hello keeps its version',
    msg: { type: 'error', xid: 3, version: 1, errType: 0, code: 0, data: Uint8Array.from(Buffer.from('bad')) },
    bytes: bytes(header(1, 15, 3, 1), [0, 0, /* OFPET_HELLO_FAILED */ 0, 0 /* INCOMPATIBLE */], [...Buffer.from('bad')]),
    ovs: 'OFPHFC_INCOMPATIBLE',
  },
  {
    name: 'experimenter error: ONF bundle BAD_ID',
    msg: { type: 'error', xid: 4, errType: 0xffff, code: 2302, experimenter: 0x4f4e4600, data: new Uint8Array(0) },
    bytes: bytes(header(1, 16, 4), [0xff, 0xff, /* OFPET_EXPERIMENTER */ ...u16(2302) /* exp_code */, ...u32(0x4f4e4600) /* ONF */]),
    ovs: 'OFPBFC_BAD_ID',
  },
  {
    name: 'experimenter error: Nicira NXBRC_MUST_BE_ZERO',
    msg: { type: 'error', xid: 4, errType: 0xffff, code: 4, experimenter: 0x2320, data: new Uint8Array(0) },
    bytes: bytes(header(1, 16, 4), [0xff, 0xff, 0, 4, ...u32(0x2320)]),
    ovs: 'NXBRC_MUST_BE_ZERO',
  },
  {
    name: 'echo_request',
    msg: { type: 'echo_request', xid: 5, data: Uint8Array.from([0x61, 0x62, 0x63]) },
    bytes: bytes(header(2, 11, 5), [0x61, 0x62, 0x63]),
    ovs: 'OFPT_ECHO_REQUEST (OF1.3) (xid=0x5): 3 bytes of payload',
  },
  { name: 'echo_reply', msg: { type: 'echo_reply', xid: 5, data: new Uint8Array(0) }, bytes: bytes(header(3, 8, 5)), ovs: 'OFPT_ECHO_REPLY (OF1.3) (xid=0x5)' },
  {
    name: 'unknown experimenter stays generic',
    msg: { type: 'experimenter', xid: 6, experimenter: 0x1234, expType: 5, data: Uint8Array.from([1, 2, 3]) },
    bytes: bytes(header(4, 19, 6), u32(0x1234) /* experimenter */, u32(5) /* exp_type */, [1, 2, 3]),
    ovs: /unknown vendor 0x1234/,
    ovsRejects: true,
  },
  {
    name: 'Nicira message we do not model stays generic (NXT_SET_PACKET_IN_FORMAT)',
    msg: { type: 'experimenter', xid: 6, experimenter: 0x2320, expType: 16, data: Uint8Array.from([0, 0, 0, 1]) },
    bytes: bytes(header(4, 20, 6), u32(0x2320), u32(16), u32(1) /* NXPIF_NXT_PACKET_IN */),
    ovs: 'NXT_SET_PACKET_IN_FORMAT',
  },
  { name: 'features_request', msg: { type: 'features_request', xid: 7 }, bytes: bytes(header(5, 8, 7)), ovs: 'OFPT_FEATURES_REQUEST (OF1.3) (xid=0x7)' },
  {
    name: 'features_reply',
    msg: { type: 'features_reply', xid: 7, datapathId: 0x123n, nBuffers: 256, nTables: 254, auxiliaryId: 0, capabilities: 0x4f },
    bytes: bytes(header(6, 32, 7), u64(0x123n) /* datapath_id */, u32(256) /* n_buffers */, [254 /* n_tables */, 0 /* auxiliary_id */, 0, 0 /* pad */], u32(0x4f) /* capabilities */, u32(0) /* reserved */),
    ovs: 'dpid:0000000000000123',
  },
  { name: 'get_config_request', msg: { type: 'get_config_request', xid: 8 }, bytes: bytes(header(7, 8, 8)), ovs: 'OFPT_GET_CONFIG_REQUEST' },
  {
    name: 'get_config_reply',
    msg: { type: 'get_config_reply', xid: 8, flags: 0, missSendLen: 128 },
    bytes: bytes(header(8, 12, 8), [0, 0 /* flags: frag normal */, 0, 128 /* miss_send_len */]),
    ovs: 'frags=normal miss_send_len=128',
  },
  {
    name: 'set_config',
    msg: { type: 'set_config', xid: 8, flags: 1, missSendLen: 0xffff },
    bytes: bytes(header(9, 12, 8), [0, 1 /* flags: frag drop */, 0xff, 0xff /* miss_send_len NO_BUFFER */]),
    ovs: 'frags=drop miss_send_len=65535',
  },
  {
    name: 'packet_in',
    msg: { type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: 14, reason: 1, tableId: 3, cookie: 0x55n, match: inPort1, data: Uint8Array.from(ETH_FRAME) },
    bytes: bytes(
      header(10, 56, 0),
      u32(0xffffffff), // buffer_id NO_BUFFER
      u16(14), // total_len
      [1, 3], // reason ACTION, table_id 3
      u64(0x55n), // cookie
      MATCH_IN_PORT_1,
      [0, 0], // pad
      ETH_FRAME,
    ),
    ovs: 'table_id=3 cookie=0x55 total_len=14 in_port=1 (via action) data_len=14 (unbuffered)',
  },
  {
    name: 'flow_removed',
    msg: {
      type: 'flow_removed',
      xid: 0,
      cookie: 0x10n,
      priority: 100,
      reason: 0,
      tableId: 2,
      durationSec: 5,
      durationNsec: 500,
      idleTimeout: 10,
      hardTimeout: 0,
      packetCount: 3n,
      byteCount: 300n,
      match: inPort1,
    },
    bytes: bytes(
      header(11, 64, 0),
      u64(0x10n), // cookie
      u16(100), // priority
      [0, 2], // reason IDLE_TIMEOUT, table_id
      u32(5), u32(500), // duration
      u16(10), u16(0), // idle, hard timeout
      u64(3n), u64(300n), // packet_count, byte_count
      MATCH_IN_PORT_1,
    ),
    ovs: 'priority=100,in_port=1 reason=idle table_id=2 cookie:0x10 duration5.0000005s idle10 pkts3 bytes300',
  },
  {
    name: 'port_status',
    msg: { type: 'port_status', xid: 0, reason: 0, port: port1 },
    bytes: bytes(header(12, 80, 0), [0 /* reason ADD */, ...zeros(7)], PORT_1),
    ovs: 'ADD: 1(eth0): addr:aa:bb:cc:dd:ee:ff',
  },
  {
    name: 'packet_out',
    msg: { type: 'packet_out', xid: 10, bufferId: 0xffffffff, inPort: 0xfffffffd, actions: [output1], data: Uint8Array.from(ETH_FRAME) },
    bytes: bytes(header(13, 54, 10), u32(0xffffffff) /* buffer_id */, u32(0xfffffffd) /* in_port CONTROLLER */, u16(16) /* actions_len */, zeros(6), OUTPUT_1, ETH_FRAME),
    ovs: 'in_port=CONTROLLER actions=output:1 data_len=14',
  },
  {
    name: 'flow_mod',
    msg: { type: 'flow_mod', xid: 1, ...flowModFields },
    bytes: bytes(header(14, 8 + FLOW_MOD_BODY.length, 1), FLOW_MOD_BODY),
    ovs: 'ADD table:50 priority=20,in_port=1 cookie:0x10 send_flow_rem actions=output:1,goto_table:51',
  },
  {
    name: 'group_mod',
    msg: { type: 'group_mod', xid: 11, command: 0, groupType: 1, groupId: 5, buckets: [bucketOutput1] },
    bytes: bytes(header(15, 48, 11), [0, 0 /* command ADD */, 1 /* type SELECT */, 0 /* pad */], u32(5) /* group_id */, BUCKET_OUTPUT_1),
    ovs: 'ADD group_id=5,type=select,bucket=actions=output:1',
  },
  {
    name: 'port_mod',
    msg: { type: 'port_mod', xid: 12, portNo: 1, hwAddr: 'aa:bb:cc:dd:ee:ff', config: 1, mask: 1, advertise: 0 },
    bytes: bytes(header(16, 40, 12), u32(1) /* port_no */, zeros(4), [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff] /* hw_addr */, zeros(2), u32(1) /* config */, u32(1) /* mask */, u32(0) /* advertise */, zeros(4)),
    ovs: 'port: 1: addr:aa:bb:cc:dd:ee:ff',
  },
  {
    name: 'table_mod',
    msg: { type: 'table_mod', xid: 13, tableId: 1, config: 3 },
    bytes: bytes(header(17, 16, 13), [1, 0, 0, 0 /* table_id, pad */], u32(3) /* config */),
    ovs: 'OFPT_TABLE_MOD (OF1.3) (xid=0xd): table_id=1',
  },
  { name: 'desc_request', msg: mp('desc_request', 20), bytes: bytes(mpHeader(18, 16, 20, 0)), ovs: 'OFPST_DESC request (OF1.3) (xid=0x14)' },
  {
    name: 'desc_reply',
    msg: mp('desc_reply', 20, { mfrDesc: 'Nicira, Inc.', hwDesc: 'Open vSwitch', swDesc: '3.1.0', serialNum: 'None', dpDesc: 'br-int' }),
    bytes: bytes(mpHeader(19, 16 + 1056, 20, 0), str('Nicira, Inc.', 256), str('Open vSwitch', 256), str('3.1.0', 256), str('None', 32), str('br-int', 256)),
    ovs: 'DP Description: br-int',
  },
  {
    name: 'flow_stats_request',
    msg: mp('flow_stats_request', 21, flowStatsRequestFields),
    bytes: bytes(mpHeader(18, 56, 21, 1), FLOW_STATS_REQUEST_BODY),
    ovs: 'OFPST_FLOW request (OF1.3) (xid=0x15)',
  },
  {
    name: 'flow_stats_reply, two flows, more to come',
    msg: mp('flow_stats_reply', 21, { flows: [flowStats1, flowStats2] }, 1),
    bytes: bytes(mpHeader(19, 16 + 96 + 56, 21, 1, 1 /* OFPMPF_REPLY_MORE */), FLOW_STATS_1, FLOW_STATS_2),
    ovs: 'cookie=0xab, duration=1.000000002s, table=3, n_packets=5, n_bytes=500, idle_timeout=10, priority=100,in_port=1 actions=output:1,goto_table:1',
  },
  {
    name: 'aggregate_stats_request',
    msg: mp('aggregate_stats_request', 22, flowStatsRequestFields),
    bytes: bytes(mpHeader(18, 56, 22, 2), FLOW_STATS_REQUEST_BODY),
    ovs: 'OFPST_AGGREGATE request',
  },
  {
    name: 'aggregate_stats_reply',
    msg: mp('aggregate_stats_reply', 22, { packetCount: 1n, byteCount: 2n, flowCount: 3 }),
    bytes: bytes(mpHeader(19, 40, 22, 2), u64(1n), u64(2n), u32(3), zeros(4)),
    ovs: 'packet_count=1 byte_count=2 flow_count=3',
  },
  { name: 'table_stats_request', msg: mp('table_stats_request', 23), bytes: bytes(mpHeader(18, 16, 23, 3)), ovs: 'OFPST_TABLE request' },
  {
    name: 'table_stats_reply',
    msg: mp('table_stats_reply', 23, { tables: [{ tableId: 0, activeCount: 5, lookupCount: 100n, matchedCount: 50n }] }),
    bytes: bytes(mpHeader(19, 40, 23, 3), [0, 0, 0, 0 /* table_id, pad */], u32(5) /* active_count */, u64(100n) /* lookup_count */, u64(50n) /* matched_count */),
    ovs: 'active=5, lookup=100, matched=50',
  },
  { name: 'port_stats_request', msg: mp('port_stats_request', 24, { portNo: 0xffffffff }), bytes: bytes(mpHeader(18, 24, 24, 4), u32(0xffffffff), zeros(4)), ovs: 'port_no=ANY' },
  {
    name: 'port_stats_reply',
    msg: mp('port_stats_reply', 24, {
      ports: [
        {
          portNo: 1,
          rxPackets: 1n,
          txPackets: 2n,
          rxBytes: 3n,
          txBytes: 4n,
          rxDropped: 5n,
          txDropped: 6n,
          rxErrors: 7n,
          txErrors: 8n,
          rxFrameErr: 9n,
          rxOverErr: 10n,
          rxCrcErr: 11n,
          collisions: 12n,
          durationSec: 5,
          durationNsec: 6,
        },
      ],
    }),
    bytes: bytes(mpHeader(19, 128, 24, 4), u32(1), zeros(4), ...[1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n].map(u64) /* rx/tx packets..collisions */, u32(5), u32(6) /* duration */),
    ovs: 'port  1: rx pkts=1, bytes=3, drop=5, errs=7, frame=9, over=10, crc=11',
  },
  {
    name: 'queue_stats_request',
    msg: mp('queue_stats_request', 25, { portNo: 0xffffffff, queueId: 0xffffffff }),
    bytes: bytes(mpHeader(18, 24, 25, 5), u32(0xffffffff) /* port ANY */, u32(0xffffffff) /* queue ALL */),
    ovs: 'port=ANY queue=ALL',
  },
  {
    name: 'queue_stats_reply',
    msg: mp('queue_stats_reply', 25, { queues: [{ portNo: 1, queueId: 2, txBytes: 3n, txPackets: 4n, txErrors: 5n, durationSec: 6, durationNsec: 7 }] }),
    bytes: bytes(mpHeader(19, 56, 25, 5), u32(1), u32(2), u64(3n), u64(4n), u64(5n), u32(6), u32(7)),
    ovs: 'port 1 queue 2: bytes=3, pkts=4, errors=5, duration=6.000000007s',
  },
  { name: 'group_stats_request', msg: mp('group_stats_request', 26, { groupId: 0xfffffffc }), bytes: bytes(mpHeader(18, 24, 26, 6), u32(0xfffffffc), zeros(4)), ovs: 'group_id=ALL' },
  {
    name: 'group_stats_reply',
    msg: mp('group_stats_reply', 26, {
      groups: [{ groupId: 1, refCount: 2, packetCount: 3n, byteCount: 4n, durationSec: 5, durationNsec: 6, buckets: [{ packetCount: 7n, byteCount: 8n }] }],
    }),
    bytes: bytes(mpHeader(19, 72, 26, 6), u16(56) /* length */, zeros(2), u32(1) /* group_id */, u32(2) /* ref_count */, zeros(4), u64(3n), u64(4n), u32(5), u32(6), u64(7n), u64(8n) /* bucket counter */),
    ovs: 'group_id=1,duration=5.000000006s,ref_count=2,packet_count=3,byte_count=4,bucket0:packet_count=7,byte_count=8',
  },
  { name: 'group_desc_request', msg: mp('group_desc_request', 27), bytes: bytes(mpHeader(18, 16, 27, 7)), ovs: 'OFPST_GROUP_DESC request' },
  {
    name: 'group_desc_reply',
    msg: mp('group_desc_reply', 27, { groups: [{ groupType: 1, groupId: 5, buckets: [bucketOutput1] }] }),
    bytes: bytes(mpHeader(19, 56, 27, 7), u16(40) /* length */, [1, 0] /* type SELECT, pad */, u32(5) /* group_id */, BUCKET_OUTPUT_1),
    ovs: 'group_id=5,type=select,bucket=actions=output:1',
  },
  { name: 'group_features_request', msg: mp('group_features_request', 28), bytes: bytes(mpHeader(18, 16, 28, 8)), ovs: 'OFPST_GROUP_FEATURES request' },
  {
    name: 'group_features_reply',
    msg: mp('group_features_reply', 28, { types: 15, capabilities: 5, maxGroups: [1, 2, 3, 4], actions: [1, 1, 1, 1] }),
    bytes: bytes(mpHeader(19, 56, 28, 8), u32(15) /* types */, u32(5) /* capabilities */, u32(1), u32(2), u32(3), u32(4) /* max_groups */, u32(1), u32(1), u32(1), u32(1) /* actions */),
    ovs: 'max_groups=0x4',
  },
  { name: 'meter_stats_request', msg: mp('meter_stats_request', 29, { meterId: 0xffffffff }), bytes: bytes(mpHeader(18, 24, 29, 9), u32(0xffffffff), zeros(4)), ovs: 'meter=all' },
  {
    name: 'meter_stats_reply',
    msg: mp('meter_stats_reply', 29, {
      meters: [{ meterId: 1, flowCount: 2, packetInCount: 3n, byteInCount: 4n, durationSec: 5, durationNsec: 6, bands: [{ packetBandCount: 7n, byteBandCount: 8n }] }],
    }),
    bytes: bytes(mpHeader(19, 72, 29, 9), u32(1) /* meter_id */, u16(56) /* len */, zeros(6), u32(2) /* flow_count */, u64(3n), u64(4n), u32(5), u32(6), u64(7n), u64(8n)),
    ovs: 'meter:1 flow_count:2 packet_in_count:3 byte_in_count:4 duration:5.000000006s bands:',
  },
  { name: 'meter_config_request', msg: mp('meter_config_request', 30, { meterId: 1 }), bytes: bytes(mpHeader(18, 24, 30, 10), u32(1), zeros(4)), ovs: 'OFPST_METER_CONFIG request (OF1.3) (xid=0x1e): meter=1' },
  {
    name: 'meter_config_reply',
    msg: mp('meter_config_reply', 30, { meters: [{ flags: 1, meterId: 1, bands: [{ type: 1, rate: 1000, burstSize: 0 }] }] }),
    bytes: bytes(mpHeader(19, 40, 30, 10), u16(24) /* length */, u16(1) /* flags KBPS */, u32(1) /* meter_id */, u16(1) /* OFPMBT_DROP */, u16(16), u32(1000) /* rate */, u32(0) /* burst */, zeros(4)),
    ovs: 'meter=1 kbps bands=\ntype=drop rate=1000',
  },
  { name: 'meter_features_request', msg: mp('meter_features_request', 31), bytes: bytes(mpHeader(18, 16, 31, 11)), ovs: 'OFPST_METER_FEATURES request' },
  {
    name: 'meter_features_reply',
    msg: mp('meter_features_reply', 31, { maxMeter: 100, bandTypes: 6, capabilities: 15, maxBands: 8, maxColor: 0 }),
    bytes: bytes(mpHeader(19, 32, 31, 11), u32(100), u32(6), u32(15), [8, 0, 0, 0] /* max_bands, max_color, pad */),
    ovs: 'max_meter:100 max_bands:8 max_color:0',
  },
  { name: 'table_features_request (query)', msg: mp('table_features_request', 32, { tables: [] }), bytes: bytes(mpHeader(18, 16, 32, 12)), ovs: 'OFPST_TABLE_FEATURES request' },
  {
    name: 'table_features_reply',
    msg: mp('table_features_reply', 32, { tables: [tableFeatures0] }),
    bytes: bytes(mpHeader(19, 96, 32, 12), TABLE_FEATURES_0),
    ovs: 'OFPST_TABLE_FEATURES reply (OF1.3) (xid=0x20)',
    ovsRejects: true, // OVS insists on every required property being present
  },
  { name: 'port_desc_request', msg: mp('port_desc_request', 33), bytes: bytes(mpHeader(18, 16, 33, 13)), ovs: 'OFPST_PORT_DESC request' },
  {
    name: 'port_desc_reply',
    msg: mp('port_desc_reply', 33, { ports: [port1] }),
    bytes: bytes(mpHeader(19, 80, 33, 13), PORT_1),
    ovs: 'current:    1GB-FD COPPER AUTO_NEG',
  },
  {
    name: 'experimenter_stats_request',
    msg: mp('experimenter_stats_request', 34, { experimenter: 0x2320, expType: 99, data: Uint8Array.from([1, 2]) }),
    bytes: bytes(mpHeader(18, 26, 34, 0xffff), u32(0x2320), u32(99), [1, 2]),
    ovs: /unknown OpenFlow message.*stat 65535, vendor 0x2320, subtype 99/,
    ovsRejects: true,
  },
  {
    name: 'experimenter_stats_reply',
    msg: mp('experimenter_stats_reply', 34, { experimenter: 0x2320, expType: 99, data: new Uint8Array(0) }),
    bytes: bytes(mpHeader(19, 24, 34, 0xffff), u32(0x2320), u32(99)),
    ovs: /stat 65535, vendor 0x2320, subtype 99/,
    ovsRejects: true,
  },
  { name: 'barrier_request', msg: { type: 'barrier_request', xid: 40 }, bytes: bytes(header(20, 8, 40)), ovs: 'OFPT_BARRIER_REQUEST (OF1.3) (xid=0x28)' },
  { name: 'barrier_reply', msg: { type: 'barrier_reply', xid: 40 }, bytes: bytes(header(21, 8, 40)), ovs: 'OFPT_BARRIER_REPLY (OF1.3) (xid=0x28)' },
  {
    name: 'queue_get_config_request',
    msg: { type: 'queue_get_config_request', xid: 41, port: 1 },
    bytes: bytes(header(22, 16, 41), u32(1), zeros(4)),
    ovs: 'OFPT_QUEUE_GET_CONFIG_REQUEST (OF1.3) (xid=0x29): port=1',
  },
  {
    name: 'queue_get_config_reply',
    msg: { type: 'queue_get_config_reply', xid: 41, port: 1, queues: [{ queueId: 7, port: 1, properties: [{ type: 1, data: Uint8Array.from([1, 0xf4, 0, 0, 0, 0, 0, 0]) }] }] },
    bytes: bytes(
      header(23, 48, 41),
      u32(1), zeros(4), // port, pad
      u32(7), u32(1), u16(32), zeros(6), // queue_id, port, len, pad
      u16(1), u16(16), zeros(4), // OFPQT_MIN_RATE, len, pad
      u16(500), zeros(6), // rate (tenths of a percent), pad
    ),
    ovs: 'queue 7: min_rate:50.0%',
  },
  {
    name: 'role_request',
    msg: { type: 'role_request', xid: 42, role: 2, generationId: 5n },
    bytes: bytes(header(24, 24, 42), u32(2) /* MASTER */, zeros(4), u64(5n)),
    ovs: 'role=primary generation_id=5',
  },
  {
    name: 'role_reply',
    msg: { type: 'role_reply', xid: 42, role: 3, generationId: 6n },
    bytes: bytes(header(25, 24, 42), u32(3) /* SLAVE */, zeros(4), u64(6n)),
    ovs: 'role=secondary generation_id=6',
  },
  { name: 'get_async_request', msg: { type: 'get_async_request', xid: 43 }, bytes: bytes(header(26, 8, 43)), ovs: 'OFPT_GET_ASYNC_REQUEST' },
  {
    name: 'get_async_reply',
    msg: { type: 'get_async_reply', xid: 43, packetInMask: [1, 2], portStatusMask: [3, 4], flowRemovedMask: [5, 6] },
    bytes: bytes(header(27, 32, 43), u32(1), u32(2), u32(3), u32(4), u32(5), u32(6)),
    ovs: 'PORT_STATUS: add delete',
  },
  {
    name: 'set_async',
    msg: { type: 'set_async', xid: 44, packetInMask: [3, 0], portStatusMask: [7, 7], flowRemovedMask: [15, 0] },
    bytes: bytes(header(28, 32, 44), u32(3), u32(0), u32(7), u32(7), u32(15), u32(0)),
    ovs: 'PACKET_IN: no_match action',
  },
  {
    name: 'meter_mod',
    msg: {
      type: 'meter_mod',
      xid: 45,
      command: 0,
      flags: 5,
      meterId: 3,
      bands: [
        { type: 1, rate: 1000, burstSize: 100 },
        { type: 2, rate: 2000, burstSize: 0, precLevel: 1 },
      ],
    },
    bytes: bytes(
      header(29, 48, 45),
      u16(0), u16(5), u32(3), // command ADD, flags KBPS|BURST, meter_id
      u16(1), u16(16), u32(1000), u32(100), zeros(4), // OFPMBT_DROP
      u16(2), u16(16), u32(2000), u32(0), [1, 0, 0, 0], // OFPMBT_DSCP_REMARK, prec_level 1
    ),
    ovs: 'ADD meter=3 kbps burst bands=\ntype=drop rate=1000 burst_size=100\ntype=dscp_remark rate=2000 burst_size=0 prec_level=1',
  },
  {
    name: 'bundle_control OPEN_REQUEST',
    msg: { type: 'bundle_control', xid: 46, bundleId: 1, ctrlType: 0, bundleFlags: 1, properties: new Uint8Array(0) },
    bytes: bytes(header(4, 24, 46), u32(0x4f4e4600) /* ONF */, u32(2300) /* ONFT_BUNDLE_CONTROL */, u32(1) /* bundle_id */, u16(0) /* OPEN_REQUEST */, u16(1) /* ATOMIC */),
    ovs: 'bundle_id=0x1 type=OPEN_REQUEST flags=atomic',
  },
  {
    name: 'bundle_add with a flow_mod',
    msg: { type: 'bundle_add', xid: 47, bundleId: 1, bundleFlags: 1, properties: new Uint8Array(0), message: { type: 'flow_mod', xid: 47, ...flowModFields } },
    bytes: bytes(header(4, 24 + 8 + FLOW_MOD_BODY.length, 47), u32(0x4f4e4600), u32(2301) /* ONFT_BUNDLE_ADD_MESSAGE */, u32(1) /* bundle_id */, zeros(2), u16(1) /* flags */, header(14, 8 + FLOW_MOD_BODY.length, 47), FLOW_MOD_BODY),
    ovs: 'ADD table:50 priority=20,in_port=1 cookie:0x10 send_flow_rem actions=output:1,goto_table:51',
  },
  {
    name: 'bundle_add with properties after padding',
    msg: {
      type: 'bundle_add',
      xid: 48,
      bundleId: 2,
      bundleFlags: 3,
      // Whatever follows the embedded message, verbatim: padding to 8, then an OFPBPT_EXPERIMENTER property.
      properties: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
      message: { type: 'packet_out', xid: 48, bufferId: 0xffffffff, inPort: 0xfffffffd, actions: [], data: Uint8Array.from([1]) },
    },
    bytes: bytes(
      header(4, 24 + 25 + 7 + 16, 48),
      u32(0x4f4e4600), u32(2301), u32(2), zeros(2), u16(3),
      header(13, 25, 48), u32(0xffffffff), u32(0xfffffffd), u16(0), zeros(6), [1], // embedded packet_out, 25 bytes
      zeros(7), // padding to 8 before the properties
      [0xff, 0xff, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], // OFPBPT_EXPERIMENTER property
    ),
    // OVS reads nothing after the embedded message.
    ovs: /ONFT_BUNDLE_ADD_MESSAGE[^]*OFPT_PACKET_OUT \(OF1.3\) \(xid=0x30\): in_port=CONTROLLER actions=drop data_len=1/,
  },
  {
    name: 'role_status (ONF, OF1.3)',
    msg: { type: 'role_status', xid: 49, role: 2, reason: 1, generationId: 7n, properties: new Uint8Array(0) },
    bytes: bytes(header(4, 32, 49), u32(0x4f4e4600), u32(1911) /* ONFT_ROLE_STATUS */, u32(2) /* MASTER */, [1, 0, 0, 0] /* CONFIG */, u32(0), u32(7)),
    ovs: 'role=primary generation_id=7 reason=configuration_changed',
  },
  {
    name: 'requestforward of a meter_mod',
    msg: { type: 'requestforward', xid: 50, message: { type: 'meter_mod', xid: 9, command: 2, flags: 1, meterId: 1, bands: [] } },
    bytes: bytes(header(4, 32, 50), u32(0x4f4e4600), u32(2350) /* ONFT_REQUESTFORWARD */, header(29, 16, 9), u16(2), u16(1), u32(1)),
    ovs: 'reason=meter_mod DEL meter=1 bands=',
  },
  {
    name: 'flow_monitor_cancel',
    msg: { type: 'flow_monitor_cancel', xid: 51, id: 5 },
    bytes: bytes(header(4, 20, 51), u32(0x4f4e4600), u32(1870), u32(5)),
    ovs: 'id=5',
  },
  {
    name: 'flow_monitor_paused',
    msg: { type: 'flow_monitor_paused', xid: 52 },
    bytes: bytes(header(4, 16, 52), u32(0x4f4e4600), u32(1871)),
    ovs: /ONFT_FLOW_MONITOR_PAUSED/,
  },
  {
    name: 'flow_monitor_resumed',
    msg: { type: 'flow_monitor_resumed', xid: 53 },
    bytes: bytes(header(4, 16, 53), u32(0x4f4e4600), u32(1872)),
    ovs: /ONFT_FLOW_MONITOR_RESUMED/,
  },
];
