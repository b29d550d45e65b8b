// Stopping the DHCP node's dnsmasq (removal, or a config change) against a fake node: a dnsmasq that exited but is
// still a zombie (its parent, the node's init, has not reaped it yet) counts as stopped, so no 2.5 s wait and no
// SIGKILL; one that ignores SIGTERM is killed after that wait.
import { describe, expect, it } from 'vitest';
import { removeDhcpServer } from '../../src/hosts/bootstrap/dhcp.js';
import type { NodeBootstrapSpec } from '../../src/hosts/bootstrap/spec.js';
import type { ExecOptions, ExecResult } from '../../src/hosts/executor.js';
import { RecordingExecutor } from './helpers/failing.js';

const spec: NodeBootstrapSpec = { name: 'dh', roles: ['dhcp'], tunnelIp: '10.0.0.101', controller: 'tcp:10.0.0.200:6653', stateDir: '/var/lib/minicloud', dhcp: { addresses: ['192.168.20.1/27'] } };
const PID = 4242;

/** A node whose dnsmasq runs as PID 4242 and, on SIGTERM, turns into `afterTerm` ('Z' zombie, 'S' ignores it). */
function fakeNode(afterTerm: 'Z' | 'S'): RecordingExecutor {
  let state = 'S';
  const files = (): Record<string, string> => ({
    '/var/lib/minicloud/dnsmasq/dnsmasq.pid': `${PID}\n`,
    [`/proc/${PID}/cmdline`]: state === 'Z' ? '' : `dnsmasq\0--conf-file=/var/lib/minicloud/dnsmasq/dnsmasq.conf\0`,
    [`/proc/${PID}/stat`]: `${PID} (dnsmasq) ${state} 1 ${PID} ${PID} 0 -1 4194624`,
  });
  return new RecordingExecutor({
    target: 'fake',
    close: () => Promise.resolve(),
    run(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
      const ok = (stdout = ''): Promise<ExecResult> => Promise.resolve({ stdout, stderr: '', code: 0 });
      if (argv[0] === 'cat') {
        const content = files()[argv[2]!];
        if (content !== undefined) return ok(content);
        if (!opts?.okCodes?.includes(1)) return Promise.reject(new Error(`no ${argv[2]}`));
        return Promise.resolve({ stdout: '', stderr: 'No such file', code: 1 });
      }
      if (argv[0] === 'kill' && argv[1] === String(PID)) state = afterTerm;
      return ok();
    },
  });
}

describe('stopping dnsmasq', () => {
  it('a zombie left by SIGTERM counts as stopped: no wait, no SIGKILL', async () => {
    const node = fakeNode('Z');
    const t0 = Date.now();
    const changes = await removeDhcpServer(node, spec);
    const ms = Date.now() - t0;
    console.log(`dnsmasq (a zombie after SIGTERM) stopped in ${ms} ms`);
    expect(changes).toContain('dhcp: dnsmasq stopped');
    expect(node.calls).not.toContain(`kill -KILL ${PID}`);
    expect(ms).toBeLessThan(1000);
  });

  it('a dnsmasq that ignores SIGTERM is killed', async () => {
    const node = fakeNode('S');
    await removeDhcpServer(node, spec);
    expect(node.calls).toContain(`kill -KILL ${PID}`);
  });
});
