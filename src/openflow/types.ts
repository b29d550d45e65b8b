// The decoded form of OpenFlow 1.3 messages: readonly discriminated unions. Nothing outside src/openflow touches
// bytes; everything else works with these. 64-bit quantities (cookies, datapath ids, counters) are bigints.
// Every decoded value round-trips: encode(decode(bytes)) equals bytes, so unknown parts are kept raw.

/** One OXM (or NXM) match field / set_field payload. Value and mask are in network byte order, exact field width. */
export interface OxmField {
  /** Registry name (oxm-fields.ts), e.g. 'eth_dst', 'tun_id', 'reg0'; 'unknown' for a field not in the registry. */
  readonly field: string;
  readonly value: Uint8Array;
  readonly mask?: Uint8Array;
  /** Only for 'unknown': the 32-bit OXM header as seen on the wire (class, field, hasmask, length). */
  readonly header?: number;
  /** Only for 'unknown' experimenter-class (0xffff) fields. */
  readonly experimenter?: number;
}

/** An OF1.3 match (ofp_match of type OFPMT_OXM): the OXM TLVs in wire order. */
export type Match = readonly OxmField[];

/** A reference to a field (or bits of it) inside Nicira actions such as reg_move / reg_load / output_reg. */
export interface FieldRef {
  /** Registry name, or 'unknown' (then `header` is set). */
  readonly field: string;
  /** The 32-bit NXM/OXM header exactly as on the wire (kept so encode is lossless). */
  readonly header: number;
  /** Experimenter id for 64-bit experimenter OXM headers, if any. */
  readonly experimenter?: number;
}

/** Actions: OF1.3 standard ones, the Nicira (NXAST_*) and ONF extensions, and raw unknown experimenter actions. */
export type Action =
  | { readonly type: 'output'; readonly port: number; readonly maxLen: number }
  | { readonly type: 'copy_ttl_out' }
  | { readonly type: 'copy_ttl_in' }
  | { readonly type: 'set_mpls_ttl'; readonly ttl: number }
  | { readonly type: 'dec_mpls_ttl' }
  | { readonly type: 'push_vlan'; readonly ethertype: number }
  | { readonly type: 'pop_vlan' }
  | { readonly type: 'push_mpls'; readonly ethertype: number }
  | { readonly type: 'pop_mpls'; readonly ethertype: number }
  | { readonly type: 'set_queue'; readonly queueId: number }
  | { readonly type: 'group'; readonly groupId: number }
  | { readonly type: 'set_nw_ttl'; readonly ttl: number }
  | { readonly type: 'dec_nw_ttl' }
  | { readonly type: 'set_field'; readonly field: OxmField }
  | { readonly type: 'push_pbb'; readonly ethertype: number }
  | { readonly type: 'pop_pbb' }
  // Nicira extensions. Each carries exactly what its wire struct carries; see actions.ts for the subtypes.
  | { readonly type: 'nx_resubmit'; readonly inPort: number; readonly table?: number; readonly ct?: boolean }
  | { readonly type: 'nx_reg_move'; readonly nBits: number; readonly srcOfs: number; readonly dstOfs: number; readonly src: FieldRef; readonly dst: FieldRef }
  | { readonly type: 'nx_reg_load'; readonly ofs: number; readonly nBits: number; readonly dst: FieldRef; readonly value: bigint }
  | { readonly type: 'nx_reg_load2'; readonly field: OxmField }
  | { readonly type: 'nx_clone'; readonly actions: readonly Action[] }
  | { readonly type: 'nx_ct'; readonly flags: number; readonly zoneSrc?: FieldRef; readonly zoneOfs: number; readonly zoneNBits: number; readonly zoneImm: number; readonly recircTable: number; readonly alg: number; readonly actions: readonly Action[] }
  | { readonly type: 'nx_ct_clear' }
  | { readonly type: 'nx_nat'; readonly flags: number; readonly rangePresent: number; readonly ipv4Min?: number; readonly ipv4Max?: number; readonly ipv6Min?: Uint8Array; readonly ipv6Max?: Uint8Array; readonly protoMin?: number; readonly protoMax?: number }
  | { readonly type: 'nx_conjunction'; readonly clause: number; readonly nClauses: number; readonly id: number }
  | { readonly type: 'nx_learn'; readonly idleTimeout: number; readonly hardTimeout: number; readonly priority: number; readonly cookie: bigint; readonly flags: number; readonly tableId: number; readonly finIdleTimeout: number; readonly finHardTimeout: number; readonly specs: Uint8Array }
  | { readonly type: 'nx_note'; readonly note: Uint8Array }
  | { readonly type: 'nx_dec_ttl'; readonly controllerIds?: readonly number[] }
  | { readonly type: 'nx_controller'; readonly maxLen: number; readonly controllerId: number; readonly reason: number }
  | { readonly type: 'nx_controller2'; readonly maxLen?: number; readonly controllerId?: number; readonly reason?: number; readonly userdata?: Uint8Array; readonly pause?: boolean; readonly meterId?: number; readonly raw?: Uint8Array }
  | { readonly type: 'nx_output_reg'; readonly ofs: number; readonly nBits: number; readonly src: FieldRef; readonly maxLen: number }
  | { readonly type: 'nx_output_reg2'; readonly ofs: number; readonly nBits: number; readonly src: FieldRef; readonly maxLen: number }
  | { readonly type: 'nx_multipath'; readonly fields: number; readonly basis: number; readonly algorithm: number; readonly maxLink: number; readonly arg: number; readonly ofs: number; readonly nBits: number; readonly dst: FieldRef }
  | { readonly type: 'nx_exit' }
  | { readonly type: 'nx_sample'; readonly version: 1 | 2 | 3; readonly probability: number; readonly collectorSetId: number; readonly obsDomainId: number; readonly obsPointId: number; readonly samplingPort?: number; readonly direction?: number }
  | { readonly type: 'nx_fin_timeout'; readonly finIdleTimeout: number; readonly finHardTimeout: number }
  /** Sets the 1-bit subfield `dst[ofs]` to whether the packet (L2 frame) is longer than `pktLen` bytes (OVS 2.12+). */
  | { readonly type: 'nx_check_pkt_larger'; readonly pktLen: number; readonly ofs: number; readonly dst: FieldRef }
  | { readonly type: 'onf_copy_field'; readonly nBits: number; readonly srcOffset: number; readonly dstOffset: number; readonly src: FieldRef; readonly dst: FieldRef }
  /** Any experimenter action we do not model: the whole action TLV, kept verbatim. */
  | { readonly type: 'experimenter'; readonly experimenter: number; readonly subtype?: number; readonly raw: Uint8Array };

export type ActionType = Action['type'];

/** Instructions (ofp_instruction_*). */
export type Instruction =
  | { readonly type: 'goto_table'; readonly tableId: number }
  | { readonly type: 'write_metadata'; readonly metadata: bigint; readonly mask: bigint }
  | { readonly type: 'write_actions'; readonly actions: readonly Action[] }
  | { readonly type: 'apply_actions'; readonly actions: readonly Action[] }
  | { readonly type: 'clear_actions' }
  | { readonly type: 'meter'; readonly meterId: number }
  | { readonly type: 'experimenter'; readonly experimenter: number; readonly raw: Uint8Array };

/** ofp_port (OF1.3, 64 bytes). */
export interface Port {
  readonly portNo: number;
  readonly hwAddr: string; // 'aa:bb:cc:dd:ee:ff'
  readonly name: string;
  readonly config: number;
  readonly state: number;
  readonly curr: number;
  readonly advertised: number;
  readonly supported: number;
  readonly peer: number;
  readonly currSpeed: number;
  readonly maxSpeed: number;
}

export interface Bucket {
  readonly weight: number;
  readonly watchPort: number;
  readonly watchGroup: number;
  readonly actions: readonly Action[];
}

export interface MeterBand {
  readonly type: number; // OFPMBT
  readonly rate: number;
  readonly burstSize: number;
  readonly precLevel?: number; // DSCP_REMARK
  readonly experimenter?: number; // EXPERIMENTER
  readonly raw?: Uint8Array; // unknown band types, verbatim
}

export interface FlowStats {
  readonly tableId: number;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly priority: number;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly flags: number;
  readonly cookie: bigint;
  readonly packetCount: bigint;
  readonly byteCount: bigint;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
}

export interface PortStats {
  readonly portNo: number;
  readonly rxPackets: bigint;
  readonly txPackets: bigint;
  readonly rxBytes: bigint;
  readonly txBytes: bigint;
  readonly rxDropped: bigint;
  readonly txDropped: bigint;
  readonly rxErrors: bigint;
  readonly txErrors: bigint;
  readonly rxFrameErr: bigint;
  readonly rxOverErr: bigint;
  readonly rxCrcErr: bigint;
  readonly collisions: bigint;
  readonly durationSec: number;
  readonly durationNsec: number;
}

export interface TableStats {
  readonly tableId: number;
  readonly activeCount: number;
  readonly lookupCount: bigint;
  readonly matchedCount: bigint;
}

export interface QueueStats {
  readonly portNo: number;
  readonly queueId: number;
  readonly txBytes: bigint;
  readonly txPackets: bigint;
  readonly txErrors: bigint;
  readonly durationSec: number;
  readonly durationNsec: number;
}

export interface GroupStats {
  readonly groupId: number;
  readonly refCount: number;
  readonly packetCount: bigint;
  readonly byteCount: bigint;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly buckets: readonly { readonly packetCount: bigint; readonly byteCount: bigint }[];
}

export interface GroupDesc {
  readonly groupType: number;
  readonly groupId: number;
  readonly buckets: readonly Bucket[];
}

export interface MeterStats {
  readonly meterId: number;
  readonly flowCount: number;
  readonly packetInCount: bigint;
  readonly byteInCount: bigint;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly bands: readonly { readonly packetBandCount: bigint; readonly byteBandCount: bigint }[];
}

export interface MeterConfig {
  readonly flags: number;
  readonly meterId: number;
  readonly bands: readonly MeterBand[];
}

/** ofp_table_features; properties kept as typed TLVs where simple, raw otherwise (lossless). */
export interface TableFeatures {
  readonly tableId: number;
  readonly name: string;
  readonly metadataMatch: bigint;
  readonly metadataWrite: bigint;
  readonly config: number;
  readonly maxEntries: number;
  readonly properties: readonly { readonly type: number; readonly data: Uint8Array }[];
}

export interface QueueDesc {
  readonly queueId: number;
  readonly port: number;
  readonly properties: readonly { readonly type: number; readonly data: Uint8Array }[];
}

export interface AsyncConfig {
  /** [master/equal, slave] bitmaps, as in ofp_async_config. */
  readonly packetInMask: readonly [number, number];
  readonly portStatusMask: readonly [number, number];
  readonly flowRemovedMask: readonly [number, number];
}

interface Base {
  readonly xid: number;
}

/** Multipart messages all carry flags (OFPMPF_REQ_MORE / OFPMPF_REPLY_MORE). */
interface MpBase extends Base {
  readonly flags: number;
}

export type Message =
  | (Base & { readonly type: 'hello'; readonly version: number; readonly versions?: readonly number[]; readonly extra?: Uint8Array })
  | (Base & { readonly type: 'error'; readonly version?: number; readonly errType: number; readonly code: number; readonly experimenter?: number; readonly data: Uint8Array })
  | (Base & { readonly type: 'echo_request'; readonly data: Uint8Array })
  | (Base & { readonly type: 'echo_reply'; readonly data: Uint8Array })
  | (Base & { readonly type: 'experimenter'; readonly experimenter: number; readonly expType: number; readonly data: Uint8Array })
  | (Base & { readonly type: 'features_request' })
  | (Base & { readonly type: 'features_reply'; readonly datapathId: bigint; readonly nBuffers: number; readonly nTables: number; readonly auxiliaryId: number; readonly capabilities: number })
  | (Base & { readonly type: 'get_config_request' })
  | (Base & { readonly type: 'get_config_reply'; readonly flags: number; readonly missSendLen: number })
  | (Base & { readonly type: 'set_config'; readonly flags: number; readonly missSendLen: number })
  | (Base & { readonly type: 'packet_in'; readonly bufferId: number; readonly totalLen: number; readonly reason: number; readonly tableId: number; readonly cookie: bigint; readonly match: Match; readonly data: Uint8Array })
  | (Base & { readonly type: 'flow_removed'; readonly cookie: bigint; readonly priority: number; readonly reason: number; readonly tableId: number; readonly durationSec: number; readonly durationNsec: number; readonly idleTimeout: number; readonly hardTimeout: number; readonly packetCount: bigint; readonly byteCount: bigint; readonly match: Match })
  | (Base & { readonly type: 'port_status'; readonly reason: number; readonly port: Port })
  | (Base & { readonly type: 'packet_out'; readonly bufferId: number; readonly inPort: number; readonly actions: readonly Action[]; readonly data: Uint8Array })
  | (Base & FlowMod)
  | (Base & { readonly type: 'group_mod'; readonly command: number; readonly groupType: number; readonly groupId: number; readonly buckets: readonly Bucket[] })
  | (Base & { readonly type: 'port_mod'; readonly portNo: number; readonly hwAddr: string; readonly config: number; readonly mask: number; readonly advertise: number })
  | (Base & { readonly type: 'table_mod'; readonly tableId: number; readonly config: number })
  | (MpBase & { readonly type: 'desc_request' })
  | (MpBase & { readonly type: 'desc_reply'; readonly mfrDesc: string; readonly hwDesc: string; readonly swDesc: string; readonly serialNum: string; readonly dpDesc: string })
  | (MpBase & { readonly type: 'flow_stats_request'; readonly tableId: number; readonly outPort: number; readonly outGroup: number; readonly cookie: bigint; readonly cookieMask: bigint; readonly match: Match })
  | (MpBase & { readonly type: 'flow_stats_reply'; readonly flows: readonly FlowStats[] })
  | (MpBase & { readonly type: 'aggregate_stats_request'; readonly tableId: number; readonly outPort: number; readonly outGroup: number; readonly cookie: bigint; readonly cookieMask: bigint; readonly match: Match })
  | (MpBase & { readonly type: 'aggregate_stats_reply'; readonly packetCount: bigint; readonly byteCount: bigint; readonly flowCount: number })
  | (MpBase & { readonly type: 'table_stats_request' })
  | (MpBase & { readonly type: 'table_stats_reply'; readonly tables: readonly TableStats[] })
  | (MpBase & { readonly type: 'port_stats_request'; readonly portNo: number })
  | (MpBase & { readonly type: 'port_stats_reply'; readonly ports: readonly PortStats[] })
  | (MpBase & { readonly type: 'queue_stats_request'; readonly portNo: number; readonly queueId: number })
  | (MpBase & { readonly type: 'queue_stats_reply'; readonly queues: readonly QueueStats[] })
  | (MpBase & { readonly type: 'group_stats_request'; readonly groupId: number })
  | (MpBase & { readonly type: 'group_stats_reply'; readonly groups: readonly GroupStats[] })
  | (MpBase & { readonly type: 'group_desc_request' })
  | (MpBase & { readonly type: 'group_desc_reply'; readonly groups: readonly GroupDesc[] })
  | (MpBase & { readonly type: 'group_features_request' })
  | (MpBase & { readonly type: 'group_features_reply'; readonly types: number; readonly capabilities: number; readonly maxGroups: readonly [number, number, number, number]; readonly actions: readonly [number, number, number, number] })
  | (MpBase & { readonly type: 'meter_stats_request'; readonly meterId: number })
  | (MpBase & { readonly type: 'meter_stats_reply'; readonly meters: readonly MeterStats[] })
  | (MpBase & { readonly type: 'meter_config_request'; readonly meterId: number })
  | (MpBase & { readonly type: 'meter_config_reply'; readonly meters: readonly MeterConfig[] })
  | (MpBase & { readonly type: 'meter_features_request' })
  | (MpBase & { readonly type: 'meter_features_reply'; readonly maxMeter: number; readonly bandTypes: number; readonly capabilities: number; readonly maxBands: number; readonly maxColor: number })
  | (MpBase & { readonly type: 'table_features_request'; readonly tables: readonly TableFeatures[] })
  | (MpBase & { readonly type: 'table_features_reply'; readonly tables: readonly TableFeatures[] })
  | (MpBase & { readonly type: 'port_desc_request' })
  | (MpBase & { readonly type: 'port_desc_reply'; readonly ports: readonly Port[] })
  | (MpBase & { readonly type: 'experimenter_stats_request'; readonly experimenter: number; readonly expType: number; readonly data: Uint8Array })
  | (MpBase & { readonly type: 'experimenter_stats_reply'; readonly experimenter: number; readonly expType: number; readonly data: Uint8Array })
  | (Base & { readonly type: 'barrier_request' })
  | (Base & { readonly type: 'barrier_reply' })
  | (Base & { readonly type: 'queue_get_config_request'; readonly port: number })
  | (Base & { readonly type: 'queue_get_config_reply'; readonly port: number; readonly queues: readonly QueueDesc[] })
  | (Base & { readonly type: 'role_request'; readonly role: number; readonly generationId: bigint })
  | (Base & { readonly type: 'role_reply'; readonly role: number; readonly generationId: bigint })
  | (Base & { readonly type: 'get_async_request' })
  | (Base & { readonly type: 'get_async_reply' } & AsyncConfig)
  | (Base & { readonly type: 'set_async' } & AsyncConfig)
  | (Base & { readonly type: 'meter_mod'; readonly command: number; readonly flags: number; readonly meterId: number; readonly bands: readonly MeterBand[] })
  // ONF bundle extension (experimenter ONF_EXPERIMENTER_ID, ONFT_BUNDLE_CONTROL / ONFT_BUNDLE_ADD_MESSAGE).
  | (Base & { readonly type: 'bundle_control'; readonly bundleId: number; readonly ctrlType: number; readonly bundleFlags: number; readonly properties: Uint8Array })
  /**
   * `message` is the embedded message, or its bytes when the codec refuses its body (OVS prints that refusal inside
   * the bundle_add); `properties` is whatever follows it, verbatim.
   */
  | (Base & { readonly type: 'bundle_add'; readonly bundleId: number; readonly bundleFlags: number; readonly message: Message | Uint8Array; readonly properties: Uint8Array })
  // ONF extensions for OF1.3 carrying OF1.4 messages (experimenter ONF_EXPERIMENTER_ID, ONFT_*).
  /** The switch tells a controller its role changed; `properties` (OF1.4 role properties) kept raw. */
  | (Base & { readonly type: 'role_status'; readonly role: number; readonly reason: number; readonly generationId: bigint; readonly properties: Uint8Array })
  /** A group_mod or meter_mod another controller made, forwarded whole (its own header and xid). */
  | (Base & { readonly type: 'requestforward'; readonly message: Message })
  | (Base & { readonly type: 'flow_monitor_cancel'; readonly id: number })
  | (Base & { readonly type: 'flow_monitor_paused' })
  | (Base & { readonly type: 'flow_monitor_resumed' });

export interface FlowMod {
  readonly type: 'flow_mod';
  readonly cookie: bigint;
  readonly cookieMask: bigint;
  readonly tableId: number;
  readonly command: number; // OFPFC
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly priority: number;
  readonly bufferId: number;
  readonly outPort: number;
  readonly outGroup: number;
  readonly flags: number; // OFPFF
  readonly match: Match;
  readonly instructions: readonly Instruction[];
}

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { readonly type: T }>;
