// NodePipelines driven by the runtime's pause: the same desired state as computed in one go, the long work (a new
// revision's index, the rows every node shares) done once however many syncs ask at the same time, in many turns.
import { describe, expect, it } from 'vitest';
import { NodePipelines } from '../../src/daemon/node-pipelines.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import { nextTurn } from '../../src/runtime/turns.js';
import { syntheticCloud } from '../../src/topology/examples.js';
import type { Cloud } from '../../src/topology/model.js';

const dp = { ports: [{ portNo: 1, name: 'vxlan-int' }, { portNo: 2, name: 'vxlan-sw' }] } as unknown as Datapath;

function pipelinesOver(cloud: Cloud): { pipelines: NodePipelines; bump: (next: Cloud) => void } {
  let current = cloud;
  let revision = 1;
  const pipelines = new NodePipelines({ cloud: () => current, revision: () => revision });
  return { pipelines, bump: (next) => ((current = next), revision++) };
}

/** A pause that counts itself. */
function countingPause(): { pause: () => Promise<void>; count: () => number } {
  let n = 0;
  return { pause: () => (n++, nextTurn()), count: () => n };
}

describe('NodePipelines with a pause', () => {
  const cloud = syntheticCloud({ computeNodes: 6, vms: 2_000 });

  it('gives the desired state desiredState gives without one, in many turns', async () => {
    const a = pipelinesOver(cloud).pipelines;
    const b = pipelinesOver(cloud).pipelines;
    const { pause, count } = countingPause();
    const dpid = a.dpidOf('c2');
    const inTurns = await a.desiredState(dpid, dp, pause);
    expect(count()).toBeGreaterThan(10);
    expect(inTurns).toEqual(b.desiredState(dpid, dp));
  });

  it('indexes a revision and builds the shared rows once for every sync asking at once', async () => {
    // Pauses of a first node (index, shared rows, its own rows), then of a second one (its own rows only).
    const one = countingPause();
    const single = pipelinesOver(cloud).pipelines;
    await single.desiredState(single.dpidOf('c0'), dp, one.pause);
    const first = one.count();
    await single.desiredState(single.dpidOf('c1'), dp, one.pause);
    const more = one.count() - first;
    expect(first).toBeGreaterThan(3 * more);
    const many = countingPause();
    const { pipelines } = pipelinesOver(cloud);
    const states = await Promise.all(['c0', 'c1', 'c2', 'c3', 'c4', 'c5'].map((n) => pipelines.desiredState(pipelines.dpidOf(n), dp, many.pause)));
    expect(many.count()).toBeLessThanOrEqual(first + 5 * more + 6);
    // Every node's list holds the same shared row objects.
    const [s0, s5] = [states[0]!.flows, states[5]!.flows];
    expect(s0.filter((f) => s5.includes(f)).length).toBeGreaterThan(1_900);
  });

  it('a new revision keeps the objects of every flow that did not change', async () => {
    const { pipelines, bump } = pipelinesOver(cloud);
    const { pause } = countingPause();
    const before = (await pipelines.desiredState(pipelines.dpidOf('c0'), dp, pause)).flows;
    const vm = cloud.vms.at(-1)!;
    bump({ ...cloud, vms: cloud.vms.filter((v) => v !== vm) });
    const after = (await pipelines.desiredState(pipelines.dpidOf('c0'), dp, pause)).flows;
    const old = new Set(before);
    expect(after.length).toBeLessThan(before.length);
    expect(after.filter((f) => !old.has(f))).toEqual([]);
  });

  it('a datapath of no node gets an empty desired state, with or without a pause', async () => {
    const { pipelines } = pipelinesOver(cloud);
    expect(await pipelines.desiredState(0x1234n, dp, nextTurn)).toEqual({ flows: [] });
  });
});
