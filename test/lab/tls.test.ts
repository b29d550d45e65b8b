// OpenFlow over TLS end to end, the way docs/operations.md tells an operator to set it up: certificates made with
// OVS's own `ovs-pki` (controller CA and switch CA, per-node switch certificates whose CN is `<node> id:<uuid>`), the
// real composition root (src/daemon/server.ts: SQLite store, the production node <-> datapath id mapping) with an
// `ssl:` listener and `openflow.tls` (requireNodeIdentity on by default), and two lab nodes (an OVS instance per
// namespace, `ovs-vsctl set-ssl`, `set-controller br0 ssl:...`).
//
// What it proves: node mct-a connects over TLS with its own certificate and gets exactly its pipeline; node mct-b's
// switch presenting mct-a's certificate (valid, same CA) while claiming its own datapath id is refused (logged with
// its address, counted as minicloud_errors_total{type="identity"}) and gets no flows at all; given its own
// certificate, it connects and gets its pipeline.
//
// A node's 127.0.0.1 is its own (../shared/design/lab.md), so each node reaches the controller's loopback TLS port
// through a byte relay: a small node process in the node's namespace listens on its 127.0.0.1:6653 and forwards to
// a unix socket, which this process forwards to the controller's port. TLS runs end to end between OVS and the
// controller; the relay sees only ciphertext. Nothing is added to the machine's own namespace.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/daemon/config.js';
import { dpidTextForNode } from '../../src/daemon/node-pipelines.js';
import { startServer, type Server } from '../../src/daemon/server.js';
import { callApi } from '../../src/lab/cloud.js';
import { cleanupLab } from '../../src/lab/lab.js';
import { OvsInstance } from '../../src/lab/ovs.js';
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import { PeerIdentityError } from '../../src/runtime/peer-identity.js';
import { canonicalFlows, dumpFlows } from '../daemon/lab.js';
import { waitFor } from '../helpers/wait.js';

const PREFIX = 'mct';
const NODES = [
  { name: 'mct-a', roles: ['compute'], underlayIp: '10.0.0.11', cpus: 4, memoryMiB: 4096 },
  { name: 'mct-b', roles: ['compute'], underlayIp: '10.0.0.12', cpus: 4, memoryMiB: 4096 },
] as const;
const RELAY_PORT = 6653;
const execFileAsync = promisify(execFile);
const hasOvsPki = spawnSync('ovs-pki', ['--version']).status === 0;

/** Inside a node's namespace: 127.0.0.1:PORT -> the unix socket UNIX (argv), bytes both ways. */
const RELAY = `
const net = require('node:net');
const [port, path] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(path);
  const end = () => { c.destroy(); u.destroy(); };
  c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
  c.pipe(u); u.pipe(c);
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

describe.skipIf(!hasOvsPki)('OpenFlow over TLS with per-node certificates (ovs-pki, real OVS, real server)', () => {
  let dir: string;
  let server: Server | undefined;
  const nodes = new Map<string, OvsInstance>();
  const relays: ChildProcess[] = [];
  const forwarders: NetServer[] = [];
  const piped = new Set<Socket>();
  const logged: string[] = [];
  /** ovs-pki writes NAME-privkey.pem, NAME-cert.pem into its working directory. */
  const pki = async (...args: string[]): Promise<void> => void (await execFileAsync('ovs-pki', [`--dir=${join(dir, 'pki')}`, '--log=' + join(dir, 'pki.log'), ...args], { cwd: dir, timeout: 60_000 }));

  /** A unix socket at `path` forwarding every connection to 127.0.0.1:`port` (the controller's TLS port). */
  const forward = (path: string, port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer((c) => {
        const t = connect(port, '127.0.0.1');
        for (const x of [c, t]) {
          piped.add(x);
          x.on('error', () => undefined);
          x.on('close', () => (piped.delete(x), c.destroy(), t.destroy()));
        }
        c.pipe(t).pipe(c);
      });
      forwarders.push(s);
      s.once('error', reject);
      s.listen(path, () => resolve());
    });

  /** The relay process in the node's namespace; resolves once it listens. */
  const relay = (netns: string, path: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const p = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', RELAY, String(RELAY_PORT), path], { stdio: ['ignore', 'pipe', 'inherit'] });
      relays.push(p);
      const timer = setTimeout(() => reject(new Error(`relay in ${netns} did not start`)), 10_000);
      p.once('exit', (code) => reject(new Error(`relay in ${netns} exited with ${code}`)));
      p.stdout!.once('data', () => (clearTimeout(timer), resolve()));
    });

  /** Our flows on the node's br0 and the compiled pipeline for it, both as the node's OVS prints them. */
  const compare = async (node: string): Promise<{ installed: string[]; expected: string[] }> => {
    const ovs = nodes.get(node)!;
    const dp = server!.network.datapathOf(node);
    const installed = await dumpFlows(ovs, 'br0');
    if (!dp) return { installed, expected: ['(not connected)'] };
    return { installed, expected: await canonicalFlows(ovs, server!.network.compile(node, dp).map(formatFlow)) };
  };
  const same = (r: { installed: string[]; expected: string[] }): boolean => r.expected.length > 0 && JSON.stringify(r.installed) === JSON.stringify(r.expected);

  /** `ovs-vsctl set-ssl` with `who`'s key and certificate (as made by `ovs-pki req+sign WHO switch`). */
  const setSsl = (node: string, who: string): Promise<string> =>
    nodes.get(node)!.vsctl('set-ssl', join(dir, `${who}-privkey.pem`), join(dir, `${who}-cert.pem`), join(dir, 'pki/controllerca/cacert.pem'));

  beforeAll(async () => {
    await cleanupLab(PREFIX);
    dir = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
    // The documented recipe: one PKI, the controller's certificate from its controller CA, one per node from its
    // switch CA. `ovs-pki req+sign NAME switch` makes CN "NAME id:<uuid>".
    await pki('init');
    await pki('req+sign', 'ctl', 'controller');
    for (const n of NODES) await pki('req+sign', n.name, 'switch');

    const config = resolveConfig({
      openflow: {
        listen: ['ssl:127.0.0.1:0'],
        tls: { key: join(dir, 'ctl-privkey.pem'), cert: join(dir, 'ctl-cert.pem'), ca: join(dir, 'pki/switchca/cacert.pem') },
        echoIntervalSeconds: 1,
      },
      api: { host: '127.0.0.1', port: 0, auth: true },
      store: { path: join(dir, 'cloud.db') },
      stats: { intervalSeconds: 60 },
      log: { level: 'warn' },
    });
    expect(config.openflow.tls?.requireNodeIdentity).toBe(true);
    server = await startServer(config, { logger: pino({ level: 'warn' }, { write: (l: string) => void logged.push(l) }), processMetrics: false, onNewToken: () => undefined });
    for (const n of NODES) {
      const res = await callApi(server, 'POST', '/api/v1/nodes', n);
      expect(res.status, JSON.stringify(res.json)).toBe(201);
    }
    const port = Number(/:(\d+)$/.exec(server.openflow[0]!)![1]);

    for (const n of NODES) {
      const ovs = await OvsInstance.start({ name: n.name, baseDir: join(dir, 'lab') });
      nodes.set(n.name, ovs);
      await ovs.addBridge('br0', { protocols: ['OpenFlow13'], datapathId: dpidTextForNode(n.name) });
      const path = join(dir, `relay-${n.name}.sock`);
      await forward(path, port);
      await relay(n.name, path);
    }
  });

  afterAll(async () => {
    for (const p of relays) p.kill('SIGTERM');
    for (const s of piped) s.destroy();
    await server?.stop();
    await Promise.all(forwarders.map((s) => new Promise((r) => s.close(r))));
    await Promise.all([...nodes.values()].map((o) => o.stop()));
    await cleanupLab(PREFIX);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a node with its own certificate connects over TLS and gets exactly its pipeline", async () => {
    await setSsl('mct-a', 'mct-a');
    const a = nodes.get('mct-a')!;
    await a.vsctl('set-controller', 'br0', `ssl:127.0.0.1:${RELAY_PORT}`, '--', 'set', 'controller', 'br0', 'max_backoff=1000');
    const r = await waitFor("mct-a's flows to equal its pipeline", () => compare('mct-a'), same, 30_000, 250);
    expect(r.installed).toEqual(r.expected);
    expect(r.installed.length).toBeGreaterThan(0);
    // OVS writes the Controller row's status a little after the connection comes up.
    const connected = () => a.vsctl('--bare', '--columns=is_connected', 'find', 'controller', 'target="ssl:127.0.0.1:6653"');
    expect(await waitFor('OVS to record the controller as connected', connected, (v) => /true/.test(v), 15_000, 250)).toMatch(/true/);
  });

  it("a switch presenting another node's valid certificate is refused and gets no flows; its own certificate works", async () => {
    const b = nodes.get('mct-b')!;
    const refusals: [string, Error][] = [];
    const onRejected = (peer: string, err: Error): void => void (err instanceof PeerIdentityError && refusals.push([peer, err]));
    server!.controller.datapaths.on('rejected', onRejected);
    await setSsl('mct-b', 'mct-a');
    await b.vsctl('set-controller', 'br0', `ssl:127.0.0.1:${RELAY_PORT}`, '--', 'set', 'controller', 'br0', 'max_backoff=1000');
    // OVS retries (max_backoff 1 s); every attempt is refused.
    await waitFor('two refusals of mct-b', () => refusals.length, (n) => n >= 2, 30_000, 100);
    server!.controller.datapaths.off('rejected', onRejected);
    const [peer, err] = refusals[0]!;
    expect(err.message).toMatch(new RegExp(`^switch claims datapath ${dpidTextForNode('mct-b')} \\(node mct-b's\\) but its certificate names 'mct-a id:[0-9a-f-]+'`));
    expect(peer).toMatch(/^127\.0\.0\.1:\d+$/);
    const line = logged.map((l) => JSON.parse(l) as Record<string, string>).find((l) => l['msg'] === 'OpenFlow connection rejected' && l['err']?.includes('mct-b'));
    expect(line).toMatchObject({ peer, component: 'openflow' });
    const metrics = await server!.metrics.render();
    expect(Number(/^minicloud_errors_total\{type="identity"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);

    expect(server!.network.datapathOf('mct-b')).toBeUndefined();
    expect(await dumpFlows(b, 'br0')).toEqual([]);
    // The switch's side: OVS got our OFPT_ERROR (it answers any error from a controller with BAD_TYPE), then the close.
    const ovsLog = (await readFile(join(b.dir, 'vswitchd.log'), 'utf8')).split('\n');
    const got = ovsLog.findIndex((l) => l.includes('br0<->ssl:127.0.0.1:6653: sending OFPBRC_BAD_TYPE error reply to OFPT_ERROR message'));
    expect(got).toBeGreaterThan(-1);
    expect(ovsLog[got + 1]).toMatch(/br0<->ssl:127\.0\.0\.1:6653: connection closed by peer/);
    expect(server!.network.datapathOf('mct-a')).toBeDefined();

    await setSsl('mct-b', 'mct-b');
    const r = await waitFor("mct-b's flows to equal its pipeline once it has its own certificate", () => compare('mct-b'), same, 30_000, 250);
    expect(r.installed).toEqual(r.expected);
  });
});
