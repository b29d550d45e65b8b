// Golden bytes from real Open vSwitch: run `ovs-ofctl -O OpenFlow13 add-flows` against a minimal fake switch on a
// unix socket and collect the OFPT_FLOW_MOD messages it sends. Needs only the ovs-ofctl binary, no daemon.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OFPT_HELLO = 0;
const OFPT_ECHO_REQUEST = 2;
const OFPT_FEATURES_REQUEST = 5;
const OFPT_FLOW_MOD = 14;
const OFPT_MULTIPART_REQUEST = 18;
const OFPT_BARRIER_REQUEST = 20;
const OFPMP_TABLE_FEATURES = 12;

/** True when the ovs-ofctl binary is on PATH (tests that need it skip otherwise). */
export const hasOvsOfctl = (): boolean => spawnSync('ovs-ofctl', ['--version']).status === 0;

function header(type: number, len: number, xid: number): Buffer {
  const b = Buffer.alloc(len);
  b.writeUInt8(4, 0);
  b.writeUInt8(type, 1);
  b.writeUInt16BE(len, 2);
  b.writeUInt32BE(xid, 4);
  return b;
}

function answer(sock: Socket, msg: Buffer): void {
  const type = msg[1]!;
  const xid = msg.readUInt32BE(4);
  if (type === OFPT_HELLO) sock.write(header(OFPT_HELLO, 8, xid));
  else if (type === OFPT_ECHO_REQUEST) {
    const r = Buffer.from(msg);
    r.writeUInt8(3, 1);
    sock.write(r);
  }
  else if (type === OFPT_FEATURES_REQUEST) {
    const r = header(6, 32, xid);
    r.writeBigUInt64BE(1n, 8);
    r.writeUInt8(254, 20);
    sock.write(r);
  } else if (type === OFPT_MULTIPART_REQUEST) {
    // ovs-ofctl asks for table features (table names) and port descriptions (port names) before sending
    // flow_mods. Answer with no ports and one table whose 8 required properties are all empty.
    const mpType = msg.readUInt16BE(8);
    const r = header(19, mpType === OFPMP_TABLE_FEATURES ? 16 + 128 : 16, xid);
    r.writeUInt16BE(mpType, 8);
    if (mpType === OFPMP_TABLE_FEATURES) r.writeUInt16BE(128, 16);
    for (let i = 0; mpType === OFPMP_TABLE_FEATURES && i < 8; i++) {
      r.writeUInt16BE(i * 2, 16 + 64 + i * 8);
      r.writeUInt16BE(4, 16 + 64 + i * 8 + 2);
    }
    sock.write(r);
  } else if (type === OFPT_BARRIER_REQUEST) sock.write(header(21, 8, xid));
}

/** The FLOW_MOD messages (whole messages, header included) ovs-ofctl sends for `flows`, in order. */
export async function captureFlowMods(flows: readonly string[], extraArgs: readonly string[] = []): Promise<Uint8Array[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ofctl-'));
  const sockPath = join(dir, 'sw.sock');
  const flowFile = join(dir, 'flows.txt');
  writeFileSync(flowFile, flows.join('\n') + '\n');
  const mods: Uint8Array[] = [];
  const server = createServer((sock) => {
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        const len = pending.readUInt16BE(2);
        if (pending.length < len) break;
        const msg = pending.subarray(0, len);
        pending = pending.subarray(len);
        if (msg[1] === OFPT_FLOW_MOD) mods.push(new Uint8Array(msg));
        answer(sock, msg);
      }
    });
    sock.on('error', () => undefined);
  });
  try {
    await new Promise<void>((resolve) => server.listen(sockPath, resolve));
    await new Promise<void>((resolve, reject) => {
      execFile('ovs-ofctl', ['-O', 'OpenFlow13', ...extraArgs, 'add-flows', `unix:${sockPath}`, flowFile], { timeout: 10_000 }, (err, _out, stderr) =>
        err ? reject(new Error(`ovs-ofctl failed: ${stderr || err.message}`)) : resolve(),
      );
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
  return mods;
}

/** `ovs-ofctl -O OpenFlow13 parse-flow TEXT`: the text after `ADD ` on the OFPT_FLOW_MOD line. */
export function ofctlParseFlow(text: string): string {
  const r = spawnSync('ovs-ofctl', ['-O', 'OpenFlow13', 'parse-flow', text], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ovs-ofctl parse-flow ${text}: ${r.stderr.trim()}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('OFPT_FLOW_MOD'));
  if (!line) throw new Error(`ovs-ofctl parse-flow ${text}: no FLOW_MOD in ${r.stdout}`);
  return line.replace(/^.*?: ADD /, '');
}

/** `ovs-ofctl ofp-print HEX`, verbatim. */
export function ofctlPrint(bytes: Uint8Array): string {
  const r = spawnSync('ovs-ofctl', ['ofp-print', Buffer.from(bytes).toString('hex')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ovs-ofctl ofp-print: ${r.stderr.trim()}`);
  return r.stdout;
}
