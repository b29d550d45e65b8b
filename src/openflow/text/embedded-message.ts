// A message carried inside another (the data of an OFPT_ERROR), printed as OVS's ofp_to_string prints it: whole
// messages decoded and printed, anything else named for what is wrong with it (empty, too short, truncated, longer
// than its header says, or refused by the decoder) and dumped in hex.
import { decodeMessage, messageTypeOfHeader, messageTypeOfWhole } from '../message.js';
import { CodecError } from '../errors.js';
import { ovsErrorName, errorCodeName } from '../error-codes.js';
import type { Message, MessageType } from '../types.js';
import { NX_VENDOR_ID, OFP_VERSION, OFPT, ONF_EXPERIMENTER_ID } from '../consts.js';

export interface EmbeddedFormat {
  /** The whole message as formatMessage prints it (`bytes` for the hex dump from verbosity 5). */
  readonly message: (m: Message, verbosity: number, bytes?: Uint8Array) => string;
  /**
   * The header line of a message of this type or name ('OFPT_FLOW_MOD (OF1.3) (xid=0x1):'), with multipart flags if
   * given.
   */
  readonly header: (what: { readonly type: MessageType } | { readonly name: string }, version: number, xid: number, multipartFlags?: number) => string;
  readonly hexDump: (b: Uint8Array) => string;
}

/** The name OVS gives the error a CodecError carries. */
export function ovsNameOf(e: CodecError): string {
  return ovsErrorName(e.ofpType, e.ofpCode, e.experimenter) ?? errorCodeName(e.ofpType, e.ofpCode, e.experimenter) ?? `type ${e.ofpType}/code ${e.ofpCode}`;
}

/** The types every OpenFlow version numbers alike, which OVS names whatever the version byte says (but 0). */
const VERSIONLESS_NAMES = ['OFPT_HELLO', 'OFPT_ERROR', 'OFPT_ECHO_REQUEST', 'OFPT_ECHO_REPLY'];

/** What OVS names a header by (ofpraw_decode_partial), or undefined when it names none. */
function headerOf(bytes: Uint8Array, whole: boolean): { readonly type: MessageType } | { readonly name: string } | undefined {
  const type = whole ? messageTypeOfWhole(bytes) : messageTypeOfHeader(bytes);
  if (type !== undefined) return { type };
  const name = bytes[0] !== 0 && bytes[0] !== OFP_VERSION ? VERSIONLESS_NAMES[bytes[1]!] : undefined;
  return name === undefined ? undefined : { name };
}

const xidOf = (b: Uint8Array): number => ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;

/** ofp_to_string: `bytes` as OVS prints a message of that many bytes at `verbosity`. */
export function embeddedMessageText(bytes: Uint8Array, verbosity: number, f: EmbeddedFormat): string {
  if (bytes.length === 0) return 'OpenFlow message is empty';
  if (bytes.length < 8) return `OpenFlow packet too short (only ${bytes.length} bytes):\n${f.hexDump(bytes)}`;
  const length = (bytes[2]! << 8) | bytes[3]!;
  const what = headerOf(bytes, length === bytes.length);
  if (length > bytes.length) {
    const head = what === undefined ? '' : `${f.header(what, bytes[0]!, xidOf(bytes))}\n`;
    return `${head}(***truncated to ${bytes.length} bytes from ${length}***)\n${f.hexDump(bytes)}`;
  }
  if (length < bytes.length) return `(***only uses ${length} bytes out of ${bytes.length}***)\n${f.hexDump(bytes)}`;
  if (bytes[0] !== OFP_VERSION) {
    const other = otherVersion(bytes, what, f);
    if (other !== undefined) return other;
  }
  let msg: Message;
  try {
    msg = decodeMessage(bytes);
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    const error = `***decode error: ${ovsNameOf(e)}***\n${f.hexDump(bytes)}`;
    if (what === undefined) return error;
    // What OVS printed before the body failed (multipart flags, the entries of a list before the bad one) ends
    // with a newline; the error goes after the header line's space otherwise.
    const flags = bytes[1] === OFPT.MULTIPART_REQUEST || bytes[1] === OFPT.MULTIPART_REPLY ? (bytes[10]! << 8) | bytes[11]! : 0;
    const header = f.header(what, bytes[0]!, xidOf(bytes));
    // A port_desc_reply starts its body with a newline, even before a first port that fails.
    const partial = e.partial;
    const before = partial ? f.message(partial, verbosity).trimEnd() : f.header(what, bytes[0]!, xidOf(bytes), flags);
    return `${before}${before.length > header.length || partial?.type === 'port_desc_reply' ? '\n' : ' '}${error}`;
  }
  // OVS decodes only the experimenter messages it knows (ofpraw_decode); the codec keeps the others raw.
  if (msg.type === 'experimenter' || msg.type === 'experimenter_stats_request' || msg.type === 'experimenter_stats_reply') {
    return `***decode error: ${unknownExperimenter(msg.experimenter)}***\n${f.hexDump(bytes)}`;
  }
  return f.message(msg, verbosity, bytes);
}

/**
 * A whole message of a version OVS decodes nothing of (0, or above OpenFlow 1.5; the generator leaves out 1.0-1.2,
 * 1.4 and 1.5): only hello, error and echo are read, as every version numbers them alike; hello and error are decoded
 * by the codec whatever their version, echo is printed here. Anything else is named as OVS names it.
 */
function otherVersion(bytes: Uint8Array, what: ReturnType<typeof headerOf>, f: EmbeddedFormat): string | undefined {
  const type = bytes[1]!;
  if (what !== undefined && (type === OFPT.HELLO || type === OFPT.ERROR)) return undefined;
  if (what !== undefined) return `${f.header(what, bytes[0]!, xidOf(bytes))} ${bytes.length - 8} bytes of payload`;
  const vendor = ((bytes[8]! << 24) | (bytes[9]! << 16) | (bytes[10]! << 8) | bytes[11]!) >>> 0;
  const name = type !== OFPT.EXPERIMENTER ? 'OFPBRC_BAD_TYPE' : bytes.length < 16 ? 'OFPBRC_BAD_LEN' : unknownExperimenter(vendor);
  return `***decode error: ${name}***\n${f.hexDump(bytes)}`;
}

/** What OVS calls an experimenter message it does not know: an unknown subtype of a vendor it knows, or the vendor. */
const unknownExperimenter = (vendor: number): string => (vendor === NX_VENDOR_ID || vendor === ONF_EXPERIMENTER_ID ? 'OFPBRC_BAD_SUBTYPE' : 'OFPBRC_BAD_VENDOR');

/** ds_put_printable: printable ASCII as is; control bytes, bytes above 0x7e, backslash and quote as octal escapes. */
export function printable(bytes: Uint8Array): string {
  let s = '';
  for (const c of bytes) s += c < 0x20 || c > 0x7e || c === 0x5c || c === 0x22 ? `\\${c.toString(8).padStart(3, '0')}` : String.fromCharCode(c);
  return s;
}
