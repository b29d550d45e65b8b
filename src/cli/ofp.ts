import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  CodecError,
  decodeMessage,
  encodeMessage,
  errorName,
  FrameSplitter,
  formatMessage,
  messageFromJSON,
  messageToJSON,
  parseFlow,
} from '../openflow/index.js';

/** `minicloud ofp print|decode|encode|flow`: the codec on the command line. */
export function registerOfpCommands(program: Command): void {
  const ofp = program.command('ofp').description('OpenFlow 1.3 codec tools (hex or binary in; text, JSON or hex out)');

  ofp
    .command('print')
    .description('decode OpenFlow messages (hex argument, or --file with binary or hex) to ovs-ofctl-like text')
    .argument('[hex]', 'message bytes in hex (spaces, colons and 0x allowed)')
    .option('-f, --file <path>', 'read the bytes from a file (binary, or hex text)')
    .option('-v, --verbosity <n>', 'as ovs-ofctl ofp-print HEX N: 0 least, 1 packet summaries, 2 (default) payload hex, 3 packet hex, 5 message hex', '2')
    .action((hex: string | undefined, opts: { file?: string; verbosity: string }) => {
      const verbosity = parseVerbosity(opts.verbosity);
      for (const frame of splitFrames(readInput(hex, opts.file))) console.log(formatMessage(decodeMessage(frame), verbosity, frame));
    });

  ofp
    .command('decode')
    .description('decode OpenFlow messages to JSON')
    .argument('[hex]', 'message bytes in hex')
    .option('-f, --file <path>', 'read the bytes from a file (binary, or hex text)')
    .action((hex: string | undefined, opts: { file?: string }) => {
      const msgs = splitFrames(readInput(hex, opts.file)).map((f) => messageToJSON(decodeMessage(f)));
      console.log(JSON.stringify(msgs.length === 1 ? msgs[0] : msgs, null, 2));
    });

  ofp
    .command('encode')
    .description('encode a message given as JSON (argument, --file, or standard input) to hex')
    .argument('[json]', 'the message as JSON (see `ofp decode` for the form)')
    .option('-f, --file <path>', 'read the JSON from a file')
    .action((json: string | undefined, opts: { file?: string }) => {
      const text = json ?? readFileSync(opts.file ?? 0, 'utf8');
      const parsed: unknown = JSON.parse(text);
      const list = Array.isArray(parsed) ? parsed : [parsed];
      for (const m of list) console.log(toHex(encodeMessage(messageFromJSON(m))));
    });

  ofp
    .command('flow')
    .description("print the FLOW_MOD of one flow in ovs-ofctl syntax as plain hex (pipe it into `ovs-ofctl ofp-print`)")
    .argument('<flow>', "e.g. 'table=0,priority=10,dl_dst=ff:ff:ff:ff:ff:ff,actions=resubmit(,50)'")
    .option('--xid <n>', 'transaction id', '1')
    .action((flow: string, opts: { xid: string }) => {
      console.log(toHex(encodeMessage({ ...parseFlow(flow), xid: Number(opts.xid) })));
    });
}

/** A verbosity: a whole number 0..9 (OVS reads any int; above 5 changes nothing). */
export function parseVerbosity(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n > 9) throw new Error(`--verbosity must be a whole number from 0 to 9, not ${JSON.stringify(text)}`);
  return n;
}

function readInput(hex: string | undefined, file: string | undefined): Uint8Array {
  if (hex !== undefined) return fromHex(hex);
  const raw = readFileSync(file ?? 0);
  const text = raw.toString('latin1');
  return /^[\s0-9a-fA-Fx:,]*$/.test(text) ? fromHex(text) : raw;
}

export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/[\s:,]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new Error('input is not hex (odd length or non-hex characters)');
  return Buffer.from(clean, 'hex');
}

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Cuts concatenated messages into frames with the codec's own splitter; a partial message at the end is an error. */
function splitFrames(bytes: Uint8Array): Uint8Array[] {
  const splitter = new FrameSplitter();
  const frames = splitter.pushAll(bytes);
  if (splitter.buffered > 0) throw new CodecError(`the last ${splitter.buffered} bytes are not a whole OpenFlow message`);
  return frames;
}

export function describeCodecError(e: CodecError): string {
  return `${e.message} (${errorName(e.ofpType, e.ofpCode)})`;
}
