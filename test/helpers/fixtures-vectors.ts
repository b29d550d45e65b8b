// Loading the golden vectors that scripts/gen-fixtures.ts wrote into test/fixtures/. Plain JSON, hex beside the
// ovs-ofctl text; see the script for how each was produced.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export interface PositiveFlowVector {
  /** The flow text as written in flow-texts.txt. */
  readonly text: string;
  /** Section heading of flow-texts.txt it appears under. */
  readonly section: string;
  /** `ovs-ofctl -O OpenFlow13 parse-flow TEXT`: the whole `OFPT_FLOW_MOD ...` line. */
  readonly ofctl: string;
  /** Warnings/infos OVS logged while parsing (deprecations and the like), without timestamps. */
  readonly log: readonly string[];
  /** The OFPT_FLOW_MOD OVS sent for TEXT to a switch, whole message, as captured (xid is OVS's). */
  readonly hex: string;
}

export interface NegativeFlowVector {
  readonly text: string;
  readonly section: string;
  /** OVS's error text. */
  readonly error: string;
}

export interface FlowVectors {
  readonly ovsVersion: string;
  readonly positive: readonly PositiveFlowVector[];
  readonly negative: readonly NegativeFlowVector[];
}

export interface CapturedMessage {
  /** The whole message in hex; absent for messages over 16 KiB, which are stored in `gz`. */
  readonly hex?: string;
  /** base64 of the gzipped message (large messages only), and its length. */
  readonly gz?: string;
  readonly length?: number;
  /** `ovs-ofctl ofp-print` of the message (xid as captured). */
  readonly print: string;
}

/** A captured message's bytes, whichever way it was stored. */
export function capturedBytes(m: CapturedMessage): Uint8Array {
  if (m.hex !== undefined) return new Uint8Array(Buffer.from(m.hex, 'hex'));
  if (m.gz !== undefined) return new Uint8Array(gunzipSync(Buffer.from(m.gz, 'base64')));
  throw new Error('captured message without bytes');
}

export interface CapturedExchange {
  /** Short unique name, e.g. 'features_reply', 'error_bad_type'. */
  readonly name: string;
  readonly description: string;
  /** What we sent (hex), when the capture is a reply; several for bundles. */
  readonly sent: readonly string[];
  /** What OVS sent back, in order (multipart replies are several messages). */
  readonly received: readonly CapturedMessage[];
}

export interface CapturedMeta {
  readonly ovsVersion: string;
  /** br0's datapath id, 16 hex digits. */
  readonly datapathId: string;
  /** br0's ports: OpenFlow port number by interface name (LOCAL is br0 itself). */
  readonly ports: Readonly<Record<string, number>>;
  /** Flows in br0 when the flow stats were taken (`ovs-ofctl dump-flows` count). */
  readonly flowCount: number;
  /** Flow texts from flow-vectors.json that br0 rejected at load time, with OVS's error. */
  readonly loadRejected: readonly { readonly text: string; readonly error: string }[];
}

export interface CapturedMessages {
  readonly meta: CapturedMeta;
  readonly exchanges: readonly CapturedExchange[];
}

const readJson = <T>(name: string): T => JSON.parse(readFileSync(join(FIXTURES_DIR, name), 'utf8')) as T;

export const loadFlowVectors = (): FlowVectors => readJson<FlowVectors>('flow-vectors.json');
export const loadCapturedMessages = (): CapturedMessages => readJson<CapturedMessages>('ovs-messages.json');

/**
 * Flow-vector texts with OVS keywords the codec does not model (outside the codec's scope, or not yet), with the
 * reason. parseFlow must reject them (not mis-encode them), and decoding OVS's bytes keeps them raw, so formatFlow
 * prints them as raw experimenter actions.
 */
export const knownUnsupported: Readonly<Record<string, string>> = {
  'tun_metadata0=0x1234,actions=drop': 'tun_metadata fields (need a TLV map) are not in the field registry',
  'actions=output(port=1,max_len=128)': 'NXAST_OUTPUT_TRUNC is outside the codec scope',
  'actions=output:NXM_NX_TUN_METADATA0[]': 'tun_metadata fields are not in the field registry',
  'actions=learn(table=1,delete_learned,limit=10,result_dst=reg0[1],eth_src=02:00:00:00:00:01)': 'NXAST_LEARN2 (limit, result_dst) is not modelled',
  'actions=bundle(eth_src,0,hrw,ofport,members:4,8)': 'NXAST_BUNDLE is outside the codec scope',
  'actions=bundle_load(eth_src,0,hrw,ofport,NXM_NX_REG0[],members:4,8)': 'NXAST_BUNDLE_LOAD is outside the codec scope',
  'actions=push:NXM_NX_REG0[],pop:NXM_NX_REG1[]': 'NXAST_STACK_PUSH/POP are outside the codec scope',
};

/** Texts on the unsupported list whose OVS bytes the codec still decodes and prints as OVS does (kept raw). */
export const printedThoughUnparsed: ReadonlySet<string> = new Set(['tun_metadata0=0x1234,actions=drop']);

/** The xid of a whole OpenFlow message given in hex (header bytes 4..7). */
export const xidOf = (hex: string): number => Buffer.from(hex.slice(8, 16), 'hex').readUInt32BE(0);

/** Every captured message of every exchange, with its exchange name. */
export function allCapturedMessages(c: CapturedMessages): { readonly name: string; readonly msg: CapturedMessage }[] {
  return c.exchanges.flatMap((e) => e.received.map((msg) => ({ name: e.name, msg })));
}

/** The texts in flow-texts.txt (comments and blank lines dropped), with their section headings. */
export function readFlowTexts(path = join(FIXTURES_DIR, 'flow-texts.txt')): { text: string; section: string }[] {
  const out: { text: string; section: string }[] = [];
  let section = '';
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line.startsWith('##')) section = line.replace(/^#+\s*/, '');
    if (line === '' || line.startsWith('#')) continue;
    out.push({ text: line, section });
  }
  return out;
}
