// The controller end-to-end tests' common setup (test/daemon/e2e.test.ts on SQLite, e2e-etcd.test.ts on etcd): the
// real composition root and lab nodes from `startLabController`, a cloud made through the HTTP API, and the check
// that every node's installed flows equal its compiled pipeline, compared through that node's OVS's own printing.
import { expect } from 'vitest';
import type { Server } from '../../src/daemon/server.js';
import { callApi, type ApiResponse } from '../../src/lab/cloud.js';
import type { OvsInstance } from '../../src/lab/ovs.js';
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import { canonicalFlows, dumpFlows, startLabController, type LabController } from '../daemon/lab.js';
import { waitFor } from './wait.js';

export interface FlowComparison {
  readonly installed: string[];
  readonly expected: string[];
}

export interface ControllerE2e {
  readonly lab: LabController;
  readonly server: Server;
  /** Each node's OVS instance, by node name. */
  readonly nodes: ReadonlyMap<string, OvsInstance>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert the JSON shape
  api<T = any>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<ApiResponse<T>>;
  /** Our flows on the node's br0 and the compiled pipeline for it, both as this node's OVS prints them. */
  compare(node: string): Promise<FlowComparison>;
  /** Waits (up to `timeoutMs` a node) until every node's flows equal its pipeline, and asserts it. */
  allNodesMatch(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The installed flows are the expected ones, and there are some. */
export const sameFlows = (r: FlowComparison): boolean =>
  r.expected.length > 0 && r.installed.length === r.expected.length && r.installed.every((l, i) => l === r.expected[i]);

/**
 * Starts the lab controller with `nodes` (leftovers of `prefix` removed first), creates `subnets` (/27 each) and
 * `vms` through the API, and asserts each was created. Stops what it started when that fails.
 */
export async function startControllerE2e(
  prefix: string,
  nodes: readonly { readonly name: string; readonly roles: readonly string[] }[],
  cloud: { readonly subnets: readonly string[]; readonly vms: readonly object[] },
  opts: { readonly store?: Record<string, unknown> } = {},
): Promise<ControllerE2e> {
  const lab = await startLabController(prefix, nodes, opts);
  const server = lab.server;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert the JSON shape
  const api = <T = any>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => callApi<T>(server, method, path, body);
  const compare = async (node: string): Promise<FlowComparison> => {
    const ovs = lab.nodes.get(node)!;
    const dp = server.network.datapathOf(node);
    if (!dp) return { installed: ['(not connected)'], expected: [] };
    const expected = await canonicalFlows(ovs, server.network.compile(node, dp).map(formatFlow));
    const installed = (await dumpFlows(ovs, 'br0')).filter((l) => l.startsWith('cookie=0x4d43'));
    return { installed, expected };
  };
  const allNodesMatch = async (timeoutMs?: number): Promise<void> => {
    for (const n of nodes) {
      const r = await waitFor(`${n.name}'s flows to equal its pipeline`, () => compare(n.name), sameFlows, timeoutMs);
      expect(r.installed, n.name).toEqual(r.expected);
    }
  };
  try {
    for (const name of cloud.subnets) expect((await api('POST', '/api/v1/subnets', { name, prefixLength: 27 })).status).toBe(201);
    for (const vm of cloud.vms) {
      const res = await api('POST', '/api/v1/vms', vm);
      expect(res.status, JSON.stringify(res.json)).toBe(201);
    }
  } catch (e) {
    await lab.stop();
    throw e;
  }
  return { lab, server, nodes: lab.nodes, api, compare, allNodesMatch, stop: () => lab.stop() };
}
