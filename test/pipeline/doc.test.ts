// docs/pipeline.md's generated section must be what the code generates now (scripts/gen-pipeline-doc.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractGenerated, renderGenerated } from '../../scripts/pipeline-doc.js';
import { loadFormatFlow } from '../helpers/flow-format.js';

describe('docs/pipeline.md', () => {
  it('matches the code (run: npx tsx scripts/gen-pipeline-doc.ts)', async () => {
    const doc = readFileSync(new URL('../../docs/pipeline.md', import.meta.url), 'utf8');
    expect(extractGenerated(doc)).toBe(renderGenerated(await loadFormatFlow()));
  });
});
