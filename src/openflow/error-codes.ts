// OFPT_ERROR type and code names: every OF1.3.5 error, plus the experimenter errors Open vSwitch sends in OF1.3
// (Nicira: experimenter NX_VENDOR_ID; ONF extensions such as bundles: ONF_EXPERIMENTER_ID).
import { NX_VENDOR_ID, ONF_EXPERIMENTER_ID, OFPBAC, OFPBIC, OFPBMC, OFPBRC, OFPET, OFPHFC } from './consts.js';

/** ofp_flow_mod_failed_code */
export const OFPFMFC = { UNKNOWN: 0, TABLE_FULL: 1, BAD_TABLE_ID: 2, OVERLAP: 3, EPERM: 4, BAD_TIMEOUT: 5, BAD_COMMAND: 6, BAD_FLAGS: 7 } as const;

/** ofp_group_mod_failed_code */
export const OFPGMFC = {
  GROUP_EXISTS: 0,
  INVALID_GROUP: 1,
  WEIGHT_UNSUPPORTED: 2,
  OUT_OF_GROUPS: 3,
  OUT_OF_BUCKETS: 4,
  CHAINING_UNSUPPORTED: 5,
  WATCH_UNSUPPORTED: 6,
  LOOP: 7,
  UNKNOWN_GROUP: 8,
  CHAINED_GROUP: 9,
  BAD_TYPE: 10,
  BAD_COMMAND: 11,
  BAD_BUCKET: 12,
  BAD_WATCH: 13,
  EPERM: 14,
} as const;

/** ofp_port_mod_failed_code */
export const OFPPMFC = { BAD_PORT: 0, BAD_HW_ADDR: 1, BAD_CONFIG: 2, BAD_ADVERTISE: 3, EPERM: 4 } as const;

/** ofp_table_mod_failed_code */
export const OFPTMFC = { BAD_TABLE: 0, BAD_CONFIG: 1, EPERM: 2 } as const;

/** ofp_queue_op_failed_code */
export const OFPQOFC = { BAD_PORT: 0, BAD_QUEUE: 1, EPERM: 2 } as const;

/** ofp_switch_config_failed_code */
export const OFPSCFC = { BAD_FLAGS: 0, BAD_LEN: 1, EPERM: 2 } as const;

/** ofp_role_request_failed_code */
export const OFPRRFC = { STALE: 0, UNSUP: 1, BAD_ROLE: 2 } as const;

/** ofp_meter_mod_failed_code */
export const OFPMMFC = {
  UNKNOWN: 0,
  METER_EXISTS: 1,
  INVALID_METER: 2,
  UNKNOWN_METER: 3,
  BAD_COMMAND: 4,
  BAD_FLAGS: 5,
  BAD_RATE: 6,
  BAD_BURST: 7,
  BAD_BAND: 8,
  BAD_BAND_VALUE: 9,
  OUT_OF_METERS: 10,
  OUT_OF_BANDS: 11,
} as const;

/** ofp_table_features_failed_code */
export const OFPTFFC = { BAD_TABLE: 0, BAD_METADATA: 1, BAD_TYPE: 2, BAD_LEN: 3, BAD_ARGUMENT: 4, EPERM: 5 } as const;

/** ONF bundle errors in OF1.3: experimenter errors from ONF_EXPERIMENTER_ID (OF1.4's OFPBFC_*, shifted to 2300). */
export const ONFERR_ET_BUNDLE = {
  UNKNOWN: 2300,
  EPERM: 2301,
  BAD_ID: 2302,
  BUNDLE_EXIST: 2303,
  BUNDLE_CLOSED: 2304,
  OUT_OF_BUNDLES: 2305,
  BAD_TYPE: 2306,
  BAD_FLAGS: 2307,
  MSG_BAD_LEN: 2308,
  MSG_BAD_XID: 2309,
  MSG_UNSUP: 2310,
  MSG_CONFLICT: 2311,
  MSG_TOO_MANY: 2312,
  MSG_FAILED: 2313,
  TIMEOUT: 2314,
  BUNDLE_IN_PROGRESS: 2315,
} as const;

/** Code tables per standard error type, with the spec's name prefix (OFPET_x / prefix_y). */
const STANDARD: Readonly<Record<number, { readonly type: string; readonly prefix: string; readonly codes: Readonly<Record<string, number>> }>> = {
  [OFPET.HELLO_FAILED]: { type: 'HELLO_FAILED', prefix: 'OFPHFC', codes: OFPHFC },
  [OFPET.BAD_REQUEST]: {
    type: 'BAD_REQUEST',
    prefix: 'OFPBRC',
    codes: OFPBRC,
  },
  [OFPET.BAD_ACTION]: {
    type: 'BAD_ACTION',
    prefix: 'OFPBAC',
    codes: OFPBAC,
  },
  [OFPET.BAD_INSTRUCTION]: {
    type: 'BAD_INSTRUCTION',
    prefix: 'OFPBIC',
    codes: OFPBIC,
  },
  [OFPET.BAD_MATCH]: {
    type: 'BAD_MATCH',
    prefix: 'OFPBMC',
    codes: OFPBMC,
  },
  [OFPET.FLOW_MOD_FAILED]: { type: 'FLOW_MOD_FAILED', prefix: 'OFPFMFC', codes: OFPFMFC },
  [OFPET.GROUP_MOD_FAILED]: { type: 'GROUP_MOD_FAILED', prefix: 'OFPGMFC', codes: OFPGMFC },
  [OFPET.PORT_MOD_FAILED]: { type: 'PORT_MOD_FAILED', prefix: 'OFPPMFC', codes: OFPPMFC },
  [OFPET.TABLE_MOD_FAILED]: { type: 'TABLE_MOD_FAILED', prefix: 'OFPTMFC', codes: OFPTMFC },
  [OFPET.QUEUE_OP_FAILED]: { type: 'QUEUE_OP_FAILED', prefix: 'OFPQOFC', codes: OFPQOFC },
  [OFPET.SWITCH_CONFIG_FAILED]: { type: 'SWITCH_CONFIG_FAILED', prefix: 'OFPSCFC', codes: OFPSCFC },
  [OFPET.ROLE_REQUEST_FAILED]: { type: 'ROLE_REQUEST_FAILED', prefix: 'OFPRRFC', codes: OFPRRFC },
  [OFPET.METER_MOD_FAILED]: { type: 'METER_MOD_FAILED', prefix: 'OFPMMFC', codes: OFPMMFC },
  [OFPET.TABLE_FEATURES_FAILED]: { type: 'TABLE_FEATURES_FAILED', prefix: 'OFPTFFC', codes: OFPTFFC },
};

/**
 * Experimenter errors as Open vSwitch 3.x sends them in OF1.3 (exp_code -> name). Names are OVS's; several ONF
 * ones are OF1.4+ errors carried as ONF experimenter errors in 1.3.
 */
const EXPERIMENTER: ReadonlyMap<number, ReadonlyMap<number, string>> = new Map([
  [
    NX_VENDOR_ID,
    new Map([
      [2, 'NXBRC_NXM_INVALID'],
      [3, 'NXBRC_NXM_BAD_TYPE'],
      [4, 'NXBRC_MUST_BE_ZERO'],
      [5, 'NXBRC_BAD_REASON'],
      [6, 'OFPMOFC_MONITOR_EXISTS'],
      [7, 'OFPMOFC_BAD_FLAGS'],
      [8, 'OFPMOFC_UNKNOWN_MONITOR'],
      [9, 'NXBRC_FM_BAD_EVENT'],
      [10, 'NXBRC_UNENCODABLE_ERROR'],
      [11, 'NXBAC_MUST_BE_ZERO'],
      [12, 'NXFMFC_HARDWARE'],
      [13, 'NXFMFC_BAD_TABLE_ID'],
      [15, 'NXBAC_BAD_CONJUNCTION'],
      [16, 'NXTTMFC_BAD_COMMAND'],
      [17, 'NXTTMFC_BAD_OPT_LEN'],
      [18, 'NXTTMFC_BAD_FIELD_IDX'],
      [19, 'NXTTMFC_TABLE_FULL'],
      [20, 'NXTTMFC_ALREADY_MAPPED'],
      [21, 'NXTTMFC_DUP_ENTRY'],
      [34, 'NXR_NOT_SUPPORTED'],
      [35, 'NXR_STALE'],
      [36, 'NXST_NOT_CONFIGURED'],
      [37, 'NXFMFC_INVALID_TLV_FIELD'],
      [38, 'NXTTMFC_INVALID_TLV_DEL'],
      [39, 'NXBAC_BAD_HEADER_TYPE'],
      [40, 'NXBAC_UNKNOWN_ED_PROP'],
      [41, 'NXBAC_BAD_ED_PROP'],
      [42, 'NXBAC_CT_DATAPATH_SUPPORT'],
      [43, 'NXBMC_CT_DATAPATH_SUPPORT'],
      [44, 'NXTFFC_DUP_TABLE'],
    ]),
  ],
  [
    ONF_EXPERIMENTER_ID,
    new Map<number, string>([
      ...Object.entries(ONFERR_ET_BUNDLE).map(([name, code]): [number, string] => [code, `OFPBFC_${name}`]),
      [2360, 'OFPFMFC_BAD_PRIORITY'],
      [2370, 'OFPACFC_INVALID'],
      [2371, 'OFPACFC_UNSUPPORTED'],
      [2372, 'OFPACFC_EPERM'],
      [2600, 'OFPBIC_DUP_INST'],
      [2640, 'OFPBRC_MULTIPART_REQUEST_TIMEOUT'],
      [2641, 'OFPBRC_MULTIPART_REPLY_TIMEOUT'],
      [4250, 'OFPBAC_BAD_SET_MASK'],
      [4440, 'OFPBPC_BAD_TYPE'],
      [4441, 'OFPBPC_BAD_LEN'],
      [4442, 'OFPBPC_BAD_VALUE'],
      [4443, 'OFPBPC_TOO_MANY'],
      [4444, 'OFPBPC_DUP_TYPE'],
      [4445, 'OFPBPC_BAD_EXPERIMENTER'],
      [4446, 'OFPBPC_BAD_EXP_TYPE'],
      [4447, 'OFPBPC_BAD_EXP_VALUE'],
      [4448, 'OFPBPC_EPERM'],
    ]),
  ],
]);

/**
 * OFPBFC_BAD_VERSION (a bundled message of another version): OVS names it, but has no OpenFlow 1.3 code for it (it
 * decodes no ONF error 2316); this is the code its ONF range would give it (2300 + its OpenFlow 1.4 code 16).
 */
export const ONF_BUNDLE_BAD_VERSION = 2316;

const codeNames = new Map<number, Map<number, string>>();
for (const [type, t] of Object.entries(STANDARD)) {
  codeNames.set(Number(type), new Map(Object.entries(t.codes).map(([name, code]) => [code, `${t.prefix}_${name}`])));
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * The spec name of an error: 'OFPET_FLOW_MOD_FAILED/OFPFMFC_TABLE_FULL'. Experimenter errors (type 0xffff) with a
 * known experimenter give 'OFPET_EXPERIMENTER/OFPBFC_BAD_ID'; anything unknown gets numbers, e.g.
 * 'OFPET_BAD_REQUEST/code 99' or 'type 77/code 1'.
 */
export function errorName(type: number, code: number, experimenter?: number): string {
  if (type === OFPET.EXPERIMENTER) {
    const name = experimenter === undefined ? undefined : EXPERIMENTER.get(experimenter)?.get(code);
    return `OFPET_EXPERIMENTER/${name ?? `exp_code ${code} (experimenter ${hex(experimenter ?? 0)})`}`;
  }
  const t = STANDARD[type];
  if (!t) return `type ${type}/code ${code}`;
  return `OFPET_${t.type}/${codeNames.get(type)?.get(code) ?? `code ${code}`}`;
}

/** Just the code part of errorName, as ovs-ofctl prints it ('OFPFMFC_TABLE_FULL'), or undefined if unknown. */
export function errorCodeName(type: number, code: number, experimenter?: number): string | undefined {
  if (type === OFPET.EXPERIMENTER && experimenter === ONF_EXPERIMENTER_ID && code === ONF_BUNDLE_BAD_VERSION) return 'OFPBFC_BAD_VERSION';
  if (type === OFPET.EXPERIMENTER) return experimenter === undefined ? undefined : EXPERIMENTER.get(experimenter)?.get(code);
  return codeNames.get(type)?.get(code);
}

/** The name of an error type ('OFPET_BAD_MATCH'), or undefined. */
export function errorTypeName(type: number): string | undefined {
  if (type === OFPET.EXPERIMENTER) return 'OFPET_EXPERIMENTER';
  const t = STANDARD[type];
  return t ? `OFPET_${t.type}` : undefined;
}

/**
 * The errors Open vSwitch 3.1 decodes in an OpenFlow 1.3 OFPT_ERROR, by type then code, under OVS's names (it keeps
 * some OpenFlow 1.0 names: OFPBRC_BAD_STAT, OFPBRC_BAD_VENDOR, and names type 13's codes 2-4 OFPBPC_*). Read off
 * `ovs-ofctl ofp-print` for every type and code; anything else it rejects (ofperr_decode_msg fails: OFPBRC_BAD_LEN).
 */
const OVS_OF13_STANDARD: readonly (readonly string[])[] = [
  ['OFPHFC_INCOMPATIBLE', 'OFPHFC_EPERM'],
  ['OFPBRC_BAD_VERSION', 'OFPBRC_BAD_TYPE', 'OFPBRC_BAD_STAT', 'OFPBRC_BAD_VENDOR', 'OFPBRC_BAD_SUBTYPE', 'OFPBRC_EPERM', 'OFPBRC_BAD_LEN', 'OFPBRC_BUFFER_EMPTY', 'OFPBRC_BUFFER_UNKNOWN', 'OFPBRC_BAD_TABLE_ID', 'OFPBRC_IS_SECONDARY', 'OFPBRC_BAD_PORT', 'OFPBRC_BAD_PACKET', 'OFPBRC_MULTIPART_BUFFER_OVERFLOW'],
  ['OFPBAC_BAD_TYPE', 'OFPBAC_BAD_LEN', 'OFPBAC_BAD_VENDOR', 'OFPBAC_BAD_VENDOR_TYPE', 'OFPBAC_BAD_OUT_PORT', 'OFPBAC_BAD_ARGUMENT', 'OFPBAC_EPERM', 'OFPBAC_TOO_MANY', 'OFPBAC_BAD_QUEUE', 'OFPBAC_BAD_OUT_GROUP', 'OFPBAC_MATCH_INCONSISTENT', 'OFPBAC_UNSUPPORTED_ORDER', 'OFPBAC_BAD_TAG', 'OFPBAC_BAD_SET_TYPE', 'OFPBAC_BAD_SET_LEN', 'OFPBAC_BAD_SET_ARGUMENT'],
  ['OFPBIC_UNKNOWN_INST', 'OFPBIC_UNSUP_INST', 'OFPBIC_BAD_TABLE_ID', 'OFPBIC_UNSUP_METADATA', 'OFPBIC_UNSUP_METADATA_MASK', 'OFPBIC_BAD_EXPERIMENTER', 'OFPBIC_BAD_EXP_TYPE', 'OFPBIC_BAD_LEN', 'OFPBIC_EPERM'],
  ['OFPBMC_BAD_TYPE', 'OFPBMC_BAD_LEN', 'OFPBMC_BAD_TAG', 'OFPBMC_BAD_DL_ADDR_MASK', 'OFPBMC_BAD_NW_ADDR_MASK', 'OFPBMC_BAD_WILDCARDS', 'OFPBMC_BAD_FIELD', 'OFPBMC_BAD_VALUE', 'OFPBMC_BAD_MASK', 'OFPBMC_BAD_PREREQ', 'OFPBMC_DUP_FIELD', 'OFPBMC_EPERM'],
  ...Object.values(STANDARD)
    .slice(5)
    .map((t) => Object.entries(t.codes).map(([name]) => `${t.prefix}_${name}`)),
];
// Type 13 as OVS names it: its property errors share OFPTFFC's codes 2-4.
const OVS_TABLE_FEATURES_FAILED = ['OFPTFFC_BAD_TABLE', 'OFPTFFC_BAD_METADATA', 'OFPBPC_BAD_TYPE', 'OFPBPC_BAD_LEN', 'OFPBPC_BAD_VALUE', 'OFPTFFC_EPERM'];

/** NXET_VENDOR / NXVC_VENDOR_ERROR: the OpenFlow 1.0 way to carry a vendor error (nx_vendor_error follows). */
export const NXET_VENDOR = 0xb0c2;

function ovsTriplet(vendor: number, type: number, code: number): string | undefined {
  if (vendor === 0) return (type === OFPET.TABLE_FEATURES_FAILED ? OVS_TABLE_FEATURES_FAILED : OVS_OF13_STANDARD[type])?.[code];
  return code === 0 ? EXPERIMENTER.get(vendor)?.get(type) : undefined;
}

/**
 * The name OVS gives an OpenFlow 1.3 error (ofperr_decode_msg), or undefined when OVS does not know it. `vendorError`
 * is the nx_vendor_error (vendor, type, code) after an NXET_VENDOR header. An experimenter error's exp_code is its
 * type; experimenter 0 means a standard error.
 */
export function ovsErrorName(type: number, code: number, experimenter?: number, vendorError?: readonly [number, number, number]): string | undefined {
  if (type === OFPET.EXPERIMENTER) return ovsTriplet(experimenter ?? 0, code, 0);
  if (type === NXET_VENDOR && code === 0) return vendorError ? ovsTriplet(...vendorError) : undefined;
  return ovsTriplet(0, type, code);
}
