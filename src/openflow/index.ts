// The public API of the codec (`minicloud/openflow`).
export type * from './types.js';
export * from './consts.js';
export { CodecError, isCodecError } from './errors.js';
export { Reader } from './reader.js';
export { Writer, pad8 } from './writer.js';
export { OFPFMFC, OFPGMFC, OFPPMFC, OFPTMFC, OFPQOFC, OFPSCFC, OFPRRFC, OFPMMFC, OFPTFFC, ONFERR_ET_BUNDLE, errorName, errorCodeName, errorTypeName } from './error-codes.js';
export { decodeMessage, encodeMessage, encodeMessageInto, MessageEncoder, messageEncodingLength, messageTypes, isMultipartType, frameXid } from './message.js';
export { FrameSplitter, frames, type FrameSplitterOptions } from './framing.js';
export { messageToJSON, messageFromJSON, type Json } from './text/json.js';
export { formatMessage, messageName } from './text/message-text.js';
export { parseFlow, formatFlow, formatMatch, parseMatch } from './text/flow-text.js';
export { parseActions, parseInstructions } from './text/action-parse.js';
export { formatActions, formatInstructions } from './text/action-format.js';
export { fieldByName, nxmCodePoint, FIELDS, type FieldInfo } from './oxm-fields.js';
export { oxm } from './text/oxm-builder.js';
export { INSTRUCTION_ORDER, NX_CT_F, NX_CT_RECIRC_NONE } from './action-consts.js';
export { forEachRawFlowStats, type RawFlowStats } from './flow-stats-raw.js';
export {
  canonicalFlowKey,
  canonicalInstructions,
  canonicalMatch,
  checkFlowStatsFrame,
  FlowBodyEncoder,
  flowIdentityOfKey,
  flowKeyPriority,
  flowKeyTable,
  FlowKeyIndex,
  forEachFlowStatsEntry,
  forEachFlowStatsIdentity,
  MAX_FLOW_BODY_LEN,
  type EncodedFlowBody,
  type FlowIdentity,
  type FlowStatsEntry,
  type FlowStatsIdentity,
} from './flow-identity.js';
export { FlowModWriter, type BundleTarget, type FlowModHead } from './flow-mod-writer.js';
