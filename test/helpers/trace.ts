// Parsing `ovs-appctl ofproto/trace` output: where the packet went (ports and VXLAN tunnels, with the MACs it had
// at that moment) from the "Datapath actions:" line, and the fields of the "Final flow:" line.
//
// Datapath actions of the userspace datapath look like
//   set(eth(src=12:00:00:ff:ff:ff,dst=02:..)),clone(tnl_push(tnl_port(2),header(...,ipv4(src=A,dst=B,...),
//   udp(...),vxlan(flags=0x8000000,vni=0x64)),out_port(6)),7),5
// where a tnl_push is one tunnel output (the datapath port after it, inside the same clone, is the underlay) and a
// bare number is an output to that datapath port.

export interface TraceOutput {
  /** Interface name of the datapath port, for a plain output. */
  readonly port?: string;
  /** For a VXLAN output: the VNI and the outer destination/source IPs. */
  readonly tunnel?: { readonly vni: number; readonly dst: string; readonly src: string };
  /** The packet's Ethernet addresses at the time of the output. */
  readonly ethSrc: string;
  readonly ethDst: string;
  /** Other header rewrites seen before the output, e.g. { ttl: '63' } or ARP fields. */
  readonly sets: Readonly<Record<string, string>>;
}

export interface Trace {
  readonly raw: string;
  readonly datapathActions: string;
  readonly outputs: readonly TraceOutput[];
  readonly finalFlow: ReadonlyMap<string, string>;
  readonly dropped: boolean;
  /** The rows the packet matched, in order (every pass): table, priority and cookie. */
  readonly rows: readonly { readonly table: number; readonly priority: number; readonly cookie: bigint }[];
}

/** Splits on commas that are not inside parentheses. */
export function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (start < s.length) out.push(s.slice(start));
  return out.map((x) => x.trim()).filter(Boolean);
}

/** `name(inner)` -> [name, inner]; anything else -> [s, undefined]. */
function call(s: string): [string, string | undefined] {
  const i = s.indexOf('(');
  if (i < 0 || !s.endsWith(')')) return [s, undefined];
  return [s.slice(0, i), s.slice(i + 1, -1)];
}

function keyValues(s: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of splitTopLevel(s)) {
    const eq = part.indexOf('=');
    if (eq < 0) m.set(part, '');
    else m.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return m;
}

function find(s: string, name: string): string | undefined {
  const re = new RegExp(`(?:^|[(,])${name}\\(`);
  const m = re.exec(s);
  if (!m) return undefined;
  let i = m.index + m[0].length;
  const start = i;
  for (let depth = 1; i < s.length && depth > 0; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
  }
  return s.slice(start, i - 1);
}

export interface ParseOptions {
  /** Datapath port number -> interface name (ovs-appctl dpif/show). */
  readonly dpPorts: ReadonlyMap<number, string>;
  /** Datapath ports of the underlay (ignored: they carry already-encapsulated copies). */
  readonly underlay: ReadonlySet<number>;
  /** The frame's length in bytes, for check_pkt_len branches (default: small enough to pass every check). */
  readonly frameSize?: number;
}

export function parseTrace(raw: string, opts: ParseOptions): Trace {
  // A packet that goes through conntrack (ct(table=N)) is traced in passes, one per recirculation: the passes'
  // datapath actions together are what happens to it; its final flow is the last pass's.
  const dpLine = [...raw.matchAll(/^Datapath actions: (.*)$/gm)].map((m) => m[1]!.trim()).filter(Boolean).join(',');
  const flowLine = /^Flow: (.*)$/m.exec(raw)?.[1] ?? '';
  const finalLine = [...raw.matchAll(/^Final flow: (.*)$/gm)].at(-1)?.[1]?.trim() ?? '';
  const initial = keyValues(flowLine);
  const finalFlow = finalLine === 'unchanged' ? initial : keyValues(finalLine);
  const outputs: TraceOutput[] = [];
  const state = { ethSrc: initial.get('dl_src') ?? '', ethDst: initial.get('dl_dst') ?? '', sets: {} as Record<string, string> };

  const walk = (actions: string[], inClone: boolean): void => {
    let tunnelled = false;
    for (const a of actions) {
      const [name, inner] = call(a);
      if (name === 'set' || name === 'set_masked') {
        const [what, fields] = call(inner ?? '');
        const kv = keyValues(fields ?? '');
        if (what === 'eth') {
          state.ethSrc = kv.get('src') ?? state.ethSrc;
          state.ethDst = kv.get('dst') ?? state.ethDst;
        } else for (const [k, v] of kv) state.sets[`${what}.${k}`] = v;
      } else if (name === 'clone') {
        const saved = { ...state, sets: { ...state.sets } };
        walk(splitTopLevel(inner ?? ''), true);
        Object.assign(state, saved);
      } else if (name === 'tnl_push') {
        const header = inner ?? '';
        const vxlan = keyValues(find(header, 'vxlan') ?? '');
        const ipv4 = keyValues(find(header, 'ipv4') ?? '');
        outputs.push({
          tunnel: { vni: Number(vxlan.get('vni')), dst: ipv4.get('dst') ?? '', src: ipv4.get('src') ?? '' },
          ethSrc: state.ethSrc,
          ethDst: state.ethDst,
          sets: { ...state.sets },
        });
        tunnelled = true;
      } else if (/^\d+$/.test(name)) {
        const n = Number(name);
        if (opts.underlay.has(n) || (inClone && tunnelled)) continue;
        outputs.push({ port: opts.dpPorts.get(n) ?? `dp${n}`, ethSrc: state.ethSrc, ethDst: state.ethDst, sets: { ...state.sets } });
      } else if (name === 'check_pkt_len') {
        // check_pkt_len(size=N,gt(...),le(...)): a trace from a flow has no packet size, so both branches are listed;
        // follow the one for the frame size the caller says (default: a small frame).
        const parts = splitTopLevel(inner ?? '');
        const size = Number(keyValues(parts[0] ?? '').get('size'));
        const branch = (opts.frameSize ?? 0) > size ? 'gt' : 'le';
        const body = parts.find((p) => p.startsWith(`${branch}(`));
        walk(splitTopLevel(call(body ?? '')[1] ?? ''), true);
      } else if (name === 'meter' || name === 'ct' || name === 'recirc' || name === 'ct_clear') {
        continue;
      } else if (name === 'userspace') {
        // To the controller (e.g. dec_ttl of a packet whose TTL ran out).
        outputs.push({ port: 'CONTROLLER', ethSrc: state.ethSrc, ethDst: state.ethDst, sets: { ...state.sets } });
      } else if (name !== 'drop' && name !== '') {
        throw new Error(`unparsed datapath action '${a}' in: ${dpLine}`);
      }
    }
  };
  walk(splitTopLevel(dpLine), false);
  const rows = [...raw.matchAll(/^\s*(\d+)\. (?:.*, )?priority (\d+), cookie (0x[0-9a-f]+)$/gm)].map((m) => ({
    table: Number(m[1]),
    priority: Number(m[2]),
    cookie: BigInt(m[3]!),
  }));
  return { raw, datapathActions: dpLine, outputs, finalFlow, dropped: outputs.length === 0, rows };
}

/** Parses `ovs-appctl dpif/show`: interface name -> [ofport, datapath port]. */
export function parseDpifShow(text: string): Map<string, { ofport: number; dpPort: number }> {
  const out = new Map<string, { ofport: number; dpPort: number }>();
  for (const m of text.matchAll(/^\s+(\S+) (\d+)\/(\d+):/gm)) out.set(m[1]!, { ofport: Number(m[2]), dpPort: Number(m[3]) });
  return out;
}

/** Compact view of a trace's outputs for assertions: 'tap-a1', 'vxlan:100@10.99.0.12'. */
export function destinations(t: Trace): string[] {
  return t.outputs.map((o) => (o.tunnel ? `vxlan:${o.tunnel.vni}@${o.tunnel.dst}` : o.port!)).sort();
}
