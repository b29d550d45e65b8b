// Raw OpenFlow plumbing for the golden-vector fixtures: hand-written message bytes, a frame splitter, a fake switch
// that records what `ovs-ofctl` sends, and batched `ovs-ofctl ofp-parse` printing. Deliberately independent of
// src/openflow: these produce the reference bytes the codec is checked against.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const OF13 = 4;

/** True when the ovs-ofctl binary is on PATH. */
export const haveOvsOfctl = (): boolean => spawnSync('ovs-ofctl', ['--version']).status === 0;

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;


/** An OpenFlow message: 8-byte header (version, type, length, xid) followed by `body`. */
export function ofMsg(type: number, xid: number, body: Uint8Array = new Uint8Array(0), version = OF13): Buffer {
  const b = Buffer.alloc(8 + body.length);
  b.writeUInt8(version, 0);
  b.writeUInt8(type, 1);
  b.writeUInt16BE(8 + body.length, 2);
  b.writeUInt32BE(xid >>> 0, 4);
  b.set(body, 8);
  return b;
}

/** A multipart request: ofp_multipart_request (type, flags, pad4) then the body. */
export function mpRequest(mpType: number, xid: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(mpType, 0);
  return ofMsg(18, xid, Buffer.concat([h, body]));
}

// Hand-written message pieces (big-endian field by field), for requests to OVS and malformed inputs.
export const u8 = (...b: number[]): Buffer => Buffer.from(b);
export const be16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};
export const be32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
export const be64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
};
export const pad8 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);

/** ofp_match (OXM) around raw OXM TLVs, padded to 8. */
export const match = (oxms: Buffer = Buffer.alloc(0)): Buffer => pad8(Buffer.concat([be16(1), be16(4 + oxms.length), oxms]));
/** OFPIT_APPLY_ACTIONS with raw actions. */
export const applyActions = (actions: Buffer): Buffer => Buffer.concat([be16(4), be16(8 + actions.length), Buffer.alloc(4), actions]);
export const gotoTable = (t: number): Buffer => Buffer.concat([be16(1), be16(8), u8(t, 0, 0, 0)]);
export const outputAction = (port: number, maxLen = 0xffff): Buffer => Buffer.concat([be16(0), be16(16), be32(port), be16(maxLen), Buffer.alloc(6)]);

export interface FlowModSpec {
  tableId?: number;
  command?: number;
  priority?: number;
  cookie?: bigint;
  flags?: number;
  match?: Buffer;
  instructions?: Buffer;
}
export function flowMod(xid: number, s: FlowModSpec): Buffer {
  const body = Buffer.concat([
    be64(s.cookie ?? 0n),
    be64(0n), // cookie_mask
    u8(s.tableId ?? 0, s.command ?? 0),
    be16(0), // idle
    be16(0), // hard
    be16(s.priority ?? 0x8000),
    be32(0xffffffff), // buffer_id
    be32(0xffffffff), // out_port ANY
    be32(0xffffffff), // out_group ANY
    be16(s.flags ?? 0),
    Buffer.alloc(2),
    s.match ?? match(),
    s.instructions ?? Buffer.alloc(0),
  ]);
  return ofMsg(14, xid, body);
}

export const ONF = 0x4f4e4600;
/** ONF bundle control (OF1.3 extension, ONFT_BUNDLE_CONTROL = 2300). */
export const bundleCtrl = (xid: number, bundleId: number, type: number, flags = 0): Buffer =>
  ofMsg(4, xid, Buffer.concat([be32(ONF), be32(2300), be32(bundleId), be16(type), be16(flags)]));
/** ONF bundle add (ONFT_BUNDLE_ADD_MESSAGE = 2301); the inner message is padded to 8. */
export const bundleAdd = (xid: number, bundleId: number, inner: Buffer, flags = 0): Buffer =>
  ofMsg(4, xid, pad8(Buffer.concat([be32(ONF), be32(2301), be32(bundleId), be16(0), be16(flags), inner])));

/** Returns a copy of `msg` with its xid replaced. */
export function withXid(msg: Uint8Array, xid: number): Uint8Array {
  const b = new Uint8Array(msg);
  new DataView(b.buffer).setUint32(4, xid >>> 0);
  return b;
}

/** Cuts a byte stream into whole OpenFlow frames; keeps the remainder. Stops (returns null) on a length < 8. */
export class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] | null {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.pending.length >= 8) {
      const len = this.pending.readUInt16BE(2);
      if (len < 8) return null;
      if (this.pending.length < len) break;
      out.push(Buffer.from(this.pending.subarray(0, len)));
      this.pending = this.pending.subarray(len);
    }
    return out;
  }
}

/** How the fake switch answers ovs-ofctl. */
function fakeSwitchAnswer(msg: Buffer): Buffer | undefined {
  const type = msg[1]!;
  const xid = msg.readUInt32BE(4);
  switch (type) {
    case 0: // HELLO: offer exactly OpenFlow 1.3
      return ofMsg(0, xid);
    case 2: // ECHO_REQUEST
      return ofMsg(3, xid, msg.subarray(8));
    case 5: {
      // FEATURES_REQUEST: a 32-byte FEATURES_REPLY
      const body = Buffer.alloc(24);
      body.writeBigUInt64BE(0x1n, 0);
      body.writeUInt32BE(256, 8); // n_buffers
      body.writeUInt8(254, 12); // n_tables
      body.writeUInt32BE(0x4f, 16); // capabilities
      return ofMsg(6, xid, body);
    }
    case 7: // GET_CONFIG_REQUEST
      return ofMsg(8, xid, Buffer.from([0, 0, 0xff, 0xe5]));
    case 18: {
      // MULTIPART_REQUEST: an empty reply of the same multipart type, except TABLE_FEATURES (12), which ovs-ofctl
      // wants non-empty: one bare 64-byte ofp_table_features (no properties) per table 0..253.
      const mpType = msg.readUInt16BE(8);
      const head = Buffer.alloc(8);
      head.writeUInt16BE(mpType, 0);
      if (mpType !== 12) return ofMsg(19, xid, head);
      const tables = Buffer.alloc(64 * 254);
      for (let t = 0; t < 254; t++) {
        const o = t * 64;
        tables.writeUInt16BE(64, o);
        tables.writeUInt8(t, o + 2);
        tables.write(`table${t}`, o + 8, 'latin1');
        tables.writeBigUInt64BE(0xffffffffffffffffn, o + 40);
        tables.writeBigUInt64BE(0xffffffffffffffffn, o + 48);
        tables.writeUInt32BE(1_000_000, o + 60);
      }
      return ofMsg(19, xid, Buffer.concat([head, tables]));
    }
    case 20: // BARRIER_REQUEST
      return ofMsg(21, xid);
    default:
      return undefined;
  }
}

/**
 * Acts as an OpenFlow 1.3 switch on a unix socket, runs `ovs-ofctl -O OpenFlow13 add-flows unix:SOCK FILE` with the
 * given flow texts, and returns every OFPT_FLOW_MOD it sent (whole frames, in order).
 */
export async function captureFlowModFrames(flows: readonly string[], timeoutMs = 20_000): Promise<Buffer[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mc-fakesw-'));
  const sockPath = join(dir, 'sw.sock');
  const flowFile = join(dir, 'flows.txt');
  writeFileSync(flowFile, flows.join('\n') + '\n');
  const mods: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    const splitter = new FrameSplitter();
    sock.on('data', (chunk: Buffer) => {
      const frames = splitter.push(chunk);
      if (!frames) return void sock.destroy();
      for (const f of frames) {
        if (f[1] === 14) mods.push(f);
        const reply = fakeSwitchAnswer(f);
        if (reply) sock.write(reply);
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(sockPath, resolve);
    });
    await new Promise<void>((resolve, reject) => {
      execFile(
        'ovs-ofctl',
        ['-O', 'OpenFlow13', '--no-names', 'add-flows', `unix:${sockPath}`, flowFile],
        { timeout: timeoutMs },
        (err, _out, stderr) => (err ? reject(new Error(`ovs-ofctl add-flows failed: ${(stderr || err.message).slice(0, 2000)}`)) : resolve()),
      );
    });
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
  return mods;
}

export interface ParseFlowResult {
  readonly ok: boolean;
  /** The whole `OFPT_FLOW_MOD ...` line when ok. */
  readonly line?: string;
  /** OVS's error text when not ok (the `ovs-ofctl: ...` line, log lines dropped). */
  readonly error?: string;
  /** Log lines (warnings, infos) OVS printed, without timestamps. */
  readonly log: readonly string[];
}

/** `ovs-ofctl -O OpenFlow13 parse-flow TEXT`. */
export function ofctlParseFlow(text: string): ParseFlowResult {
  const r = spawnSync('ovs-ofctl', ['-O', 'OpenFlow13', 'parse-flow', text], { encoding: 'utf8' });
  const all = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  const log = all.filter((l) => /^\d{4}-\d\d-\d\dT/.test(l)).map((l) => l.replace(/^\S+\|\d+\|/, ''));
  const line = r.stdout.split('\n').find((l) => l.startsWith('OFPT_FLOW_MOD'));
  if (r.status === 0 && line && !line.includes('decode error')) return { ok: true, line, log };
  const err = all.filter((l) => l.startsWith('ovs-ofctl: '));
  return { ok: false, error: err.length ? err.join('\n') : all.join('\n'), log };
}

/** The part of a FLOW_MOD print after `ADD ` (what a flow text reads as). */
export const flowModText = (line: string): string => line.replace(/^OFPT_FLOW_MOD[^:]*: (ADD )?/, '');

/**
 * Prints many messages with one `ovs-ofctl ofp-parse` run. Each message gets xid = index + 1 (so the output can be
 * cut back into one text per message); the returned texts therefore show those xids.
 */
export function ofpParseBatch(msgs: readonly Uint8Array[]): string[] {
  if (msgs.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'mc-ofpparse-'));
  try {
    const file = join(dir, 'msgs.bin');
    writeFileSync(file, Buffer.concat(msgs.map((m, i) => withXid(m, i + 1))));
    const r = spawnSync('ovs-ofctl', ['ofp-parse', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`ovs-ofctl ofp-parse: ${r.stderr.trim()}`);
    const out: string[] = msgs.map(() => '');
    let cur = -1;
    for (const line of r.stdout.split('\n')) {
      const m = /^\S.*\(xid=0x([0-9a-f]+)\)/.exec(line);
      if (m) {
        const idx = parseInt(m[1]!, 16) - 1;
        if (idx === cur + 1 && idx < msgs.length) cur = idx;
      }
      if (cur >= 0) out[cur] += line + '\n';
    }
    return out.map((s) => s.replace(/\n+$/, ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Normalises an ofp-print text for comparison: the xid and trailing whitespace are not the codec's business. */
export const normalisePrint = (s: string): string =>
  s
    .replace(/\(xid=0x[0-9a-f]+\)/g, '(xid=X)')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();
