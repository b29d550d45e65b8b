// Regression vectors: every disagreement the differential fuzzer found, kept as bytes so a test replays them against
// ovs-ofctl after the fix (test/fixtures/ovs-diff-regressions.json).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageType } from '../../../src/openflow/types.js';
import type { Disagreement } from './run.js';

export interface RegressionVector {
  readonly kind: MessageType;
  readonly hex: string;
  readonly corruption?: string;
  /** How we disagreed when it was found (for the record). */
  readonly found: string;
}

export const REGRESSIONS_FILE = join(import.meta.dirname, '../../fixtures/ovs-diff-regressions.json');

export function loadRegressions(): RegressionVector[] {
  return existsSync(REGRESSIONS_FILE) ? (JSON.parse(readFileSync(REGRESSIONS_FILE, 'utf8')) as RegressionVector[]) : [];
}

/** Adds the disagreements not kept yet (by bytes); returns how many were new. At most 10 per cause per call. */
export function saveRegressions(found: readonly Disagreement[]): number {
  const kept = loadRegressions();
  const seen = new Set(kept.map((v) => v.hex));
  const perCause = new Map<string, number>();
  let added = 0;
  for (const d of found) {
    const cause = `${d.kind}/${d.how}`;
    if (seen.has(d.hex) || (perCause.get(cause) ?? 0) >= 10) continue;
    perCause.set(cause, (perCause.get(cause) ?? 0) + 1);
    seen.add(d.hex);
    kept.push({ kind: d.kind, hex: d.hex, ...(d.corruption ? { corruption: d.corruption } : {}), found: d.how });
    added++;
  }
  writeFileSync(REGRESSIONS_FILE, JSON.stringify(kept, null, 1) + '\n');
  return added;
}
