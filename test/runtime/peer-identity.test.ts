// A switch's certificate against the datapath id it claims (src/runtime/peer-identity.ts): the accepted name forms,
// Node's subjectAltName text, real certificates made by openssl, and generated names that must never be accepted.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateNames, checkPeerIdentity, dnsAltNames, parseSubjectName, PeerIdentityError, type CertificateNames } from '../../src/runtime/peer-identity.js';
import { hasOpenssl, TestPki } from '../helpers/pki.js';

const DP_A = 0x4d43_0000_0000_000an;
const DP_B = 0x4d43_0000_0000_000bn;
const nodes = new Map([
  [DP_A, 'compute-a'],
  [DP_B, 'compute-b'],
]);
const policy = { nodeOf: (dpid: bigint) => nodes.get(dpid) };
/** As Node writes a subjectAltName value: quoted when it holds a comma, a quote, a backslash or a control character. */
const needsQuoting = (v: string): boolean => [...v].some((c) => c === ',' || c === '"' || c === '\\' || c.charCodeAt(0) < 0x20);
const cert = (cn?: string | string[], san?: string): CertificateNames => ({ ...(cn !== undefined && { subject: { CN: cn } as never }), ...(san !== undefined && { subjectaltname: san }) });

describe('parseSubjectName', () => {
  it.each([
    ['compute-a', { kind: 'node', node: 'compute-a' }],
    ['4d4300000000000a', { kind: 'dpid', dpid: DP_A }],
    ['4D4300000000000A', { kind: 'dpid', dpid: DP_A }],
    ['compute-a id:c5126677-ef78-4c59-b55f-f0fae49accc4', { kind: 'node', node: 'compute-a' }],
    ['compute-a id:2026 Dec 07 08:15:52', { kind: 'node', node: 'compute-a' }],
    ['4d4300000000000a id:c5126677', { kind: 'dpid', dpid: DP_A }],
    // Not 16 hex digits: a node name (which no node has), never a datapath id.
    ['4d430000000000a', { kind: 'node', node: '4d430000000000a' }],
    ['0x4d4300000000000a', { kind: 'node', node: '0x4d4300000000000a' }],
    ['4d:43:00:00:00:00:00:0a', { kind: 'node', node: '4d:43:00:00:00:00:00:0a' }],
    ['', undefined],
    [' id:x', undefined],
  ])('%j', (name, want) => {
    expect(parseSubjectName(name)).toEqual(want);
  });
});

describe('dnsAltNames', () => {
  it.each([
    ['DNS:a, DNS:b', ['a', 'b']],
    ['IP Address:127.0.0.1, DNS:a, URI:spiffe://x/compute-b, email:x@y', ['a']],
    // Node writes values holding a comma (or a quote) as JSON strings: 'DNS:a, DNS:compute-b' inside one value
    // must not become two names.
    ['DNS:"a\\u002c DNS:compute-b"', ['a, DNS:compute-b']],
    ['DNS:"q\\"uote", DNS:b', ['q"uote', 'b']],
    ['DNS:compute-a id:c5126677', ['compute-a id:c5126677']],
    ['', []],
    ['garbage', []],
    ['DNS:', []],
    ['DNS:"unterminated', []],
  ])('%j', (text, want) => {
    expect(dnsAltNames(text)).toEqual(want);
  });

  it('reads at most 64 names', () => {
    expect(dnsAltNames(Array.from({ length: 1000 }, (_, i) => `DNS:n${i}`).join(', '))).toHaveLength(64);
  });
});

describe('checkPeerIdentity', () => {
  it.each([
    ['node name in the CN', cert('compute-a')],
    ['node name in a DNS SAN', cert('someone', 'DNS:compute-a')],
    ['datapath id in the CN', cert('4d4300000000000a')],
    ['datapath id in a DNS SAN', cert(undefined, 'DNS:4d4300000000000a')],
    ['ovs-pki req default', cert('compute-a id:c5126677-ef78-4c59-b55f-f0fae49accc4', 'DNS:compute-a id:c5126677-ef78-4c59-b55f-f0fae49accc4')],
    ['several CNs, one right', cert(['x', 'compute-a'])],
  ])('accepts %s', (_what, c) => {
    expect(checkPeerIdentity(c, DP_A, policy)).toBeUndefined();
  });

  it.each([
    ['another node name', cert('compute-b'), /claims datapath 4d4300000000000a \(node compute-a's\) but its certificate names 'compute-b'/],
    ['another datapath id', cert('4d4300000000000b'), /names '4d4300000000000b'/],
    ['ovs-pki form of another node', cert('compute-b id:1'), /names 'compute-b id:1'/],
    ['an IP SAN only', cert(undefined, 'IP Address:127.0.0.1'), /names nothing/],
    ['no names at all', cert(), /names nothing \(no CN, no DNS subjectAltName\)/],
    ['a wildcard', cert('*', 'DNS:*, DNS:compute-*'), /names '\*', '\*', 'compute-\*'/],
    ['the right name in another case', cert('Compute-A'), /names 'Compute-A'/],
    ['a name hidden in a quoted SAN', cert(undefined, 'DNS:"x\\u002c DNS:compute-a"'), /names 'x, DNS:compute-a'/],
    ['a prefix of the name', cert('compute'), /names 'compute'/],
  ])('refuses %s', (_what, c, message) => {
    const err = checkPeerIdentity(c, DP_A, policy);
    expect(err).toBeInstanceOf(PeerIdentityError);
    expect(err!.message).toMatch(message);
    expect(err!.claimedDpid).toBe(DP_A);
  });

  it('refuses a node name for a datapath id that belongs to no node', () => {
    expect(checkPeerIdentity(cert('compute-a'), 0x99n, policy)?.message).toMatch(/0000000000000099 \(which belongs to no node\) .* names 'compute-a'/);
    // ...while a certificate naming that very datapath id proves it.
    expect(checkPeerIdentity(cert('0000000000000099'), 0x99n, policy)).toBeUndefined();
  });

  it('without nodes (static mode) accepts only the datapath id', () => {
    expect(checkPeerIdentity(cert('compute-a'), DP_A, {})?.message).toMatch(/names 'compute-a', not the datapath id$/);
    expect(checkPeerIdentity(cert('4d4300000000000a id:x'), DP_A, {})).toBeUndefined();
  });

  it('a node named like a datapath id is identified by its datapath id, not its name', () => {
    const odd = { nodeOf: (d: bigint) => (d === DP_A ? '4d4300000000000b' : undefined) };
    expect(checkPeerIdentity(cert('4d4300000000000b'), DP_A, odd)).toBeInstanceOf(PeerIdentityError);
    expect(checkPeerIdentity(cert('4d4300000000000a'), DP_A, odd)).toBeUndefined();
  });

  it('names that are neither the claimed datapath id nor its node are never accepted (generated)', () => {
    const name = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.stringMatching(/^[0-9a-fA-F]{16}( id:.*)?$/),
      fc.constantFrom('compute-b', 'compute-a ', ' compute-a', 'compute-a.', 'compute-ab', '4d4300000000000b', 'compute-b id:compute-a'),
    );
    const wrong = (n: string): boolean => {
      const s = parseSubjectName(n);
      return !(s?.kind === 'dpid' ? s.dpid === DP_A : s?.node === 'compute-a');
    };
    fc.assert(
      fc.property(fc.array(name.filter(wrong), { maxLength: 6 }), fc.array(name.filter(wrong), { maxLength: 6 }), (cns, dns) => {
        const san = dns.map((d) => `DNS:${needsQuoting(d) ? JSON.stringify(d) : d}`).join(', ');
        const err = checkPeerIdentity(cert(cns, san), DP_A, policy);
        expect(err).toBeInstanceOf(PeerIdentityError);
      }),
      { numRuns: 500 },
    );
  });

  it('any subjectAltName text is read without throwing, and every name it yields is bounded', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (text) => {
        const names = certificateNames({ subjectaltname: text });
        expect(names.length).toBeLessThanOrEqual(64);
        for (const n of names) expect(n.length).toBeLessThanOrEqual(255);
      }),
      { numRuns: 500 },
    );
  });
});

describe.skipIf(!hasOpenssl)('certificates made by openssl', () => {
  let dir: string;
  let pki: TestPki;
  const legacy = (path: string): CertificateNames => new X509Certificate(readFileSync(path)).toLegacyObject();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mct-pki-'));
    pki = new TestPki(dir);
    pki.makeCa();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the CN and the DNS names Node reports, quoted ones included', () => {
    const { cert: path } = pki.issue('a', { cn: 'compute-a id:c5126677', san: ['DNS:compute-a.example.net', 'IP:10.0.0.11', 'DNS:x, DNS:compute-b'] });
    const c = legacy(path);
    expect(certificateNames(c)).toEqual(['compute-a id:c5126677', 'compute-a.example.net', 'x, DNS:compute-b']);
    expect(checkPeerIdentity(c, DP_A, policy)).toBeUndefined();
    expect(checkPeerIdentity(c, DP_B, policy)).toBeInstanceOf(PeerIdentityError);
  });

  it('a certificate with only a datapath id in its SAN and no subject', () => {
    const c = legacy(pki.issue('b', { san: ['DNS:4d4300000000000b'] }).cert);
    expect(checkPeerIdentity(c, DP_B, policy)).toBeUndefined();
    expect(checkPeerIdentity(c, DP_A, policy)).toBeInstanceOf(PeerIdentityError);
  });
});
