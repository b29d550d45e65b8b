// `minicloud ofp ...` through the real main.ts, checked against ovs-ofctl itself.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const main = join(import.meta.dirname, '../../src/cli/main.ts');

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const FLOW = 'table=50,priority=20,arp,arp_tpa=192.168.20.1,arp_op=1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:12:00:00:ff:ff:ff,load:0x2->NXM_OF_ARP_OP[],IN_PORT';

describe('minicloud ofp', () => {
  it('flow prints only hex that ovs-ofctl reads as the same flow, and print agrees with ofp-print', async () => {
    const flow = await cli('ofp', 'flow', FLOW);
    expect(flow.code).toBe(0);
    expect(flow.stdout).toMatch(/^[0-9a-f]+\n$/);
    const hex = flow.stdout.trim();
    const ovs = execFileSync('ovs-ofctl', ['ofp-print', hex], { encoding: 'utf8' }).trim();
    const parsed = execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'parse-flow', FLOW], { encoding: 'utf8' });
    expect(parsed).toContain(ovs);
    const ours = await cli('ofp', 'print', hex);
    expect(ours.stdout.trim()).toBe(ovs);
  });

  it('print --verbosity N prints what ovs-ofctl ofp-print HEX N prints', { timeout: 240_000 }, async () => {
    // A packet-in carrying a TCP SYN: the summary from verbosity 1, the packet's hex from 3, the message's from 5
    // (every level for every message type: ovs-diff.test.ts).
    const hex =
      '040a006000000005ffffffff0036000300000000000000000001000c8000000400000001000000000000ffffffffffff0200000000010800450000280001000040067ce60a0000010a0000020050005000000001000000005002200091a50000';
    for (const v of ['1', '5']) {
      const ours = await cli('ofp', 'print', '--verbosity', v, hex);
      expect(ours.code, ours.stderr).toBe(0);
      const ovs = execFileSync('ovs-ofctl', ['ofp-print', hex, v], { encoding: 'latin1' });
      const norm = (t: string): string => t.split('\n').map((l) => l.trimEnd()).join('\n').trim();
      expect(norm(ours.stdout), `verbosity ${v}`).toBe(norm(ovs));
    }
    const bad = await cli('ofp', 'print', '--verbosity', 'lots', hex);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--verbosity must be a whole number/);
  });

  it('decode and encode round-trip through JSON, several messages at once', async () => {
    const two = '0402000c00000007616263640400000800000001';
    const json = await cli('ofp', 'decode', two);
    expect(json.code).toBe(0);
    const list = JSON.parse(json.stdout) as { type: string }[];
    expect(list.map((m) => m.type)).toEqual(['echo_request', 'hello']);
    const back = await cli('ofp', 'encode', json.stdout);
    expect(back.stdout.split('\n').filter(Boolean).join('')).toBe(two);
  });

  it('bad input exits 65 with the OpenFlow error it would earn, or names the bad flow token', async () => {
    const partial = await cli('ofp', 'print', '04020010000000');
    expect(partial.code).toBe(65);
    expect(partial.stderr).toContain('OFPBRC_BAD_LEN');
    const lying = await cli('ofp', 'print', '0402000400000001');
    expect(lying.code).toBe(65);
    const badFlow = await cli('ofp', 'flow', 'table=0,foo=1,actions=drop');
    expect(badFlow.code).not.toBe(0);
    expect(badFlow.stderr).toContain("'foo'");
    expect(badFlow.stdout).toBe('');
  });
});
