// One differential run: generate `count` cases from `seed`, print them all with ovs-ofctl (batched), compare each
// with our codec, and count agreement per message type.
import fc from 'fast-check';
import type { MessageType } from '../../../src/openflow/types.js';
import { caseArb, kindOfBytes, MESSAGE_KINDS, toCase, type Case } from './arbitraries.js';
import { compare, type Verdict } from './compare.js';
import { KNOWN_MESSAGE_DISAGREEMENTS, NOT_YET_AGREEING, OUT_OF_SCOPE } from './not-yet-agreeing.js';
import { ovsPrintAll } from './ofctl.js';

export interface KindStats {
  cases: number;
  /**
   * Corrupted into a message type on the NOT_YET_AGREEING list, where it disagrees, a case OUT_OF_SCOPE names, or a
   * KNOWN_MESSAGE_DISAGREEMENTS case: not counted either way.
   */
  openList: number;
  /** OVS decoded it and our text is identical. */
  sameText: number;
  /** OVS rejected it and we reject it with the same error. */
  sameError: number;
  disagreements: number;
}

export interface Disagreement {
  readonly kind: MessageType;
  readonly corruption?: string;
  readonly hex: string;
  readonly how: Exclude<Verdict, { agree: true }>['how'];
  readonly ours: string;
  readonly ovs: string;
}

export interface RunResult {
  readonly seed: number;
  readonly cases: number;
  readonly perKind: ReadonlyMap<MessageType, KindStats>;
  readonly disagreements: readonly Disagreement[];
}

/** The message types the fuzzer generates: all the codec models, less the documented open list. */
export const FUZZED_KINDS: readonly MessageType[] = MESSAGE_KINDS.filter((k) => !(k in NOT_YET_AGREEING.messages));

export function generateCases(seed: number, count: number, kinds: readonly MessageType[] = FUZZED_KINDS): Case[] {
  const out: Case[] = [];
  for (const g of fc.sample(caseArb(kinds), { seed, numRuns: count })) {
    const c = toCase(g);
    if (c) out.push(c);
  }
  return out;
}

export async function compareCases(cases: readonly Case[], seed = 0): Promise<RunResult> {
  const printed = await ovsPrintAll(cases.map((c) => c.bytes));
  const perKind = new Map<MessageType, KindStats>();
  const disagreements: Disagreement[] = [];
  cases.forEach((c, i) => {
    const s = perKind.get(c.kind) ?? { cases: 0, openList: 0, sameText: 0, sameError: 0, disagreements: 0 };
    perKind.set(c.kind, s);
    s.cases++;
    const v = compare(c.bytes, printed[i]!);
    if (v.agree) {
      if (v.how === 'text') s.sameText++;
      else s.sameError++;
      return;
    }
    // A corruption (of the type, or of a multipart type) can turn a message into one of a type on the open list.
    const actual = kindOfBytes(c.bytes);
    const outOfScope = OUT_OF_SCOPE.some((o) => o.kind === actual && o.test(c.bytes));
    if (outOfScope || (c.corruption && actual !== undefined && actual !== c.kind && actual in NOT_YET_AGREEING.messages && !(c.kind in NOT_YET_AGREEING.messages))) {
      s.openList++;
      return;
    }
    if (v.how === 'error-code' && KNOWN_MESSAGE_DISAGREEMENTS.some((k) => k.test(v))) {
      s.openList++;
      return;
    }
    s.disagreements++;
    disagreements.push({ kind: c.kind, ...(c.corruption ? { corruption: c.corruption } : {}), hex: Buffer.from(c.bytes).toString('hex'), how: v.how, ours: v.ours, ovs: v.ovs });
  });
  return { seed, cases: cases.length, perKind, disagreements };
}

export async function runDifferential(seed: number, count: number, kinds?: readonly MessageType[]): Promise<RunResult> {
  const r = await compareCases(generateCases(seed, count, kinds), seed);
  return { ...r, seed };
}

/** A table of the counts per message type, for the console and docs/openflow.md. */
export function formatStats(r: RunResult): string {
  const rows = [...r.perKind.entries()].sort(([a], [b]) => a.localeCompare(b));
  const lines = [`| message type | cases | same text | same error | into an open type | disagreements |`, `|---|---:|---:|---:|---:|---:|`];
  const tot = { cases: 0, sameText: 0, sameError: 0, openList: 0, disagreements: 0 };
  for (const [k, s] of rows) {
    lines.push(`| ${k} | ${s.cases} | ${s.sameText} | ${s.sameError} | ${s.openList} | ${s.disagreements} |`);
    tot.cases += s.cases;
    tot.openList += s.openList;
    tot.sameText += s.sameText;
    tot.sameError += s.sameError;
    tot.disagreements += s.disagreements;
  }
  lines.push(`| **all** | ${tot.cases} | ${tot.sameText} | ${tot.sameError} | ${tot.openList} | ${tot.disagreements} |`);
  return lines.join('\n');
}
