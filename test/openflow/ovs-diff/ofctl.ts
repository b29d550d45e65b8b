// Runs many OpenFlow messages through `ovs-ofctl ofp-parse FILE` (one process per batch, a few batches at a time)
// and cuts the output back into one text per message. ofp-parse frames the file by each header's length and prints
// every message as `ovs-ofctl ofp-print HEX` does at its default verbosity; a decode error prints no header line
// (no xid), so every message is followed by a separator (a BARRIER_REQUEST with a per-batch xid) to cut on.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Messages per ovs-ofctl process; messages per file are bounded so one process stays short. */
export const BATCH_SIZE = 400;
/** ovs-ofctl processes at a time (the machine has two cores shared with others). */
export const CONCURRENCY = 2;
/** Bound on one ovs-ofctl run: a batch of 400 small messages takes well under a second. */
const RUN_TIMEOUT_MS = 120_000;
const MAX_OUTPUT = 64 * 1024 * 1024;

function separator(xid: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(4, 0);
  b.writeUInt8(20, 1); // OFPT_BARRIER_REQUEST
  b.writeUInt16BE(8, 2);
  b.writeUInt32BE(xid >>> 0, 4);
  return b;
}

const sepLine = (xid: number): string => `OFPT_BARRIER_REQUEST (OF1.3) (xid=0x${(xid >>> 0).toString(16)}):`;

/**
 * Every message must be a whole frame: header length equal to its byte length and at least 8 (ofp-parse gives up
 * on the whole file otherwise).
 */
function checkFrame(m: Uint8Array, i: number): void {
  const len = m.length >= 4 ? (m[2]! << 8) | m[3]! : -1;
  if (m.length < 8 || len !== m.length) throw new Error(`message ${i}: header length ${len} but ${m.length} bytes (ofp-parse needs whole frames)`);
}

async function runBatch(msgs: readonly Uint8Array[]): Promise<string[]> {
  // Separator xids: a random 16-bit batch tag over the message index, so a generated message (or one nested in a
  // bundle or error) cannot plausibly print the same line.
  const tag = randomBytes(2).readUInt16BE(0) | 0x8000;
  const xidOf = (i: number): number => ((tag << 16) | i) >>> 0;
  const parts: Buffer[] = [];
  msgs.forEach((m, i) => {
    checkFrame(m, i);
    parts.push(Buffer.from(m.buffer, m.byteOffset, m.byteLength), separator(xidOf(i)));
  });
  const dir = mkdtempSync(join(tmpdir(), 'mc-ovsdiff-'));
  try {
    const file = join(dir, 'msgs.bin');
    writeFileSync(file, Buffer.concat(parts));
    const stdout = await new Promise<string>((resolve, reject) => {
      // latin1: strings in messages (port names, descriptions) are raw bytes in OVS's output, as in ours.
      execFile('ovs-ofctl', ['ofp-parse', file], { encoding: 'latin1', maxBuffer: MAX_OUTPUT, timeout: RUN_TIMEOUT_MS }, (err, out, stderr) =>
        err ? reject(new Error(`ovs-ofctl ofp-parse: ${err.message} ${String(stderr).slice(0, 2000)}`)) : resolve(out),
      );
    });
    const out: string[] = [];
    let cur: string[] = [];
    for (const line of stdout.split('\n')) {
      if (line === sepLine(xidOf(out.length))) {
        out.push(cur.join('\n'));
        cur = [];
      } else cur.push(line);
    }
    if (out.length !== msgs.length) throw new Error(`ovs-ofctl ofp-parse printed ${out.length} of ${msgs.length} messages`);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ovs-ofctl's text for each message, in order (trailing newlines removed). */
export async function ovsPrintAll(msgs: readonly Uint8Array[], batchSize = BATCH_SIZE, concurrency = CONCURRENCY): Promise<string[]> {
  const batches: (readonly Uint8Array[])[] = [];
  for (let i = 0; i < msgs.length; i += batchSize) batches.push(msgs.slice(i, i + batchSize));
  const results: string[][] = new Array<string[]>(batches.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const i = next++;
      results[i] = await runBatch(batches[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  return results.flat().map((s) => s.replace(/\n+$/, ''));
}
