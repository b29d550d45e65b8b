// Action and instruction constants: OpenFlow 1.3.5 (ofp_action_type, ofp_instruction_type) and the Nicira / ONF
// extension subtypes as Open vSwitch numbers them (lib/ofp-actions.c).

/** ofp_action_type (OF1.3) */
export const OFPAT = {
  OUTPUT: 0, // Output to switch port.
  COPY_TTL_OUT: 11, // Copy TTL "outwards": from next-to-outermost to outermost.
  COPY_TTL_IN: 12, // Copy TTL "inwards": from outermost to next-to-outermost.
  SET_MPLS_TTL: 15, // MPLS TTL.
  DEC_MPLS_TTL: 16, // Decrement MPLS TTL.
  PUSH_VLAN: 17, // Push a new VLAN tag.
  POP_VLAN: 18, // Pop the outer VLAN tag.
  PUSH_MPLS: 19, // Push a new MPLS tag.
  POP_MPLS: 20, // Pop the outer MPLS tag.
  SET_QUEUE: 21, // Set queue id when outputting to a port.
  GROUP: 22, // Apply group.
  SET_NW_TTL: 23, // IP TTL.
  DEC_NW_TTL: 24, // Decrement IP TTL.
  SET_FIELD: 25, // Set a header field using OXM TLV format.
  PUSH_PBB: 26, // Push a new PBB service tag (I-TAG).
  POP_PBB: 27, // Pop the outer PBB service tag (I-TAG).
  EXPERIMENTER: 0xffff,
} as const;

/** Nicira extension action subtypes (experimenter NX_VENDOR_ID 0x00002320). */
export const NXAST = {
  RESUBMIT: 1,
  SET_TUNNEL: 2,
  SET_QUEUE: 4,
  POP_QUEUE: 5,
  REG_MOVE: 6,
  REG_LOAD: 7,
  NOTE: 8,
  SET_TUNNEL64: 9,
  MULTIPATH: 10,
  BUNDLE: 12,
  BUNDLE_LOAD: 13,
  RESUBMIT_TABLE: 14,
  OUTPUT_REG: 15,
  LEARN: 16,
  EXIT: 17,
  DEC_TTL: 18,
  FIN_TIMEOUT: 19,
  CONTROLLER: 20,
  DEC_TTL_CNT_IDS: 21,
  WRITE_METADATA: 22,
  STACK_PUSH: 27,
  STACK_POP: 28,
  SAMPLE: 29,
  OUTPUT_REG2: 32,
  REG_LOAD2: 33,
  CONJUNCTION: 34,
  CT: 35,
  NAT: 36,
  CONTROLLER2: 37,
  SAMPLE2: 38,
  OUTPUT_TRUNC: 39,
  SAMPLE3: 41,
  CLONE: 42,
  CT_CLEAR: 43,
  RESUBMIT_TABLE_CT: 44,
  LEARN2: 45,
  CHECK_PKT_LARGER: 49,
} as const;

/** ONF extension action subtypes (experimenter ONF_EXPERIMENTER_ID 0x4F4E4600). */
export const ONFACT = {
  COPY_FIELD: 3200,
} as const;

/** ofp_instruction_type (OF1.3) */
export const OFPIT = {
  GOTO_TABLE: 1, // Setup the next table in the lookup pipeline.
  WRITE_METADATA: 2, // Setup the metadata field for use later in pipeline.
  WRITE_ACTIONS: 3, // Write the action(s) onto the datapath action set.
  APPLY_ACTIONS: 4, // Applies the action(s) immediately.
  CLEAR_ACTIONS: 5, // Clears all actions from the datapath action set.
  METER: 6, // Apply meter (rate limiter).
  EXPERIMENTER: 0xffff,
} as const;

/**
 * The order a switch executes a flow's instructions in (OpenFlow 1.3.5 §5.9), which is also the order OVS lists
 * them in and ovs-ofctl requires them to be written in. Experimenter instructions come after all of these.
 */
export const INSTRUCTION_ORDER = [OFPIT.METER, OFPIT.APPLY_ACTIONS, OFPIT.CLEAR_ACTIONS, OFPIT.WRITE_ACTIONS, OFPIT.WRITE_METADATA, OFPIT.GOTO_TABLE] as const;

/** nx_conntrack_flags (NXAST_CT `flags`). */
export const NX_CT_F = { COMMIT: 1 << 0, FORCE: 1 << 1 } as const;
/** NXAST_CT recirc_table meaning "do not recirculate". */
export const NX_CT_RECIRC_NONE = 0xff;

/** nx_nat_flags (NXAST_NAT `flags`). */
export const NX_NAT_F = { SRC: 1 << 0, DST: 1 << 1, PERSISTENT: 1 << 2, PROTO_HASH: 1 << 3, PROTO_RANDOM: 1 << 4 } as const;
/** nx_nat_range: which optional range fields follow NXAST_NAT's fixed part, in this order. */
export const NX_NAT_RANGE = { IPV4_MIN: 1 << 0, IPV4_MAX: 1 << 1, IPV6_MIN: 1 << 2, IPV6_MAX: 1 << 3, PROTO_MIN: 1 << 4, PROTO_MAX: 1 << 5 } as const;

/** NXAST_CONTROLLER2 property types (nx_action_controller2_prop_type). */
export const NXAC2PT = { MAX_LEN: 0, CONTROLLER_ID: 1, REASON: 2, USERDATA: 3, PAUSE: 4, METER_ID: 5 } as const;
/** NXAST_CONTROLLER2 meter_id meaning "no meter". */
export const NX_CTLR_NO_METER = 0;

/** nx_hash_fields (NXAST_MULTIPATH `fields`). */
export const NX_HASH_FIELDS = {
  ETH_SRC: 0,
  SYMMETRIC_L4: 1,
  SYMMETRIC_L3L4: 2,
  SYMMETRIC_L3L4_UDP: 3,
  NW_SRC: 4,
  NW_DST: 5,
  SYMMETRIC_L3: 6,
} as const;

/** nx_mp_algorithm (NXAST_MULTIPATH `algorithm`). */
export const NX_MP_ALG = { MODULO_N: 0, HASH_THRESHOLD: 1, HRW: 2, ITER_HASH: 3 } as const;

/** nx_action_sample_direction (NXAST_SAMPLE3 `direction`). */
export const NX_ACTION_SAMPLE = { DEFAULT: 0, INGRESS: 1, EGRESS: 2 } as const;

/** nx_learn flags and spec header bits (NXAST_LEARN). */
export const NX_LEARN_F = { SEND_FLOW_REM: 1 << 0, DELETE_LEARNED: 1 << 1, WRITE_RESULT: 1 << 2 } as const;
export const NX_LEARN_N_BITS_MASK = 0x3ff;
export const NX_LEARN_SRC = { FIELD: 0 << 13, IMMEDIATE: 1 << 13 } as const;
export const NX_LEARN_DST = { MATCH: 0 << 11, LOAD: 1 << 11, OUTPUT: 2 << 11, RESERVED: 3 << 11 } as const;
