// Agreement with Open vSwitch on flow texts (test/fixtures/flow-vectors.json, written by scripts/gen-fixtures.ts):
// for every text OVS accepts, our parseFlow + encodeMessage gives the very FLOW_MOD bytes ovs-ofctl sends, and
// `ovs-ofctl ofp-print` of our bytes reads as OVS's own parse-flow line; every text OVS rejects, parseFlow rejects.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseFlow, formatFlow } from '../../src/openflow/text/flow-text.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import type { FlowMod } from '../../src/openflow/types.js';
import { flowModText, haveOvsOfctl, ofpParseBatch } from '../helpers/fixtures-ofp.js';
import { toHex } from '../helpers/hex.js';
import { knownUnsupported, loadFlowVectors, printedThoughUnparsed, xidOf, type PositiveFlowVector } from '../helpers/fixtures-vectors.js';

const vectors = loadFlowVectors();

/**
 * Texts whose bytes differ from OVS's on purpose, with the reason. Empty means we match OVS byte for byte on
 * every vector.
 */
const knownByteDifferences: Readonly<Record<string, string>> = {};

/** Texts OVS rejects that parseFlow accepts on purpose, with the reason. */
const knownAcceptedNegatives: Readonly<Record<string, string>> = {};

function ours(v: PositiveFlowVector): Uint8Array {
  const fm: FlowMod = parseFlow(v.text);
  return encodeMessage({ ...fm, xid: xidOf(v.hex) });
}

/** Our bytes per vector, or the error parseFlow/encodeMessage threw. */
const results = vectors.positive.map((v) => {
  try {
    return { v, bytes: ours(v) };
  } catch (e) {
    return { v, error: e as Error };
  }
});

describe('flow texts: agreement with OVS', () => {
  it('has the vectors the generator wrote', () => {
    expect(vectors.positive.length).toBeGreaterThanOrEqual(100);
    expect(vectors.negative.length).toBeGreaterThanOrEqual(10);
  });

  describe.each(results.map((r, i) => ({ ...r, i, text: r.v.text })))('#$i $text', ({ v, bytes, error }) => {
    const unsupported = knownUnsupported[v.text];
    it('parses and encodes to the FLOW_MOD bytes OVS sends (xid aside)', () => {
      if (unsupported) {
        expect(error, `listed as unsupported (${unsupported}) but parseFlow accepts it now: remove it`).toBeDefined();
        return;
      }
      expect(error?.message, 'parseFlow/encodeMessage threw').toBeUndefined();
      const reason = knownByteDifferences[v.text];
      if (reason) {
        expect(toHex(bytes!), `listed as a known difference (${reason}) but now equal: remove it`).not.toBe(v.hex);
        return;
      }
      expect(toHex(bytes!)).toBe(v.hex);
    });

    it('decodes OVS bytes and re-encodes them byte-identically', () => {
      const b = new Uint8Array(Buffer.from(v.hex, 'hex'));
      const m = decodeMessage(b);
      expect(m.type).toBe('flow_mod');
      expect(toHex(encodeMessage(m))).toBe(v.hex);
    });

    it('formatFlow of the decoded OVS bytes reads as OVS parse-flow', () => {
      const fm = decodeMessage(new Uint8Array(Buffer.from(v.hex, 'hex'))) as FlowMod;
      if (unsupported && !printedThoughUnparsed.has(v.text)) expect(formatFlow(fm)).not.toBe(flowModText(v.ofctl));
      else expect(formatFlow(fm)).toBe(flowModText(v.ofctl));
    });
  });

  describe.skipIf(!haveOvsOfctl())('ovs-ofctl ofp-print of our bytes', () => {
    let printed: string[] = [];
    const ok = results.filter((r) => r.bytes);
    beforeAll(() => {
      // One ovs-ofctl run for all of them (ofp-parse reads a file of concatenated messages).
      printed = ofpParseBatch(ok.map((r) => r.bytes!));
    });
    it.each(ok.map((r, i) => ({ i, text: r.v.text, ofctl: r.v.ofctl })))('#$i $text reads as OVS parse-flow', ({ i, ofctl }) => {
      const ourLine = printed[i]!.split('\n')[0]!;
      expect(ourLine).not.toContain('decode error');
      expect(flowModText(ourLine)).toBe(flowModText(ofctl));
    });
  });

  describe.each(vectors.negative.map((v, i) => ({ ...v, i })))('rejected by OVS #$i: $text', ({ text, error }) => {
    it(`parseFlow rejects it too (OVS: ${error.split('\n').pop()})`, () => {
      const reason = knownAcceptedNegatives[text];
      let threw: unknown;
      try {
        parseFlow(text);
      } catch (e) {
        threw = e;
      }
      if (reason) expect(threw, `listed as accepted on purpose (${reason}) but now rejected: remove it`).toBeUndefined();
      else expect(threw, 'parseFlow accepted a text OVS rejects').toBeInstanceOf(Error);
    });
  });
});
