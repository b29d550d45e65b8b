// The reverse direction of the differential fuzzer: generated flow text through our parseFlow + encodeMessage and
// through ovs-ofctl (parse-flows for the verdict, add-flows for the bytes). Agreement is the same FLOW_MOD bytes
// (xid aside) when OVS accepts the text, and a rejection on our side when OVS rejects it.
import fc from 'fast-check';
import { encodeMessage } from '../../../src/openflow/message.js';
import { parseFlow } from '../../../src/openflow/text/flow-text.js';
import { KNOWN_TEXT_DISAGREEMENTS } from './not-yet-agreeing.js';
import { ovsFlowVerdicts } from './ofctl-flows.js';
import { textCaseArb, type TextCase } from './text-arbitraries.js';

export type TextHow = 'we-accept' | 'we-reject' | 'bytes' | 'exception';

export interface TextDisagreement {
  readonly text: string;
  readonly origin: string;
  readonly how: TextHow;
  readonly ours: string;
  readonly ovs: string;
}

export interface TextStats {
  cases: number;
  sameBytes: number;
  bothReject: number;
  /** Disagreements on the documented list (KNOWN_TEXT_DISAGREEMENTS): counted, not failed. */
  known: number;
  disagreements: number;
}

export interface TextRunResult {
  readonly seed: number;
  readonly cases: number;
  readonly perOrigin: ReadonlyMap<string, TextStats>;
  readonly knownByReason: ReadonlyMap<string, number>;
  readonly disagreements: readonly TextDisagreement[];
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Our side: the FLOW_MOD bytes (with the xid OVS used), or the error parseFlow threw. */
export function ourFlowBytes(text: string, xid: number): { bytes?: Uint8Array; error?: string; exception?: string } {
  try {
    return { bytes: encodeMessage({ ...parseFlow(text), xid }) };
  } catch (e) {
    // Every parse error is an Error with a message; a TypeError or RangeError is a bug in the parser.
    if (e instanceof Error && (e.constructor === Error || e.name === 'ActionSyntaxError' || e.name === 'CodecError')) return { error: e.message };
    return { exception: String((e as Error)?.stack ?? e) };
  }
}

export function generateTextCases(seed: number, count: number): TextCase[] {
  return fc.sample(textCaseArb(), { seed, numRuns: count });
}

export async function compareTextCases(cases: readonly TextCase[], seed = 0): Promise<TextRunResult> {
  const ovs = await ovsFlowVerdicts(cases.map((c) => c.text));
  const perOrigin = new Map<string, TextStats>();
  const knownByReason = new Map<string, number>();
  const disagreements: TextDisagreement[] = [];
  cases.forEach((c, i) => {
    const s = perOrigin.get(c.how) ?? { cases: 0, sameBytes: 0, bothReject: 0, known: 0, disagreements: 0 };
    perOrigin.set(c.how, s);
    s.cases++;
    const o = ovs[i]!;
    const xid = o.ok ? new DataView(o.bytes.buffer, o.bytes.byteOffset).getUint32(4) : 1;
    const ours = ourFlowBytes(c.text, xid);
    let d: TextDisagreement | undefined;
    if (ours.exception) d = { text: c.text, origin: c.how, how: 'exception', ours: ours.exception, ovs: o.ok ? hex(o.bytes) : o.error };
    else if (!o.ok) {
      if (ours.error !== undefined) s.bothReject++;
      else d = { text: c.text, origin: c.how, how: 'we-accept', ours: hex(ours.bytes!), ovs: o.error };
    } else if (ours.error !== undefined) d = { text: c.text, origin: c.how, how: 'we-reject', ours: ours.error, ovs: hex(o.bytes) };
    else if (hex(ours.bytes!) === hex(o.bytes)) s.sameBytes++;
    else d = { text: c.text, origin: c.how, how: 'bytes', ours: hex(ours.bytes!), ovs: hex(o.bytes) };
    if (!d) return;
    const known = KNOWN_TEXT_DISAGREEMENTS.find((k) => k.how === d.how && k.test(d));
    if (known) {
      s.known++;
      knownByReason.set(known.reason, (knownByReason.get(known.reason) ?? 0) + 1);
      return;
    }
    s.disagreements++;
    disagreements.push(d);
  });
  return { seed, cases: cases.length, perOrigin, knownByReason, disagreements };
}

export async function runTextDifferential(seed: number, count: number): Promise<TextRunResult> {
  return compareTextCases(generateTextCases(seed, count), seed);
}

/** Counts per origin of the text, and the known disagreements by reason, for the console and docs/openflow.md. */
export function formatTextStats(r: TextRunResult): string {
  const lines = ['| flow text | cases | same bytes | both reject | known (listed) | disagreements |', '|---|---:|---:|---:|---:|---:|'];
  const tot = { cases: 0, sameBytes: 0, bothReject: 0, known: 0, disagreements: 0 };
  for (const [k, s] of [...r.perOrigin.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`| ${k} | ${s.cases} | ${s.sameBytes} | ${s.bothReject} | ${s.known} | ${s.disagreements} |`);
    for (const key of Object.keys(tot) as (keyof typeof tot)[]) tot[key] += s[key];
  }
  lines.push(`| **all** | ${tot.cases} | ${tot.sameBytes} | ${tot.bothReject} | ${tot.known} | ${tot.disagreements} |`);
  for (const [reason, n] of r.knownByReason) lines.push(`known: ${n} × ${reason}`);
  return lines.join('\n');
}
