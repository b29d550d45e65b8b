// FLOW_MODs written from bytes encoded before: a reconciliation encodes each desired flow once (FlowBodyEncoder)
// to compare it, then sends it from those same bytes; deletes are written from the flow's key.
import type { Buffer } from 'node:buffer';
import { OFP_MAX_MESSAGE_LEN } from './consts.js';
import { flowKeyMatchLength, putFlowKeyMatch } from './flow-identity.js';
import { BUNDLE_ADD_HEAD_LEN, putBundleAddHead } from './messages/bundle.js';
import { OFP_FLOW_MOD_HEAD_LEN, putFlowModHead, type FlowModHead } from './messages/flow-mod.js';

export type { FlowModHead } from './messages/flow-mod.js';

/** The bundle a FLOW_MOD is added to: it is then wrapped in a BUNDLE_ADD (with the FLOW_MOD's xid). */
export interface BundleTarget {
  readonly bundleId: number;
  readonly bundleFlags: number;
}

/**
 * Writes FLOW_MODs whose match and instructions are already bytes, bare or inside a BUNDLE_ADD. Keeps a DataView of
 * the buffer it last wrote to (callers fill one buffer with many messages): one writer per user.
 */
export class FlowModWriter {
  #buf: Uint8Array | undefined;
  #view: DataView | undefined;

  /**
   * Writes a FLOW_MOD with fixed fields `head` and `body` (the padded ofp_match and the instructions, as latin1:
   * EncodedFlowBody.body) at `off` in `buf`; returns the end.
   */
  write(buf: Buffer, off: number, head: FlowModHead, body: string, bundle?: BundleTarget): number {
    const at = this.#head(buf, off, head, body.length, bundle);
    return at + buf.write(body, at, 'latin1');
  }

  /** Writes a FLOW_MOD (a DELETE_STRICT, typically) whose match is the canonical match of flow key `key`. */
  writeForKey(buf: Buffer, off: number, head: FlowModHead, key: string, bundle?: BundleTarget): number {
    return putFlowKeyMatch(buf, this.#head(buf, off, head, flowKeyMatchLength(key), bundle), key);
  }

  /** The BUNDLE_ADD head if any and the FLOW_MOD's header and fixed part, sized for `bodyLen`; returns where the body goes. */
  #head(buf: Buffer, off: number, head: FlowModHead, bodyLen: number, bundle: BundleTarget | undefined): number {
    const flowModLen = OFP_FLOW_MOD_HEAD_LEN + bodyLen;
    const len = (bundle ? BUNDLE_ADD_HEAD_LEN : 0) + flowModLen;
    if (len > OFP_MAX_MESSAGE_LEN) throw new RangeError(`flow_mod: ${len} bytes is longer than an OpenFlow message can be`);
    if (off < 0 || off + len > buf.length) throw new RangeError(`flow_mod: needs ${len} bytes at offset ${off}, buffer has ${buf.length}`);
    let d = this.#view;
    if (this.#buf !== buf || d === undefined) {
      d = this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.#buf = buf;
    }
    const at = bundle ? putBundleAddHead(d, off, head.xid, bundle.bundleId, bundle.bundleFlags, len, buf.length) : off;
    return putFlowModHead(d, at, head, flowModLen);
  }
}
