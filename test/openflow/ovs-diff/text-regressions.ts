// Regression vectors of the reverse direction: every flow text on which our parser and ovs-ofctl disagreed, kept so
// that a test replays them against ovs-ofctl after the fix (test/fixtures/ovs-diff-text-regressions.json).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TextDisagreement } from './reverse.js';

export interface TextRegressionVector {
  readonly text: string;
  /** How we disagreed when it was found, and OVS's side then (for the record). */
  readonly found: string;
  readonly ovs: string;
}

export const TEXT_REGRESSIONS_FILE = join(import.meta.dirname, '../../fixtures/ovs-diff-text-regressions.json');

export function loadTextRegressions(): TextRegressionVector[] {
  return existsSync(TEXT_REGRESSIONS_FILE) ? (JSON.parse(readFileSync(TEXT_REGRESSIONS_FILE, 'utf8')) as TextRegressionVector[]) : [];
}

/** The cause of a disagreement, for keeping at most a few vectors of each: how, and OVS's error or our error. */
const causeOf = (d: TextDisagreement): string =>
  `${d.how}/${(d.how === 'we-accept' ? d.ovs : d.how === 'we-reject' ? d.ours : '').replace(/'[^']*'|"[^"]*"|[0-9a-fx:./]{3,}/g, 'N').slice(0, 60)}`;

/** Adds the disagreements not kept yet (by text); returns how many were new. At most 5 per cause per call. */
export function saveTextRegressions(found: readonly TextDisagreement[]): number {
  const kept = loadTextRegressions();
  const seen = new Set(kept.map((v) => v.text));
  const perCause = new Map<string, number>();
  let added = 0;
  for (const d of found) {
    const cause = causeOf(d);
    if (seen.has(d.text) || (perCause.get(cause) ?? 0) >= 5) continue;
    perCause.set(cause, (perCause.get(cause) ?? 0) + 1);
    seen.add(d.text);
    kept.push({ text: d.text, found: d.how, ovs: d.how === 'we-accept' ? d.ovs : d.how === 'bytes' ? d.ovs : 'accepted' });
    added++;
  }
  writeFileSync(TEXT_REGRESSIONS_FILE, JSON.stringify(kept, null, 1) + '\n');
  return added;
}
