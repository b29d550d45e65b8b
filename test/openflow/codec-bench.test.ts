// bench/codec.ts in its short mode, as a smoke test: it runs to the end, its os-ken side (bench/oskenbench.py, served
// over a pipe) answers, and os-ken encodes the seed shapes as we do. No speed is judged here: figures on a loaded
// test machine mean nothing, and the benchmark itself prints them.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

it('bench/codec runs with os-ken beside it and both encode the seed shapes alike', { timeout: 180_000 }, async () => {
  const r = await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsx'), ['bench/codec.ts'], {
    cwd: ROOT,
    env: { ...process.env, BENCH_QUICK: '1' },
    timeout: 170_000,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((e: { code?: number; stdout?: string; stderr?: string }) => {
    // Exit status 1 is a FAIL verdict (a slow moment on a busy machine); anything else is a broken benchmark.
    if (e.code !== 1) throw new Error(`bench/codec failed (${e.code}): ${e.stderr}`);
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  });
  expect(r.stdout).toMatch(/^node v\d+.*; os-ken 2\.\d+\.\d+, python 3\./m);
  // Each judged row with our figure and a ratio to os-ken's.
  for (const row of ['FLOW_MOD encode (encoder.encodeInto, judged)', 'FLOW_MOD decode', 'flow stats decode (10000 entries']) {
    expect(r.stdout).toMatch(new RegExp(`^${row.replace(/[()]/g, '\\$&')}.* [\\d.]+ [kM]? ?\\([\\d.]+ [kM]? ?\\).*\\d+\\.\\dx`, 'm'));
  }
  expect(r.stdout).toContain('remote_vm: identical, local_vm: identical, routed: identical, arp: same length, differs');
  expect(r.stdout).toMatch(/^Judged encode, every round in order: .*\(\d+ of 6 at or above 1\.00 M/m);
  expect(r.stdout).toMatch(/^OVERALL: (PASS|FAIL)$/m);
});
