// The pipeline's FlowMods through the codec: ovs-ofctl text and the wire both give back exactly the same FlowMod
// (field names, field order, FieldRefs), so flows decoded from a switch diff cleanly against compiled ones.
import { describe, expect, it } from 'vitest';
import { formatFlow, parseFlow } from '../../src/openflow/text/flow-text.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import { syntheticCloud } from '../../src/topology/examples.js';
import { compileReference } from './fixtures.js';

/** Plain data for comparison: decoded byte fields are Buffer views, built ones Uint8Arrays. */
function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return [...x];
  if (Array.isArray(x)) return x.map(plain);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}

describe('pipeline flows through the codec', () => {
  for (const [name, compiled] of [
    ['reference', compileReference()],
    ['synthetic', compileReference(syntheticCloud({ computeNodes: 4, vms: 40, vmsPerSubnet: 10 }))],
  ] as const) {
    it(`${name} cloud: parseFlow(formatFlow(f)) equals f`, () => {
      const bad: string[] = [];
      for (const flows of compiled.flows.values()) {
        for (const f of flows) {
          const text = formatFlow(f);
          try {
            expect(plain(parseFlow(text))).toEqual(plain(f));
          } catch {
            bad.push(text);
          }
        }
      }
      expect(bad).toEqual([]);
    });

    it(`${name} cloud: decodeMessage(encodeMessage(f)) equals f`, () => {
      const bad: string[] = [];
      for (const flows of compiled.flows.values()) {
        for (const f of flows) {
          const msg = { ...f, xid: 7 };
          try {
            expect(plain(decodeMessage(encodeMessage(msg)))).toEqual(plain(msg));
          } catch (e) {
            bad.push(`${formatFlow(f)}: ${(e as Error).message.split('\n')[0]}`);
          }
        }
      }
      expect(bad).toEqual([]);
    });
  }
});
