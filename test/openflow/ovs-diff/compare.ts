// The comparator of the differential fuzzer: our decodeMessage + formatMessage against ovs-ofctl's text for the same
// bytes. Agreement means identical text (trailing spaces aside) when OVS decodes the message, and a CodecError naming
// the same OpenFlow error when OVS rejects it. Any other exception out of our codec is a disagreement of its own.
import { errorCodeName } from '../../../src/openflow/error-codes.js';
import { CodecError } from '../../../src/openflow/errors.js';
import { decodeMessage } from '../../../src/openflow/message.js';
import { formatMessage } from '../../../src/openflow/text/message-text.js';

export type Verdict =
  | { readonly agree: true; readonly how: 'text' | 'error' }
  | { readonly agree: false; readonly how: 'text' | 'error-code' | 'we-accept' | 'we-reject' | 'exception'; readonly ours: string; readonly ovs: string };

const normalise = (s: string): string =>
  s
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();

/**
 * The error OVS names when it rejected the message: `***decode error: OFPBRC_BAD_LEN***` followed by the hex dump of
 * the whole message (OVS may print the header and part of the body first). A decode error followed by anything else
 * is about a message nested inside this one (an OFPT_ERROR's data), which does not reject this one.
 */
export function ovsDecodeError(ovsText: string, bytes: Uint8Array): string | undefined {
  const lines = ovsText.split('\n');
  const dumpStart = `00000000  ${Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ')}`;
  for (let i = 0; i < lines.length; i++) {
    const m = /\*\*\*decode error: ([A-Z0-9_]+)\*\*\*$/.exec(lines[i]!);
    if (m && (lines[i + 1] ?? '').startsWith(dumpStart)) return m[1];
  }
  // Messages too broken for even a header line print the error name alone.
  return /^[A-Z][A-Z0-9]*_[A-Z0-9_]+$/.test(lines[0] ?? '') && lines.length <= 1 + Math.ceil(bytes.length / 16) ? lines[0] : undefined;
}

/** What our codec makes of the bytes: text, or the OpenFlow error name of the CodecError, or an exception. */
export function ourView(bytes: Uint8Array): { text?: string; error?: string; exception?: string } {
  let msg;
  try {
    msg = decodeMessage(bytes);
  } catch (e) {
    if (e instanceof CodecError) return { error: errorCodeName(e.ofpType, e.ofpCode, e.experimenter) ?? `type ${e.ofpType}/code ${e.ofpCode}`, text: e.message };
    return { exception: String((e as Error)?.stack ?? e) };
  }
  try {
    return { text: formatMessage(msg) };
  } catch (e) {
    return { exception: `formatMessage: ${String((e as Error)?.stack ?? e)}` };
  }
}

/**
 * OVS names some errors by their OpenFlow 1.0 name; the type and code are the same, which is what must agree.
 * (type 1 code 5 is OFPBRC_BAD_STAT in OVS, OFPBRC_BAD_MULTIPART in OpenFlow 1.3; OFPBAC_BAD_VENDOR and
 * BAD_VENDOR_TYPE are OpenFlow 1.3's OFPBAC_BAD_EXPERIMENTER and BAD_EXP_TYPE.)
 */
const OVS_ERROR_NAMES: Readonly<Record<string, string>> = {
  OFPBRC_BAD_STAT: 'OFPBRC_BAD_MULTIPART',
  OFPBAC_BAD_VENDOR: 'OFPBAC_BAD_EXPERIMENTER',
  OFPBAC_BAD_VENDOR_TYPE: 'OFPBAC_BAD_EXP_TYPE',
};

export function compare(bytes: Uint8Array, ovsText: string): Verdict {
  const ours = ourView(bytes);
  const ovsName = ovsDecodeError(ovsText, bytes);
  const ovsError = ovsName === undefined ? undefined : (OVS_ERROR_NAMES[ovsName] ?? ovsName);
  if (ours.exception) return { agree: false, how: 'exception', ours: ours.exception, ovs: ovsText };
  if (ours.error !== undefined) {
    if (ovsError === undefined) return { agree: false, how: 'we-reject', ours: `${ours.error}: ${ours.text}`, ovs: ovsText };
    return ovsError === ours.error ? { agree: true, how: 'error' } : { agree: false, how: 'error-code', ours: `${ours.error}: ${ours.text}`, ovs: ovsError };
  }
  if (ovsError !== undefined) return { agree: false, how: 'we-accept', ours: ours.text!, ovs: ovsText };
  const a = normalise(ours.text!);
  const b = normalise(ovsText);
  return a === b ? { agree: true, how: 'text' } : { agree: false, how: 'text', ours: a, ovs: b };
}
