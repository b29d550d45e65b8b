// The OVS side of the reverse direction: which flow texts `ovs-ofctl -O OpenFlow13 add-flows` accepts, and the
// FLOW_MOD bytes it sends for them (to a fake switch on a unix socket, test/helpers/fixtures-ofp.ts). add-flows is
// the oracle rather than parse-flows, which skips some of add-flows' checks (output ports against the match, the
// usable protocols). add-flows reads the whole file before it sends anything and stops at the first text it rejects,
// naming its line, so a batch is re-run without each rejected text: one process per rejected text plus one per
// batch. An error without a line number (no usable protocol) is narrowed down by halving the batch. parse-flows
// runs first, as a cheaper filter (no connection): what it rejects, add-flows rejects with the same error.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureFlowModFrames } from '../../helpers/fixtures-ofp.js';

/** Texts per add-flows batch. */
const BATCH = 250;
/** ovs-ofctl processes at a time (two shared cores). */
const CONCURRENCY = 2;
const RUN_TIMEOUT_MS = 60_000;

export type OvsVerdict = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly error: string };

type RunResult = { ok: true; frames: Buffer[] } | { ok: false; line?: number; error: string };

/** OVS's error line (`ovs-ofctl: FILE:LINE: error`, or a whole-file error) out of its stderr. */
function ofctlError(stderr: string): { line?: number; error: string } | undefined {
  const last = stderr
    .split('\n')
    .filter((l) => l.includes('ovs-ofctl: '))
    .pop();
  if (!last) return undefined;
  const err = last.slice(last.indexOf('ovs-ofctl: ') + 'ovs-ofctl: '.length);
  const m = /^[^:]*flows\.txt:(\d+): (.*)$/.exec(err);
  return m ? { line: Number(m[1]), error: m[2]! } : { error: err };
}

/** One parse-flows run (no frames: it only says which text it rejects first). */
function parseFlows(texts: readonly string[]): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mc-ovsdiff-flows-'));
  const file = join(dir, 'flows.txt');
  writeFileSync(file, texts.join('\n') + '\n');
  return new Promise<RunResult>((resolve, reject) => {
    execFile('ovs-ofctl', ['-O', 'OpenFlow13', 'parse-flows', file], { timeout: RUN_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 }, (err, _out, stderr) => {
      if (!err) return resolve({ ok: true, frames: [] });
      const e = ofctlError(String(stderr));
      if (!e || err.killed) return reject(new Error(`ovs-ofctl parse-flows: ${err.message} ${String(stderr).slice(0, 500)}`));
      resolve({ ok: false, ...e });
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** One add-flows run: the FLOW_MODs sent, or the error (with the 1-based line when OVS names one). */
async function addFlows(texts: readonly string[]): Promise<RunResult> {
  try {
    return { ok: true, frames: await captureFlowModFrames(texts, RUN_TIMEOUT_MS) };
  } catch (e) {
    const msg = (e as Error).message;
    const err = ofctlError(msg);
    if (!err || /timed out|ETIMEDOUT|killed|SIGTERM/.test(msg)) throw e;
    return { ok: false, ...err };
  }
}

/** OVS on every text: rejected with its error, or accepted with the FLOW_MOD bytes add-flows sends for it. */
export async function ovsFlowVerdicts(texts: readonly string[]): Promise<OvsVerdict[]> {
  const out = new Array<OvsVerdict>(texts.length);
  // Settles the texts at `idx` (indices into texts) with `run`; what it accepts goes on to `then`.
  const settle = async (idx: number[], run: (t: readonly string[]) => Promise<RunResult>, then?: (ok: number[]) => Promise<void>): Promise<void> => {
    let live = idx;
    while (live.length) {
      const r = await run(live.map((i) => texts[i]!));
      if (r.ok) {
        if (then) return then(live);
        if (r.frames.length !== live.length) throw new Error(`ovs-ofctl add-flows sent ${r.frames.length} FLOW_MODs for ${live.length} flows`);
        live.forEach((i, j) => (out[i] = { ok: true, bytes: new Uint8Array(r.frames[j]!) }));
        return;
      }
      if (r.line === undefined) {
        if (live.length === 1) {
          out[live[0]!] = { ok: false, error: r.error };
          return;
        }
        const mid = Math.ceil(live.length / 2);
        await settle(live.slice(0, mid), run, then);
        await settle(live.slice(mid), run, then);
        return;
      }
      const bad = live[r.line - 1];
      if (bad === undefined) throw new Error(`ovs-ofctl add-flows named line ${r.line} of ${live.length}`);
      out[bad] = { ok: false, error: r.error };
      live = live.filter((i) => i !== bad);
    }
  };
  const batches: number[][] = [];
  for (let i = 0; i < texts.length; i += BATCH) batches.push(Array.from({ length: Math.min(BATCH, texts.length - i) }, (_, j) => i + j));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) await settle(batches[next++]!, parseFlows, (ok) => settle(ok, addFlows));
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, batches.length) }, worker));
  return out;
}
