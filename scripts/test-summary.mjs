/* global process, console */
// Prints vitest's result as the plain closing line CI reads: "tests: N passed, N failed, N skipped".
// A file whose setup failed (beforeAll, import) reports its tests as skipped: they count as failed here.
import { readFileSync } from 'node:fs';

const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let failed = r.numFailedTests ?? 0;
let skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
const brokenFiles = [];
for (const file of r.testResults ?? []) {
  if (file.status !== 'failed') continue;
  const notRun = (file.assertionResults ?? []).filter((a) => a.status !== 'passed' && a.status !== 'failed').length;
  failed += notRun;
  skipped -= notRun;
  if ((file.assertionResults ?? []).every((a) => a.status !== 'failed')) brokenFiles.push(file.name);
}
console.log(`tests: ${r.numPassedTests} passed, ${failed} failed, ${Math.max(0, skipped)} skipped`);
for (const name of brokenFiles) console.log(`  file failed outside its tests (setup or import): ${name}`);
