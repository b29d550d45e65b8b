// Shared pieces of the runtime integration tests: a controller on a unix socket under /tmp, OVS nodes, waiting.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import { OvsInstance, type BridgeOptions } from '../../src/lab/ovs.js';
import { parseFlow } from '../../src/openflow/text/flow-text.js';
import type { FlowMod } from '../../src/openflow/types.js';
import { until } from '../helpers/wait.js';

let seq = 0;
/** A fresh unix socket path for one controller (removed again by `cleanupSocket`). */
export function socketPath(tag: string): string {
  return `/tmp/mc-rt-${process.pid}-${tag}-${++seq}.sock`;
}

export function cleanupSocket(path: string): void {
  rmSync(path, { force: true });
}

/** Quiet unless RUNTIME_TEST_LOG=debug|info is set. */
export function testLogger(): Logger {
  return pino({ level: process.env.RUNTIME_TEST_LOG ?? 'silent' });
}

export async function startNode(name: string, bridges: Record<string, BridgeOptions> = { br0: {} }): Promise<OvsInstance> {
  const ovs = await OvsInstance.start({ name });
  try {
    for (const [br, opts] of Object.entries(bridges)) await ovs.addBridge(br, opts);
  } catch (e) {
    await ovs.stop();
    throw e;
  }
  return ovs;
}

export const flows = (...texts: string[]): FlowMod[] => texts.map((t) => parseFlow(t));

/** `ovs-ofctl -O OpenFlow13 dump-flows` lines, without the reply header and with volatile fields stripped. */
export async function dumpFlows(ovs: OvsInstance, bridge = 'br0'): Promise<string[]> {
  const out = await ovs.ofctl('-O', 'OpenFlow13', 'dump-flows', bridge);
  return out
    .split('\n')
    .filter((l) => l.trim() && !l.includes('OFPST_FLOW') && !l.startsWith('OFPST'))
    .map((l) => l.trim());
}

/** dump-flows with only the identity and actions: "table=0, priority=5,arp actions=drop" etc. */
export async function flowSummaries(ovs: OvsInstance, bridge = 'br0'): Promise<string[]> {
  return (await dumpFlows(ovs, bridge))
    .map((l) =>
      l
        .replace(/\b(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]*,?\s*/g, '')
        .replace(/^cookie=0x0, /, '')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .sort();
}

/** n_packets of the flow whose dump line contains `needle`. */
export async function packetCount(ovs: OvsInstance, needle: string, bridge = 'br0'): Promise<number> {
  const line = (await dumpFlows(ovs, bridge)).find((l) => l.includes(needle));
  if (!line) throw new Error(`no flow containing '${needle}'`);
  return Number(/n_packets=(\d+)/.exec(line)?.[1] ?? NaN);
}

/** Resolves with the args of the first `event` whose args satisfy `pred`; rejects after `timeoutMs`. */
export function waitForEvent<T extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  pred: (...args: T) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (...args: unknown[]): void => {
      if (!pred(...(args as T))) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}

/** The datapath id OVS reports for a bridge, as a bigint. */
export async function bridgeDpid(ovs: OvsInstance, bridge = 'br0'): Promise<bigint> {
  const out = await until(async () => {
    const v = (await ovs.vsctl('get', 'bridge', bridge, 'datapath_id')).trim().replace(/"/g, '');
    return /^[0-9a-f]{16}$/.test(v) ? v : undefined;
  }, 5000, `datapath_id of ${bridge}`);
  return BigInt(`0x${out}`);
}

/**
 * Links of the machine's own namespace that carry the name of one of the instance's interfaces (bridges and
 * ports): an OVS instance running there must not have created any (the dummy datapath creates none).
 */
export async function rootLinksNamedLike(ovs: OvsInstance): Promise<string[]> {
  const ifaces = new Set((await ovs.vsctl('--bare', '--columns=name', 'list', 'interface')).split(/\s+/).filter(Boolean));
  const root = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
  return root.filter((n) => ifaces.has(n) || n === 'ovs-netdev');
}
