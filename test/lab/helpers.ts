// The lab tests' reads of the public API (the node and datapath lists, waiting for a node to reach a state), and the
// teardown of a lab with a node behind a test sshd.
import { expect } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import type { DatapathInfo, NodeDetails } from '../../src/cloud/index.js';
import type { LabCloud } from '../../src/lab/cloud.js';
import { namespacesWith } from '../../src/lab/lab.js';

/** GET /api/v1/nodes (which must answer 200). */
export async function apiNodes(cloud: LabCloud): Promise<NodeDetails[]> {
  const res = await cloud.api<{ nodes: NodeDetails[] }>('GET', '/api/v1/nodes');
  expect(res.status).toBe(200);
  return res.json.nodes;
}

/** GET /api/v1/datapaths (which must answer 200). */
export async function apiDatapaths(cloud: LabCloud): Promise<DatapathInfo[]> {
  const res = await cloud.api<{ datapaths: DatapathInfo[] }>('GET', '/api/v1/datapaths');
  expect(res.status).toBe(200);
  return res.json.datapaths;
}

/** One node's view, or undefined when the API does not list it. */
export async function apiNode(cloud: LabCloud, name: string): Promise<NodeDetails | undefined> {
  return (await apiNodes(cloud)).find((n) => n.name === name);
}

/** Polls the node's view until `ok` holds (e.g. provisioning 'ready'); throws after `timeoutMs` with the last view. */
export function waitNode(cloud: LabCloud, name: string, ok: (n: NodeDetails | undefined) => boolean, timeoutMs = 20_000, everyMs = 150): Promise<NodeDetails | undefined> {
  return waitFor(`node ${name}`, () => apiNode(cloud, name), ok, timeoutMs, everyMs);
}

/** Polls until the node's datapath is listed with `connected` as given; answers it. */
export async function waitDatapath(cloud: LabCloud, name: string, connected = true, timeoutMs = 20_000): Promise<DatapathInfo | undefined> {
  return waitFor(`${name}'s datapath connected=${connected}`, async () => (await apiDatapaths(cloud)).find((d) => d.node === name), (d) => (d?.connected ?? false) === connected, timeoutMs);
}

/**
 * Stops the lab cloud, then (even when that fails) the sshd standing for one of its nodes; then no namespace of the
 * lab's prefix (nodes `P-*`, VMs `Pv-*`) may be left.
 */
export async function stopSshLab(cloud: LabCloud | undefined, sshd: { stop(): Promise<void> } | undefined, prefix: string): Promise<void> {
  try {
    await cloud?.stop();
  } finally {
    await sshd?.stop();
  }
  expect(await namespacesWith(`${prefix}-`, `${prefix}v-`)).toEqual([]);
}
