// The differential fuzzer's long run (`npm run fuzz:ovs -- [--count N] [--seed S] [--save]`): generates N cases from
// a random (or given) seed (--kinds a,b: only those message types), compares our codec with `ovs-ofctl ofp-print` on each, and prints agreement counts per
// message type and the disagreements grouped by cause (--all: also the types on the NOT_YET_AGREEING list). --save appends new disagreements to the regression vectors
// (test/fixtures/ovs-diff-regressions.json) that test/openflow/ovs-diff.test.ts replays. Exits 1 on any disagreement.
// --packets: the packet summary instead (generated frames in packet-ins, ovs-diff/packets.ts).
// --text: the reverse direction instead (generated flow text through parseFlow and through ovs-ofctl add-flows;
// regression vectors in test/fixtures/ovs-diff-text-regressions.json, replayed by ovs-diff-text.test.ts).
import { randomInt } from 'node:crypto';
import type { MessageType } from '../src/openflow/types.js';
import { MESSAGE_KINDS } from '../test/openflow/ovs-diff/arbitraries.js';
import { formatStats, runDifferential } from '../test/openflow/ovs-diff/run.js';
import { runPacketDifferential } from '../test/openflow/ovs-diff/packets.js';
import { saveRegressions } from '../test/openflow/ovs-diff/regressions.js';
import { formatTextStats, runTextDifferential } from '../test/openflow/ovs-diff/reverse.js';
import { saveTextRegressions } from '../test/openflow/ovs-diff/text-regressions.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const count = Number(arg('count') ?? process.argv.find((a) => /^\d+$/.test(a)) ?? 20_000);
  const seed = Number(arg('seed') ?? randomInt(0, 2 ** 31));
  if (!Number.isInteger(count) || count < 1 || count > 10_000_000) throw new Error(`--count must be 1..10000000, not ${count}`);
  const started = Date.now();
  if (process.argv.includes('--text')) return textMain(count, seed, started);
  if (process.argv.includes('--packets')) {
    const p = await runPacketDifferential(seed, count);
    console.log(`seed ${seed}: ${p.cases} packets in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(formatStats(p));
    for (const d of p.disagreements.slice(0, Number(arg('show') ?? 5))) console.log(`\n${d.hex}\n--- ours\n${d.ours}\n--- ovs\n${d.ovs}`);
    process.exitCode = p.disagreements.length ? 1 : 0;
    return;
  }
  // --all: every message type, also those on the NOT_YET_AGREEING list (to measure the open work); --kinds a,b: only these.
  const kinds = arg('kinds')?.split(',') as MessageType[] | undefined;
  for (const k of kinds ?? []) if (!MESSAGE_KINDS.includes(k)) throw new Error(`--kinds: unknown message type '${k}'`);
  const r = await runDifferential(seed, count, kinds ?? (process.argv.includes('--all') ? MESSAGE_KINDS : undefined));
  console.log(`seed ${seed}: ${r.cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(formatStats(r));
  const byCause = new Map<string, number>();
  for (const d of r.disagreements) {
    const key = `${d.kind}: ${d.how}${d.corruption ? ` (corrupted: ${d.corruption})` : ''}`;
    byCause.set(key, (byCause.get(key) ?? 0) + 1);
  }
  if (byCause.size) {
    console.log('\ndisagreements by cause:');
    for (const [k, v] of [...byCause.entries()].sort((a, b) => b[1] - a[1])) console.log(`${String(v).padStart(6)}  ${k}`);
    for (const d of r.disagreements.slice(0, Number(arg('show') ?? 5))) console.log(`\n${d.kind} ${d.how} ${d.hex}\n--- ours\n${d.ours}\n--- ovs\n${d.ovs}`);
  }
  if (arg("dump")) (await import("node:fs")).writeFileSync(arg("dump")!, JSON.stringify(r.disagreements));
  if (process.argv.includes('--save')) console.log(`\nregression vectors: ${saveRegressions(r.disagreements)} added`);
  process.exitCode = r.disagreements.length ? 1 : 0;
}

/** The reverse direction: flow text through parseFlow and through ovs-ofctl. */
async function textMain(count: number, seed: number, started: number): Promise<void> {
  const r = await runTextDifferential(seed, count);
  console.log(`seed ${seed}: ${r.cases} flow texts in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(formatTextStats(r));
  const byCause = new Map<string, number>();
  for (const d of r.disagreements) {
    const detail = (d.how === 'we-accept' ? d.ovs : d.how === 'we-reject' ? d.ours : '').replace(/'[^']*'|"[^"]*"|[0-9a-fx:./]{3,}/g, 'N').slice(0, 80);
    const key = `${d.how}: ${detail}`;
    byCause.set(key, (byCause.get(key) ?? 0) + 1);
  }
  if (byCause.size) {
    console.log('\ndisagreements by cause:');
    for (const [k, v] of [...byCause.entries()].sort((a, b) => b[1] - a[1])) console.log(`${String(v).padStart(6)}  ${k}`);
    for (const d of r.disagreements.slice(0, Number(arg('show') ?? 5))) console.log(`\n${d.how} ${d.text}\n--- ours\n${d.ours}\n--- ovs\n${d.ovs}`);
  }
  if (process.argv.includes('--save')) console.log(`\nregression vectors: ${saveTextRegressions(r.disagreements)} added`);
  process.exitCode = r.disagreements.length ? 1 : 0;
}

await main();
