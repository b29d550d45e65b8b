// ssl: listener with mutual TLS: OVS (`ovs-vsctl set-ssl`) connects with certificates made by openssl here.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsInstance, stopAllOvs } from '../../src/lab/ovs.js';
import { Controller } from '../../src/runtime/controller.js';
import type { Datapath } from '../../src/runtime/datapaths.js';
import type { SyncStats } from '../../src/runtime/sync.js';
import { flows, flowSummaries, rootLinksNamedLike, testLogger, waitForEvent } from './helpers.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** A CA and two certificates it signed (controller, switch), in `dir`. */
function makePki(dir: string): void {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca-cert.pem', '-days', '2', '-subj', '/CN=minicloud-test-ca');
  for (const who of ['ctl', 'sw']) {
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${who}-key.pem`, '-out', `${who}-req.pem`, '-subj', `/CN=${who}`);
    ssl('x509', '-req', '-in', `${who}-req.pem`, '-CA', 'ca-cert.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${who}-cert.pem`, '-days', '2');
  }
}

describe.skipIf(!hasOpenssl)('ssl listener', () => {
  let dir: string;
  let ovs: OvsInstance;
  let ctl: Controller;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mc-rt-pki-'));
    makePki(dir);
  });

  afterAll(async () => {
    await ctl?.stop();
    await ovs?.stop();
    await stopAllOvs();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts OVS over mutual TLS and syncs it; a client without a certificate is refused', async () => {
    ctl = new Controller({
      listen: ['ssl:127.0.0.1:0'],
      tls: { key: join(dir, 'ctl-key.pem'), cert: join(dir, 'ctl-cert.pem'), ca: join(dir, 'ca-cert.pem') },
      desiredState: () => ({ flows: flows('table=0,priority=3,ip,actions=drop') }),
      logger: testLogger(),
    });
    await ctl.start();
    const port = Number(/:(\d+)$/.exec(ctl.addresses[0]!)![1]);
    // OVS runs in the root namespace here so that it reaches our 127.0.0.1 (loopback only); the dummy datapath
    // keeps it from creating any kernel device there.
    ovs = await OvsInstance.start({ name: 'rt-ssl', netns: false, enableDummy: true });
    await ovs.addBridge('brssl', { datapathType: 'dummy', protocols: ['OpenFlow13'], datapathId: '00000000000055a1' });
    await ovs.vsctl('set-ssl', join(dir, 'sw-key.pem'), join(dir, 'sw-cert.pem'), join(dir, 'ca-cert.pem'));
    const synced = waitForEvent<[Datapath, SyncStats]>(ctl, 'synced', () => true, 15_000);
    await ovs.vsctl('set-controller', 'brssl', `ssl:127.0.0.1:${port}`);
    const [dp, stats] = await synced;
    expect(dp.id).toBe('00000000000055a1');
    expect(stats.added).toBe(1);
    expect(await flowSummaries(ovs, 'brssl')).toEqual(['table=0, priority=3,ip actions=drop']);

    const refused = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: [], rejectUnauthorized: false });
      s.on('error', (e) => resolve(`error: ${e.message}`));
      s.on('close', () => resolve('closed'));
      s.on('data', () => undefined);
    });
    expect(refused).toMatch(/error|closed/);
    expect(ctl.datapaths.size).toBe(1);
    expect(await rootLinksNamedLike(ovs)).toEqual([]);
  });
});
