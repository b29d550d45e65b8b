// The etcd store over TLS against a real etcd started with TLS (client certificates required; peers over TLS too),
// with a throwaway PKI made by openssl in the test's temporary directory: the right files work; a wrong CA, a missing
// client certificate or one from another CA fail at once, each with an error that says which file is wrong.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/daemon/config.js';
import { openConfiguredStore } from '../../src/daemon/store.js';
import { StoreUnavailableError } from '../../src/topology/store.js';
import { startEtcdCluster, type EtcdCluster } from '../../src/lab/etcd.js';
import { hasOpenssl, TestPki } from '../helpers/pki.js';

let cluster: EtcdCluster | undefined;
let dir: string;
let pki: TestPki;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcst-tls-'));
  pki = new TestPki(dir);
  pki.makeCa('ca');
  pki.makeCa('other');
  pki.issue('etcd', { cn: 'etcd', san: ['IP:127.0.0.1', 'DNS:localhost'] });
  pki.issue('controller', { cn: 'minicloud-controller' });
  pki.issue('stranger', { cn: 'minicloud-controller', ca: 'other' });
  const server = pki.tls('etcd');
  cluster = await startEtcdCluster({ size: 3, tls: { ...server, clientCertAuth: true, client: pki.tls('controller') } });
}, 90_000);

afterAll(async () => {
  await cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const config = (tls: { ca: string; cert?: string; key?: string }, prefix = '/mcst-tls/'): Config['store'] => ({
  backend: 'etcd',
  path: '',
  etcd: { endpoints: cluster!.endpoints, prefix, requestTimeoutMs: 3000, leaseTtlSeconds: 5, tls },
});

describe.runIf(hasOpenssl)('etcd store over TLS', () => {
  it('with the CA and a client certificate etcd trusts: writes, reads, a second instance sees them', async () => {
    expect(cluster!.endpoints.every((e) => e.startsWith('https://'))).toBe(true);
    const { store, where } = await openConfiguredStore(config(pki.tls('controller')));
    try {
      expect(where).toMatch(/^etcd https:/);
      await store.write((w) => w.insertSubnet({ name: 'a', cidr: '10.1.0.0/24', gatewayIp: '10.1.0.1', vni: 3, createdAt: 't' }));
      const { store: other } = await openConfiguredStore(config(pki.tls('controller')));
      try {
        expect(other.read((r) => r.getSubnet({ name: 'a' })?.vni)).toBe(3);
      } finally {
        other.close();
      }
    } finally {
      store.close();
    }
  });

  const refused = async (tls: { ca: string; cert?: string; key?: string }): Promise<StoreUnavailableError> => {
    const started = Date.now();
    const e = await openConfiguredStore(config(tls)).then(
      ({ store }) => (store.close(), new Error('opened')),
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(StoreUnavailableError);
    // Bounded: the dial timeout, then one probe per endpoint (both the request timeout at most).
    expect(Date.now() - started).toBeLessThan(3000 * (1 + cluster!.endpoints.length) + 5000);
    return e as StoreUnavailableError;
  };

  it('a CA that did not sign etcd\'s certificate: says etcd is not trusted and names store.etcd.tls.ca', async () => {
    const { cert, key } = pki.tls('controller');
    const e = await refused({ ca: join(dir, 'other-cert.pem'), cert, key });
    expect(e.message).toMatch(/etcd's certificate at 127\.0\.0\.1:\d+ is not trusted: .*store\.etcd\.tls\.ca/);
  });

  it('no client certificate where etcd requires one: says to set store.etcd.tls.cert and key', async () => {
    const e = await refused({ ca: join(dir, 'ca-cert.pem') });
    expect(e.message).toMatch(/refused this client's certificate .*set store\.etcd\.tls\.cert and store\.etcd\.tls\.key/);
  });

  it('a client certificate from another CA: says it is not signed by the CA etcd trusts', async () => {
    const e = await refused({ ...pki.tls('stranger'), ca: join(dir, 'ca-cert.pem') });
    expect(e.message).toMatch(/refused this client's certificate .*not signed by the CA etcd trusts/);
  });
});
