// The comparator of the differential fuzzer: our decodeMessage + formatMessage against ovs-ofctl's text for the same
// bytes. Agreement means identical text (trailing spaces aside) when OVS decodes the message, and a CodecError naming
// the same OpenFlow error when OVS rejects it. Any other exception out of our codec is a disagreement of its own.
import { errorCodeName } from '../../../src/openflow/error-codes.js';
import { CodecError } from '../../../src/openflow/errors.js';
import { decodeMessage } from '../../../src/openflow/message.js';
import { formatMessage } from '../../../src/openflow/message-text.js';

export type Verdict =
  | { readonly agree: true; readonly how: 'text' | 'error' }
  | { readonly agree: false; readonly how: 'text' | 'error-code' | 'we-accept' | 'we-reject' | 'exception'; readonly ours: string; readonly ovs: string };

const normalise = (s: string): string =>
  s
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();

/** The error OVS names on the first line (`***decode error: OFPBRC_BAD_LEN***`), if it rejected the message. */
export function ovsDecodeError(ovsText: string): string | undefined {
  const first = ovsText.split('\n', 1)[0] ?? '';
  return /\*\*\*decode error: ([A-Z0-9_]+)\*\*\*/.exec(first)?.[1];
}

/** What our codec makes of the bytes: text, or the OpenFlow error name of the CodecError, or an exception. */
export function ourView(bytes: Uint8Array): { text?: string; error?: string; exception?: string } {
  let msg;
  try {
    msg = decodeMessage(bytes);
  } catch (e) {
    if (e instanceof CodecError) return { error: errorCodeName(e.ofpType, e.ofpCode) ?? `type ${e.ofpType}/code ${e.ofpCode}`, text: e.message };
    return { exception: String((e as Error)?.stack ?? e) };
  }
  try {
    return { text: formatMessage(msg) };
  } catch (e) {
    return { exception: `formatMessage: ${String((e as Error)?.stack ?? e)}` };
  }
}

export function compare(bytes: Uint8Array, ovsText: string): Verdict {
  const ours = ourView(bytes);
  const ovsError = ovsDecodeError(ovsText);
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
