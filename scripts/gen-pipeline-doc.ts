// Regenerates the generated section of docs/pipeline.md from the code.
//   npx tsx scripts/gen-pipeline-doc.ts           rewrite the doc
//   npx tsx scripts/gen-pipeline-doc.ts --check   exit 1 if the doc is out of date
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadFormatFlow } from '../test/helpers/flow-format.js';
import { extractGenerated, renderGenerated, spliceGenerated } from './pipeline-doc.js';

const path = fileURLToPath(new URL('../docs/pipeline.md', import.meta.url));
const doc = readFileSync(path, 'utf8');
const generated = renderGenerated(await loadFormatFlow());

if (process.argv.includes('--check')) {
  if (extractGenerated(doc) !== generated) {
    console.error('docs/pipeline.md is out of date: run npx tsx scripts/gen-pipeline-doc.ts');
    process.exit(1);
  }
  console.log('docs/pipeline.md is up to date');
} else {
  const next = spliceGenerated(doc, generated);
  if (next !== doc) writeFileSync(path, next);
  console.log(next === doc ? 'docs/pipeline.md unchanged' : 'docs/pipeline.md regenerated');
}
