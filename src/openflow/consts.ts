// OpenFlow 1.3.5 constants, with the spec's names. Experimenter (Nicira, ONF) message constants live here too;
// match field constants live in oxm-fields.ts and action constants in action-consts.ts.

export const OFP_VERSION = 0x04;
export const OFP_HEADER_LEN = 8;
export const OFP_TCP_PORT = 6653;
/** The largest OpenFlow message: the header's length is a u16. */
export const OFP_MAX_MESSAGE_LEN = 0xffff;

export const NX_VENDOR_ID = 0x00002320;
export const ONF_EXPERIMENTER_ID = 0x4f4e4600;

/** ofp_type */
export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  EXPERIMENTER: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7,
  GET_CONFIG_REPLY: 8,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
  GROUP_MOD: 15,
  PORT_MOD: 16,
  TABLE_MOD: 17,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
  QUEUE_GET_CONFIG_REQUEST: 22,
  QUEUE_GET_CONFIG_REPLY: 23,
  ROLE_REQUEST: 24,
  ROLE_REPLY: 25,
  GET_ASYNC_REQUEST: 26,
  GET_ASYNC_REPLY: 27,
  SET_ASYNC: 28,
  METER_MOD: 29,
} as const;

/** ofp_hello_elem_type */
export const OFPHET = { VERSIONBITMAP: 1 } as const;

/** ofp_error_type */
export const OFPET = {
  HELLO_FAILED: 0,
  BAD_REQUEST: 1,
  BAD_ACTION: 2,
  BAD_INSTRUCTION: 3,
  BAD_MATCH: 4,
  FLOW_MOD_FAILED: 5,
  GROUP_MOD_FAILED: 6,
  PORT_MOD_FAILED: 7,
  TABLE_MOD_FAILED: 8,
  QUEUE_OP_FAILED: 9,
  SWITCH_CONFIG_FAILED: 10,
  ROLE_REQUEST_FAILED: 11,
  METER_MOD_FAILED: 12,
  TABLE_FEATURES_FAILED: 13,
  EXPERIMENTER: 0xffff,
} as const;

/** ofp_hello_failed_code */
export const OFPHFC = { INCOMPATIBLE: 0, EPERM: 1 } as const;

/** ofp_bad_request_code */
export const OFPBRC = {
  BAD_VERSION: 0,
  BAD_TYPE: 1,
  BAD_MULTIPART: 2,
  BAD_EXPERIMENTER: 3,
  BAD_EXP_TYPE: 4,
  EPERM: 5,
  BAD_LEN: 6,
  BUFFER_EMPTY: 7,
  BUFFER_UNKNOWN: 8,
  BAD_TABLE_ID: 9,
  IS_SLAVE: 10,
  BAD_PORT: 11,
  BAD_PACKET: 12,
  MULTIPART_BUFFER_OVERFLOW: 13,
} as const;

/** ofp_bad_action_code */
export const OFPBAC = {
  BAD_TYPE: 0,
  BAD_LEN: 1,
  BAD_EXPERIMENTER: 2,
  BAD_EXP_TYPE: 3,
  BAD_OUT_PORT: 4,
  BAD_ARGUMENT: 5,
  EPERM: 6,
  TOO_MANY: 7,
  BAD_QUEUE: 8,
  BAD_OUT_GROUP: 9,
  MATCH_INCONSISTENT: 10,
  UNSUPPORTED_ORDER: 11,
  BAD_TAG: 12,
  BAD_SET_TYPE: 13,
  BAD_SET_LEN: 14,
  BAD_SET_ARGUMENT: 15,
} as const;

/** ofp_bad_instruction_code */
export const OFPBIC = {
  UNKNOWN_INST: 0,
  UNSUP_INST: 1,
  BAD_TABLE_ID: 2,
  UNSUP_METADATA: 3,
  UNSUP_METADATA_MASK: 4,
  BAD_EXPERIMENTER: 5,
  BAD_EXP_TYPE: 6,
  BAD_LEN: 7,
  EPERM: 8,
} as const;

/** ofp_bad_match_code */
export const OFPBMC = {
  BAD_TYPE: 0,
  BAD_LEN: 1,
  BAD_TAG: 2,
  BAD_DL_ADDR_MASK: 3,
  BAD_NW_ADDR_MASK: 4,
  BAD_WILDCARDS: 5,
  BAD_FIELD: 6,
  BAD_VALUE: 7,
  BAD_MASK: 8,
  BAD_PREREQ: 9,
  DUP_FIELD: 10,
  EPERM: 11,
} as const;

/** ofp_port_no: reserved port numbers */
export const OFPP = {
  MAX: 0xffffff00,
  IN_PORT: 0xfffffff8,
  TABLE: 0xfffffff9,
  NORMAL: 0xfffffffa,
  FLOOD: 0xfffffffb,
  ALL: 0xfffffffc,
  CONTROLLER: 0xfffffffd,
  LOCAL: 0xfffffffe,
  ANY: 0xffffffff,
} as const;

/** ofp_group: reserved group numbers */
export const OFPG = { MAX: 0xffffff00, ALL: 0xfffffffc, ANY: 0xffffffff } as const;

/** ofp_table: reserved table numbers */
export const OFPTT = { MAX: 0xfe, ALL: 0xff } as const;

/** Special buffer id: no buffered packet. */
export const OFP_NO_BUFFER = 0xffffffff;

/** ofp_flow_mod_command */
export const OFPFC = { ADD: 0, MODIFY: 1, MODIFY_STRICT: 2, DELETE: 3, DELETE_STRICT: 4 } as const;

/** ofp_flow_mod_flags */
export const OFPFF = { SEND_FLOW_REM: 1 << 0, CHECK_OVERLAP: 1 << 1, RESET_COUNTS: 1 << 2, NO_PKT_COUNTS: 1 << 3, NO_BYT_COUNTS: 1 << 4 } as const;

/** ofp_multipart_type */
export const OFPMP = {
  DESC: 0,
  FLOW: 1,
  AGGREGATE: 2,
  TABLE: 3,
  PORT_STATS: 4,
  QUEUE: 5,
  GROUP: 6,
  GROUP_DESC: 7,
  GROUP_FEATURES: 8,
  METER: 9,
  METER_CONFIG: 10,
  METER_FEATURES: 11,
  TABLE_FEATURES: 12,
  PORT_DESC: 13,
  EXPERIMENTER: 0xffff,
} as const;

/** ofp_multipart_request_flags / ofp_multipart_reply_flags */
export const OFPMPF = { REQ_MORE: 1, REPLY_MORE: 1 } as const;

/** ofp_controller_role */
export const OFPCR_ROLE = { NOCHANGE: 0, EQUAL: 1, MASTER: 2, SLAVE: 3 } as const;

/**
 * ofp_config_flags and ofp_capabilities: the spec gives both the OFPC_ prefix; their names don't collide.
 */
export const OFPC = {
  FRAG_NORMAL: 0,
  FRAG_DROP: 1,
  FRAG_REASM: 2,
  FRAG_MASK: 3,
  FLOW_STATS: 1 << 0,
  TABLE_STATS: 1 << 1,
  PORT_STATS: 1 << 2,
  GROUP_STATS: 1 << 3,
  IP_REASM: 1 << 5,
  QUEUE_STATS: 1 << 6,
  PORT_BLOCKED: 1 << 8,
} as const;

/** ofp_controller_max_len */
export const OFPCML = { MAX: 0xffe5, NO_BUFFER: 0xffff } as const;

/** ofp_packet_in_reason */
export const OFPR = { NO_MATCH: 0, ACTION: 1, INVALID_TTL: 2 } as const;

/** ofp_port_reason */
export const OFPPR = { ADD: 0, DELETE: 1, MODIFY: 2 } as const;

/** ofp_flow_removed_reason */
export const OFPRR = { IDLE_TIMEOUT: 0, HARD_TIMEOUT: 1, DELETE: 2, GROUP_DELETE: 3 } as const;

/** ofp_group_mod_command, ofp_group_type */
export const OFPGC = { ADD: 0, MODIFY: 1, DELETE: 2 } as const;
export const OFPGT = { ALL: 0, SELECT: 1, INDIRECT: 2, FF: 3 } as const;

/** ofp_meter_mod_command, ofp_meter_flags, ofp_meter_band_type */
export const OFPMC = { ADD: 0, MODIFY: 1, DELETE: 2 } as const;
export const OFPMF = { KBPS: 1, PKTPS: 2, BURST: 4, STATS: 8 } as const;
export const OFPMBT = { DROP: 1, DSCP_REMARK: 2, EXPERIMENTER: 0xffff } as const;
export const OFPM = { MAX: 0xffff0000, SLOWPATH: 0xfffffffd, CONTROLLER: 0xfffffffe, ALL: 0xffffffff } as const;

/**
 * ONF extension messages for OF1.3 (ONF_EXPERIMENTER_ID exp_types), as Open vSwitch accepts them: the bundle
 * extension, and the OF1.4 role status, request forward and flow monitor control messages.
 */
export const ONFT = {
  FLOW_MONITOR_CANCEL: 1870,
  FLOW_MONITOR_PAUSED: 1871,
  FLOW_MONITOR_RESUMED: 1872,
  ROLE_STATUS: 1911,
  BUNDLE_CONTROL: 2300,
  BUNDLE_ADD_MESSAGE: 2301,
  REQUESTFORWARD: 2350,
} as const;
/** ofp_controller_role_reason (role status) */
export const OFPCRR = { MASTER_REQUEST: 0, CONFIG: 1, EXPERIMENTER: 2 } as const;
/** ofp_bundle_ctrl_type */
export const OFPBCT = { OPEN_REQUEST: 0, OPEN_REPLY: 1, CLOSE_REQUEST: 2, CLOSE_REPLY: 3, COMMIT_REQUEST: 4, COMMIT_REPLY: 5, DISCARD_REQUEST: 6, DISCARD_REPLY: 7 } as const;
/** ofp_bundle_flags */
export const OFPBF = { ATOMIC: 1, ORDERED: 2 } as const;

/** ofp_port_config */
export const OFPPC = { PORT_DOWN: 1 << 0, NO_RECV: 1 << 2, NO_FWD: 1 << 5, NO_PACKET_IN: 1 << 6 } as const;

/** ofp_port_state */
export const OFPPS = { LINK_DOWN: 1 << 0, BLOCKED: 1 << 1, LIVE: 1 << 2 } as const;

/** ofp_port_features */
export const OFPPF = {
  '10MB_HD': 1 << 0,
  '10MB_FD': 1 << 1,
  '100MB_HD': 1 << 2,
  '100MB_FD': 1 << 3,
  '1GB_HD': 1 << 4,
  '1GB_FD': 1 << 5,
  '10GB_FD': 1 << 6,
  '40GB_FD': 1 << 7,
  '100GB_FD': 1 << 8,
  '1TB_FD': 1 << 9,
  OTHER: 1 << 10,
  COPPER: 1 << 11,
  FIBER: 1 << 12,
  AUTONEG: 1 << 13,
  PAUSE: 1 << 14,
  PAUSE_ASYM: 1 << 15,
} as const;

/** ofp_table_config (OFPTC_DEPRECATED_MASK in 1.3) */
export const OFPTC = { DEPRECATED_MASK: 3 } as const;

/** ofp_table_feature_prop_type */
export const OFPTFPT = {
  INSTRUCTIONS: 0,
  INSTRUCTIONS_MISS: 1,
  NEXT_TABLES: 2,
  NEXT_TABLES_MISS: 3,
  WRITE_ACTIONS: 4,
  WRITE_ACTIONS_MISS: 5,
  APPLY_ACTIONS: 6,
  APPLY_ACTIONS_MISS: 7,
  MATCH: 8,
  WILDCARDS: 10,
  WRITE_SETFIELD: 12,
  WRITE_SETFIELD_MISS: 13,
  APPLY_SETFIELD: 14,
  APPLY_SETFIELD_MISS: 15,
  EXPERIMENTER: 0xfffe,
  EXPERIMENTER_MISS: 0xffff,
} as const;

/** ofp_queue_properties */
export const OFPQT = { MIN_RATE: 1, MAX_RATE: 2, EXPERIMENTER: 0xffff } as const;

/** ofp_queue: all queues (queue stats requests) */
export const OFPQ = { ALL: 0xffffffff } as const;

/** ofp_group_capabilities */
export const OFPGFC = { SELECT_WEIGHT: 1 << 0, SELECT_LIVENESS: 1 << 1, CHAINING: 1 << 2, CHAINING_CHECKS: 1 << 3 } as const;

/** ofp_bundle_prop_type */
export const OFPBPT = { EXPERIMENTER: 0xffff } as const;
