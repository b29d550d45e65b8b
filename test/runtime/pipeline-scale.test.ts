// Scale, at a size make test can afford (prefix mcsc-t): 20 nodes of a 4,700-VM synthetic cloud (about 5k flows per
// switch, 100k in all) synced through the daemon's pipelines; a restarted controller finds every switch right and
// sends no flow-mod; while the syncs run, a switch connecting meanwhile is handshaken and its echo requests are
// answered. Bounds are generous (a real regression breaks them, a loaded machine does not): bench/scale.ts measures.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/openflow/types.js';
import type { Controller } from '../../src/runtime/controller.js';
import { FakeSwitch, switchLike } from './fake-switch.js';
import { ScaleLab, watchStorm, type Storm } from './scale-lab.js';

const NODES = 20;
const VMS = 4_700;
const BASE = '/tmp/mcsc-test';
/** An echo answered later than this means the event loop was held far beyond the ~100 ms the issue asks for. */
const ECHO_BOUND_MS = 3_000;

/**
 * A switch (an unknown datapath: admitted, never synced) that connects while `storm` runs and sends an echo request
 * every 50 ms; returns the storm's result and each echo's round trip (Infinity for one never answered).
 */
async function withEchoProbe(path: string, storm: () => Promise<Storm>): Promise<{ storm: Storm; echoes: number[]; handshaken: boolean }> {
  const sent = new Map<number, number>();
  const echoes: number[] = [];
  let handshaken = false;
  const base = switchLike(0x6d63736300000001n);
  const sw = await FakeSwitch.open({ path }, (m: Message, s) => {
    if (m.type === 'features_request') handshaken = true;
    if (m.type === 'echo_reply' && sent.has(m.xid)) {
      echoes.push(performance.now() - sent.get(m.xid)!);
      sent.delete(m.xid);
    }
    base(m, s);
  });
  sw.send({ type: 'hello', xid: 1, version: 4, versions: [4] });
  let xid = 0x10000;
  const timer = setInterval(() => {
    if (sent.size > 200) return; // bounded: a stuck controller does not get an unbounded queue from us
    sent.set(++xid, performance.now());
    sw.send({ type: 'echo_request', xid, data: new Uint8Array(8) });
  }, 50);
  try {
    const result = await storm();
    // The last echoes sent get their chance.
    const deadline = performance.now() + ECHO_BOUND_MS;
    clearInterval(timer);
    while (sent.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const t of sent.values()) echoes.push(performance.now() - t > ECHO_BOUND_MS ? Infinity : performance.now() - t);
    return { storm: result, echoes, handshaken };
  } finally {
    clearInterval(timer);
    sw.destroy();
  }
}

describe(`a controller with ${NODES} switches of about 5k flows each`, () => {
  let lab: ScaleLab | undefined;
  const controllers: Controller[] = [];

  beforeAll(async () => {
    rmSync(BASE, { recursive: true, force: true });
    lab = await ScaleLab.start({ prefix: 'mcsc-t', baseDir: BASE, nodes: NODES, vms: VMS });
  }, 120_000);

  afterAll(async () => {
    for (const c of controllers) await c.stop();
    await lab?.stop();
    rmSync(BASE, { recursive: true, force: true });
  }, 60_000);

  it('syncs them all, and after a restart verifies them all with 0 flow-mods, answering echoes all along', async () => {
    const flowsPer = lab!.desiredFlows(lab!.nodes[0]!).length;
    expect(flowsPer).toBeGreaterThan(4_000);

    const first = await lab!.controller();
    controllers.push(first.ctl);
    const a = await withEchoProbe(first.path, () => watchStorm(first.ctl, lab!, () => lab!.connectAll(first.sock), { timeoutMs: 300_000 }));
    console.log(
      `scale test (a): ${NODES} x ${flowsPer} flows synced in ${Math.round(a.storm.totalMs)} ms, loop stall max ${Math.round(a.storm.loopMaxMs)} ms, ` +
        `echo max ${Math.round(Math.max(...a.echoes))} ms over ${a.echoes.length}`,
    );
    expect(a.storm.flowMods).toBeGreaterThanOrEqual(NODES * flowsPer * 0.9);
    expect(a.handshaken).toBe(true);
    expect(a.echoes.length).toBeGreaterThan(0);
    expect(Math.max(...a.echoes)).toBeLessThan(ECHO_BOUND_MS);

    await first.ctl.stop();
    const second = await lab!.controller({}, first.sock);
    controllers.push(second.ctl);
    const b = await withEchoProbe(second.path, () => watchStorm(second.ctl, lab!, async () => undefined, { timeoutMs: 300_000 }));
    console.log(
      `scale test (b): restart verified in ${Math.round(b.storm.totalMs)} ms, ${b.storm.flowMods} flow-mods, ${b.storm.unchanged} flows found right, ` +
        `loop stall max ${Math.round(b.storm.loopMaxMs)} ms, echo max ${Math.round(Math.max(...b.echoes))} ms over ${b.echoes.length}`,
    );
    expect(b.storm.flowMods).toBe(0);
    expect(b.storm.unchanged).toBe(a.storm.flowMods);
    expect(b.handshaken).toBe(true);
    expect(b.echoes.length).toBeGreaterThan(0);
    expect(Math.max(...b.echoes)).toBeLessThan(ECHO_BOUND_MS);
  }, 600_000);
});
