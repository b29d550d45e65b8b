// Handshake, version negotiation, port learning and transports against real ovs-vswitchd instances.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsInstance, stopAllOvs } from '../../src/lab/ovs.js';
import { OFPCR_ROLE, OFPET, OFPHFC } from '../../src/openflow/consts.js';
import { Connector } from '../../src/runtime/connector.js';
import type { Datapath} from '../../src/runtime/datapaths.js';
import { DatapathRegistry } from '../../src/runtime/datapaths.js';
import { HandshakeError } from '../../src/runtime/errors.js';
import { Listener } from '../../src/runtime/listener.js';
import { until } from '../helpers/wait.js';
import { bridgeDpid, cleanupSocket, rootLinksNamedLike, socketPath, startNode, testLogger, waitForEvent } from './helpers.js';

describe('OpenFlow handshake with real OVS', () => {
  let ovs: OvsInstance;
  let listener: Listener;
  let registry: DatapathRegistry;
  const sock = socketPath('hs');
  const rejected: { peer: string; error: Error }[] = [];

  beforeAll(async () => {
    registry = new DatapathRegistry({ logger: testLogger(), connection: { helloTimeoutMs: 2000 } });
    registry.on('rejected', (peer, error) => rejected.push({ peer, error }));
    listener = await Listener.open(`unix:${sock}`, (s) => void registry.adopt(s));
    ovs = await startNode('rt-hs', {
      brdef: { datapathId: '00000000000000d1' },
      br13: { protocols: ['OpenFlow13'], datapathId: '00000000000000d2' },
      br10: { protocols: ['OpenFlow10'], datapathId: '00000000000000d3' },
    });
  });

  afterAll(async () => {
    registry?.closeAll();
    await listener?.close();
    await ovs?.stop();
    await stopAllOvs();
    cleanupSocket(sock);
  });

  it('negotiates 1.3 with a bridge offering OVS defaults (up to 1.5) and with protocols=OpenFlow13', async () => {
    const connected = new Map<bigint, Datapath>();
    registry.on('connected', (dp) => connected.set(dp.dpid, dp));
    await ovs.setUnixController('brdef', sock);
    await ovs.setUnixController('br13', sock);
    await until(() => connected.has(0xd1n) && connected.has(0xd2n), 10_000, 'both bridges connected');
    expect(registry.get(0xd1n)?.id).toBe('00000000000000d1');
    expect(await bridgeDpid(ovs, 'br13')).toBe(0xd2n);
    // The LOCAL port is learnt by its name (the bridge's own), never assumed.
    expect(registry.get(0xd2n)!.port('br13')?.portNo).toBe(0xfffffffe);
  });

  it('refuses a bridge limited to OpenFlow 1.0 with HELLO_FAILED/INCOMPATIBLE', async () => {
    await ovs.setUnixController('br10', sock);
    const r = await until(() => rejected.find((x) => x.error instanceof HandshakeError && x.error.ofpType === OFPET.HELLO_FAILED), 10_000, 'rejection');
    expect((r.error as HandshakeError).ofpCode).toBe(OFPHFC.INCOMPATIBLE);
    expect(r.error.message).toMatch(/version negotiation failed/);
    expect(registry.get(0xd3n)).toBeUndefined();
    // OVS saw the refusal too.
    const log = await until(async () => {
      const text = await readFile(join(ovs.dir, 'vswitchd.log'), 'utf8');
      return /br10.*(version negotiation failed|HELLO_FAILED|OFPHFC_INCOMPATIBLE)/.test(text) ? text : undefined;
    }, 5000, 'vswitchd.log mentions the failed negotiation');
    expect(log).toBeTruthy();
  });

  it('learns ports by interface name and follows PORT_STATUS add / delete', async () => {
    const dp = registry.get(0xd2n)!;
    const added = waitForEvent<[Datapath, { name: string; portNo: number }]>(registry, 'portAdded', (_dp, p) => p.name === 'vif1');
    await ovs.vsctl('add-port', 'br13', 'vif1', '--', 'set', 'interface', 'vif1', 'type=internal', 'ofport_request=7');
    const [, port] = await added;
    expect(port.portNo).toBe(7);
    expect(dp.portNo('vif1')).toBe(Number((await ovs.vsctl('get', 'interface', 'vif1', 'ofport')).trim()));
    const removed = waitForEvent<[Datapath, { name: string }]>(registry, 'portRemoved', (_dp, p) => p.name === 'vif1');
    await ovs.vsctl('del-port', 'br13', 'vif1');
    await removed;
    expect(dp.port('vif1')).toBeUndefined();
    expect(() => dp.portNo('vif1')).toThrow(/no port named 'vif1'/);
  });

  it('answers requests by xid: barrier, echo, role, multipart port description', async () => {
    const conn = registry.get(0xd1n)!.connection;
    await conn.barrier();
    await conn.echo(new Uint8Array([1, 2, 3]));
    const role = await conn.requestRole(OFPCR_ROLE.EQUAL);
    expect(role.role).toBe(OFPCR_ROLE.EQUAL);
    const ports = await conn.portDesc();
    expect(ports.map((p) => p.name)).toContain('brdef');
  });

  it('connects actively to a bridge management socket (unix:br0.mgmt)', async () => {
    const active = new DatapathRegistry({ logger: testLogger() });
    const connected = waitForEvent<[Datapath]>(active, 'connected');
    const c = new Connector(`unix:${ovs.mgmtSocket('br13')}`, (s) => void active.adopt(s));
    c.start();
    try {
      const [dp] = await connected;
      expect(dp.dpid).toBe(0xd2n);
      // The connector reconnects when the connection drops.
      const again = waitForEvent<[Datapath]>(active, 'connected');
      dp.connection.close('test drop');
      const [dp2] = await again;
      expect(dp2).not.toBe(dp);
      expect(active.get(0xd2n)).toBe(dp2);
    } finally {
      c.stop();
      active.closeAll();
    }
  });

  it('refuses a second connection claiming a live datapath id; the live one keeps its entry, and takes over once it is gone', async () => {
    const old = registry.get(0xd1n)!;
    const disconnected: Datapath[] = [];
    registry.on('disconnected', (dp) => disconnected.push(dp));
    const refused = waitForEvent<[string, string, string]>(registry, 'refused');
    // A second connection with the same datapath id (OVS's management socket) while the first answers echoes.
    let second: Promise<Datapath | undefined> | undefined;
    const c = new Connector(`unix:${ovs.mgmtSocket('brdef')}`, (s) => void (second ??= registry.adopt(s)));
    c.start();
    try {
      const [, reason] = await refused;
      expect(reason).toBe('dpid_in_use');
      expect(await second).toBeUndefined();
      expect(registry.get(0xd1n)).toBe(old);
      expect(old.connection.closed).toBe(false);
      await old.connection.barrier();
    } finally {
      c.stop();
    }
    // Once the old connection is gone, a new one is admitted at once (as after a vswitchd restart) and closing the
    // replaced connection later says nothing about the new one.
    const reconnected = waitForEvent<[Datapath]>(registry, 'connected', (dp) => dp.dpid === 0xd1n);
    old.connection.close('test: switch went away');
    const c2 = new Connector(`unix:${ovs.mgmtSocket('brdef')}`, (s) => void registry.adopt(s));
    c2.start();
    try {
      const [dp] = await reconnected;
      expect(dp).not.toBe(old);
      expect(registry.get(0xd1n)).toBe(dp);
      expect(disconnected).toEqual([old]);
    } finally {
      c2.stop();
    }
  });
});

describe('tcp listener', () => {
  let ovs: OvsInstance;
  let listener: Listener;
  const registry = new DatapathRegistry({ logger: testLogger() });

  afterAll(async () => {
    registry.closeAll();
    await listener?.close();
    await ovs?.stop();
  });

  it('accepts OVS on tcp:127.0.0.1 (OVS in the root namespace with the dummy datapath: no kernel devices)', async () => {
    listener = await Listener.open('tcp:127.0.0.1:0', (s) => void registry.adopt(s));
    // OVS has to share our loopback, so it runs in the root namespace, where it must not add anything: the dummy
    // datapath creates no tap or other kernel device.
    ovs = await OvsInstance.start({ name: 'rt-tcp', netns: false, enableDummy: true });
    await ovs.addBridge('brtcp', { datapathType: 'dummy', datapathId: '00000000000000e1', protocols: ['OpenFlow13'] });
    const connected = waitForEvent<[Datapath]>(registry, 'connected');
    await ovs.vsctl('set-controller', 'brtcp', `tcp:127.0.0.1:${listener.port}`);
    const [dp] = await connected;
    expect(dp.id).toBe('00000000000000e1');
    expect(dp.connection.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await rootLinksNamedLike(ovs)).toEqual([]);
  });
});
