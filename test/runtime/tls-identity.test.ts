// TLS on the OpenFlow port, attacked from loopback with raw TLS sockets speaking OpenFlow (the codec's own encoder):
// - ssl: listener: a certificate that does not name the datapath id it claims is refused (OFPT_ERROR EPERM, close,
//   'rejected' with a PeerIdentityError) and never replaces the genuine switch's connection; expired, not yet valid,
//   foreign-CA and missing client certificates fail the TLS handshake;
// - ssl: connect targets: the switch's certificate must be for the host connected to (an IP target needs that IP in
//   its subjectAltName), with an error saying so; `verifyHostname: false` trusts the CA alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer, type Server, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFPBRC, OFPET } from '../../src/openflow/consts.js';
import { FrameSplitter } from '../../src/openflow/framing.js';
import { decodeMessage, encodeMessage } from '../../src/openflow/message.js';
import type { Message } from '../../src/openflow/types.js';
import { Connector } from '../../src/runtime/connector.js';
import { Controller } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import { PeerIdentityError } from '../../src/runtime/peer-identity.js';
import { hasOpenssl, opensslTime, TestPki } from '../helpers/pki.js';
import { waitFor } from '../helpers/wait.js';
import { waitForEvent } from './helpers.js';

const DP_A = 0x4d43_0000_0000_0a0an;
const DP_B = 0x4d43_0000_0000_0b0bn;
const NODES = new Map([
  [DP_A, 'mct-a'],
  [DP_B, 'mct-b'],
]);
const DAY = 86_400_000;

/** A switch played over a TLS socket: answers the handshake as datapath `dpid` and records what it gets. */
class TlsSwitch {
  readonly received: Message[] = [];
  readonly closed: Promise<void>;
  private readonly frames = new FrameSplitter();

  constructor(
    readonly socket: TLSSocket,
    dpid: bigint,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.frames.push(chunk)) {
        const m = decodeMessage(f);
        this.received.push(m);
        if (m.type === 'hello') this.send({ type: 'hello', xid: m.xid, version: 4, versions: [4] });
        else if (m.type === 'features_request') this.send({ type: 'features_reply', xid: m.xid, datapathId: dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0 });
        else if (m.type === 'port_desc_request') this.send({ type: 'port_desc_reply', xid: m.xid, flags: 0, ports: [] });
        else if (m.type === 'barrier_request') this.send({ type: 'barrier_reply', xid: m.xid });
        else if (m.type === 'echo_request') this.send({ type: 'echo_reply', xid: m.xid, data: m.data });
      }
    });
  }

  send(m: Message): void {
    if (!this.socket.destroyed) this.socket.write(encodeMessage(m));
  }
}

describe.skipIf(!hasOpenssl)('OpenFlow over TLS: who the switch is', () => {
  let dir: string;
  let pki: TestPki;
  const files = (name: string, ca = 'ca'): { key: Buffer; cert: Buffer; ca: Buffer } => {
    const t = pki.tls(name, ca);
    return { key: readFileSync(t.key), cert: readFileSync(t.cert), ca: readFileSync(t.ca) };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mct-tls-'));
    pki = new TestPki(dir);
    pki.makeCa('ca');
    pki.makeCa('rogue');
    pki.issue('ctl', { cn: 'controller', san: ['DNS:controller', 'IP:127.0.0.1'] });
    pki.issue('a', { cn: 'mct-a' });
    pki.issue('b', { cn: 'mct-b id:5f7e0c2a-0d6f-4b0e-9d0c-2b0f6f0e3a11', san: ['DNS:mct-b id:5f7e0c2a-0d6f-4b0e-9d0c-2b0f6f0e3a11'] });
    pki.issue('dpid-b', { cn: '4d43000000000b0b' });
    pki.issue('expired', { cn: 'mct-b', notBefore: opensslTime(-3 * DAY), notAfter: opensslTime(-DAY) });
    pki.issue('future', { cn: 'mct-b', notBefore: opensslTime(DAY), notAfter: opensslTime(3 * DAY) });
    pki.issue('foreign', { cn: 'mct-b', ca: 'rogue' });
    // Switches listening for the controller (pssl:): their server certificates.
    pki.issue('sw-ip', { cn: 'mct-b', san: ['DNS:mct-b', 'IP:127.0.0.1'] });
    pki.issue('sw-other-ip', { cn: 'mct-b', san: ['DNS:mct-b', 'IP:127.0.0.2'] });
    pki.issue('sw-no-san', { cn: '127.0.0.1' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('ssl: listener', () => {
    let ctl: Controller;
    let port: number;
    const open: TLSSocket[] = [];
    const logged: string[] = [];

    beforeAll(async () => {
      ctl = new Controller({
        listen: ['ssl:127.0.0.1:0'],
        tls: pki.tls('ctl'),
        identity: { nodeOf: (dpid) => NODES.get(dpid) },
        desiredState: () => ({ flows: [] }),
        connection: { helloTimeoutMs: 2000 },
        logger: pino({ level: 'warn' }, { write: (line: string) => void logged.push(line) }),
      });
      await ctl.start();
      port = Number(/:(\d+)$/.exec(ctl.addresses[0]!)![1]);
    });
    afterAll(async () => {
      for (const s of open) s.destroy();
      await ctl?.stop();
    });

    /** A TLS client with certificate `who` (or none, or one signed by `ca`) that plays datapath `dpid`. */
    const dial = (who: string | undefined, dpid: bigint, ca = 'ca'): TlsSwitch => {
      const creds = who === undefined ? {} : files(who, ca);
      const s = tlsConnect({ host: '127.0.0.1', port, ...creds, ca: files('ctl').ca, checkServerIdentity: () => undefined });
      open.push(s);
      return new TlsSwitch(s, dpid);
    };

    it('accepts a switch whose certificate names its node, or its datapath id (ovs-pki form too)', async () => {
      const connected = waitForEvent<[Datapath]>(ctl.datapaths, 'connected', (dp) => dp.dpid === DP_A);
      dial('a', DP_A);
      expect((await connected)[0].id).toBe('4d43000000000a0a');
      const b = waitForEvent<[Datapath]>(ctl.datapaths, 'connected', (dp) => dp.dpid === DP_B);
      dial('b', DP_B);
      await b;
      expect(ctl.datapaths.size).toBe(2);
    });

    it("refuses node A's valid certificate claiming node B's datapath id: OFPT_ERROR EPERM, closed, B untouched", async () => {
      const genuine = ctl.datapaths.get(DP_B)!;
      const rejected = waitForEvent<[string, Error]>(ctl.datapaths, 'rejected', (_p, e) => e instanceof PeerIdentityError);
      const sw = dial('a', DP_B);
      const [peer, err] = await rejected;
      expect(peer).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(err.message).toBe("switch claims datapath 4d43000000000b0b (node mct-b's) but its certificate names 'mct-a', not the datapath id or its node");
      await sw.closed;
      const error = sw.received.findIndex((m) => m.type === 'error');
      expect(sw.received[error]).toMatchObject({ type: 'error', errType: OFPET.BAD_REQUEST, code: OFPBRC.EPERM });
      // The refusal is the last word: no sync (flow stats request, bundle, flow mods) follows it.
      expect(sw.received.slice(error + 1)).toEqual([]);
      expect(ctl.datapaths.get(DP_B)).toBe(genuine);
      expect(genuine.connection.closed).toBe(false);
      await genuine.connection.barrier();
    });

    it('refuses a certificate naming an unknown node, and accepts one naming the datapath id itself', async () => {
      const rejected = waitForEvent<[string, Error]>(ctl.datapaths, 'rejected', (_p, e) => e instanceof PeerIdentityError);
      dial('a', 0x77n);
      expect((await rejected)[1].message).toMatch(/0000000000000077 \(which belongs to no node\)/);
      const replaced = waitForEvent<[Datapath]>(ctl.datapaths, 'connected', (dp) => dp.dpid === DP_B);
      dial('dpid-b', DP_B);
      await replaced;
    });

    it.each([
      ['an expired certificate', 'expired', 'ca', /refused: its certificate CN=mct-b \(valid .* to .*\) has expired$/],
      ['a certificate not valid yet', 'future', 'ca', /refused: its certificate CN=mct-b \(valid .*\) is not valid yet$/],
      ['a certificate from another CA', 'foreign', 'rogue', /refused: its certificate CN=mct-b \(valid .*\) does not chain to the CA in openflow.tls.ca$/],
      ['no certificate', undefined, 'ca', /refused: it presented no certificate$/],
    ])('refuses %s in the TLS handshake', async (_what, who, ca, why) => {
      logged.length = 0;
      const before = ctl.datapaths.list().map((d) => d.connection);
      const sw = dial(who, DP_B, ca);
      await sw.closed;
      // The TLS handshake failed: not one OpenFlow message (our HELLO included) reached the client.
      expect(sw.received).toEqual([]);
      const errs = await waitFor('the refusal in the log', () => logged.map((l) => JSON.parse(l) as { msg: string; err: string }), (l) => l.length > 0, 5000, 20);
      expect(errs).toEqual([{ ...errs[0], msg: 'OpenFlow transport error', err: expect.stringMatching(why) }]);
      expect(errs[0]!.err).toMatch(/^TLS client 127\.0\.0\.1:\d+ refused: /);
      expect(ctl.datapaths.list().map((d) => d.connection)).toEqual(before);
    });
  });

  it("won't start an ssl: listener with an expired certificate of its own, or another certificate's key", async () => {
    pki.issue('ctl-old', { cn: 'controller', notBefore: opensslTime(-3 * DAY), notAfter: opensslTime(-DAY) });
    const start = (tls: { key: string; cert: string; ca: string }): Promise<void> => new Controller({ listen: ['ssl:127.0.0.1:0'], tls, desiredState: () => ({ flows: [] }) }).start();
    await expect(start(pki.tls('ctl-old'))).rejects.toThrow(/^TLS certificate .*ctl-old-cert\.pem expired on .*: switches would refuse it$/);
    await expect(start({ ...pki.tls('ctl'), key: pki.tls('a').key })).rejects.toThrow(/^TLS key .*a-key\.pem is not the key of .*ctl-cert\.pem$/);
    await expect(start({ ...pki.tls('ctl'), ca: pki.tls('ctl').key })).rejects.toThrow(/^TLS CA certificate .*ctl-key\.pem is not a PEM certificate/);
  });

  describe('static mode: minicloud controller --flows with --tls-*', () => {
    let child: ChildProcess | undefined;
    let port: number;
    const open: TLSSocket[] = [];

    beforeAll(async () => {
      const flowFile = join(dir, 'static.flows');
      writeFileSync(flowFile, 'table=0,priority=1,actions=drop\n');
      const t = pki.tls('ctl');
      const main = join(import.meta.dirname, '../../src/cli/main.ts');
      const args = ['--import', 'tsx', main, 'controller', '--listen', 'ssl:127.0.0.1:0', '--tls-key', t.key, '--tls-cert', t.cert, '--tls-ca', t.ca, '--flows', flowFile];
      child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the controller did not start within 30 s')), 30_000);
        let out = '';
        child!.once('exit', (code) => reject(new Error(`the controller exited with ${code}: ${out}`)));
        child!.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const listen = /"listen":\["ssl:127\.0\.0\.1:(\d+)"\]/.exec(out);
          if (!listen) return;
          clearTimeout(timer);
          resolve(Number(listen[1]));
        });
      });
    });
    afterAll(() => {
      for (const s of open) s.destroy();
      child?.kill('SIGTERM');
    });

    const dial = (who: string, dpid: bigint): TlsSwitch => {
      const s = tlsConnect({ host: '127.0.0.1', port, ...files(who), checkServerIdentity: () => undefined });
      open.push(s);
      return new TlsSwitch(s, dpid);
    };

    it('refuses a certificate naming a node (there are none), accepts one naming the datapath id', async () => {
      const byName = dial('a', DP_A);
      await byName.closed;
      expect(byName.received.at(-1)).toMatchObject({ type: 'error', errType: OFPET.BAD_REQUEST, code: OFPBRC.EPERM });
      const byDpid = dial('dpid-b', DP_B);
      // Accepted: the sync starts by reading the switch's flow table.
      await waitFor('the sync to start', () => byDpid.received.some((m) => m.type === 'flow_stats_request'), (ok) => ok, 15_000, 20);
      expect(byDpid.received.some((m) => m.type === 'error')).toBe(false);
    });
  });

  describe('ssl: connect targets', () => {
    const servers: Server[] = [];
    const connectors: Connector[] = [];
    afterAll(async () => {
      for (const c of connectors) c.stop();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    });

    /** A switch listening with `pssl:` on 127.0.0.1 presenting `who`; resolves with its port. */
    const switchListening = async (who: string): Promise<number> => {
      const server = createServer({ ...files(who), requestCert: true, rejectUnauthorized: true }, (s) => new TlsSwitch(s, DP_B));
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as { port: number }).port;
    };

    /** Connects to `target` until the first socket or the first error. */
    const attempt = (target: string, verifyHostname?: boolean): Promise<{ ok: true } | { ok: false; error: Error }> =>
      new Promise((resolve) => {
        const c = new Connector(target, (s) => (resolve({ ok: true }), s.destroy()), { tls: pki.tls('ctl'), ...(verifyHostname !== undefined && { verifyHostname }), minBackoffMs: 5000, onError: (error) => resolve({ ok: false, error }) });
        connectors.push(c);
        c.start();
      }).finally(() => connectors.at(-1)!.stop()) as Promise<{ ok: true } | { ok: false; error: Error }>;

    it('connects when the IP connected to is in the certificate', async () => {
      expect(await attempt(`ssl:127.0.0.1:${await switchListening('sw-ip')}`)).toEqual({ ok: true });
    });

    it('refuses a certificate for another address, saying which', async () => {
      const port = await switchListening('sw-other-ip');
      const r = await attempt(`ssl:127.0.0.1:${port}`);
      expect(r.ok).toBe(false);
      expect((r as { error: Error }).error.message).toBe(
        `ssl:127.0.0.1:${port}: the switch's certificate is not for 127.0.0.1 (it is for DNS:mct-b, IP Address:127.0.0.2): Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: 127.0.0.2`,
      );
      // The CA alone, as OVS trusts it, when asked.
      expect(await attempt(`ssl:127.0.0.1:${port}`, false)).toEqual({ ok: true });
    });

    it('an IP target is never matched by a CN', async () => {
      const r = await attempt(`ssl:127.0.0.1:${await switchListening('sw-no-san')}`);
      expect(r.ok).toBe(false);
      expect((r as { error: Error }).error.message).toMatch(/the switch's certificate is not for 127\.0\.0\.1 \(it has no subjectAltName\)/);
    });

    it('refuses a switch whose certificate is expired or from another CA', async () => {
      for (const who of ['expired', 'foreign']) {
        const r = await attempt(`ssl:127.0.0.1:${await switchListening(who)}`, false);
        expect(r.ok, who).toBe(false);
        expect((r as { error: Error }).error.message, who).toMatch(/certificate has expired|unable to verify the first certificate/);
      }
    });
  });
});
