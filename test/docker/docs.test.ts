// The operator docs stay true: relative links and referenced repository files exist, the configuration reference
// covers every key and variable and its example loads, and the Grafana dashboard is valid JSON that queries only
// metrics the controller exports.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createMetrics } from '../../src/daemon/metrics.js';
import { ConfigSchema, ENV_KEYS, loadConfig } from '../../src/daemon/config.js';
import { parseConfigText } from '../../src/daemon/config-file.js';

const ROOT = normalize(join(import.meta.dirname, '..', '..'));
const DOCS = join(ROOT, 'docs');
const docs = readdirSync(DOCS).filter((f) => f.endsWith('.md'));
const SHARED = existsSync(join(ROOT, '..', 'shared', 'design'));
const read = (f: string): string => readFileSync(join(DOCS, f), 'utf8');
/** Text outside fenced code blocks and inline code spans. */
const prose = (text: string): string => text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

describe('docs', () => {
  it('has the operator pages', () => {
    for (const page of ['architecture.md', 'operations.md', 'configuration.md', 'metrics.md', 'troubleshooting.md', 'seed-mapping.md']) expect(docs).toContain(page);
  });

  it.each(docs)('%s: relative links point at files that exist', (page) => {
    const missing: string[] = [];
    for (const [, target] of prose(read(page)).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!) || target!.startsWith('#')) continue;
      const path = target!.split('#')[0]!;
      if (!existsSync(join(DOCS, path))) missing.push(target!);
    }
    expect(missing).toEqual([]);
  });

  it.each(docs)('%s: repository paths it names exist', (page) => {
    const missing: string[] = [];
    for (const [, path] of read(page).matchAll(/`((?:src|test|docker|packaging|config|scripts|bench|docs)\/[A-Za-z0-9_./-]+|\.\.\/shared\/[A-Za-z0-9_./-]+)`/g)) {
      if (/[*<]/.test(path!)) continue;
      const clean = path!.replace(/[.,:]$/, '');
      // The design folder sits beside a working copy, not inside it: a bare clone (CI) doesn't have it.
      if (clean.startsWith('../shared/') && !SHARED) continue;
      // `../shared/...` is relative to the repository root, as DEVELOPERS.md uses it; `foo.md` bare names are docs.
      if (!existsSync(join(ROOT, clean))) missing.push(clean);
    }
    // Bare `something.md` names another page of docs/.
    for (const [, name] of read(page).replace(/^```[\s\S]*?^```/gm, '').matchAll(/`([a-z-]+\.md)`/g)) if (!existsSync(join(DOCS, name!)) && !existsSync(join(ROOT, name!))) missing.push(name!);
    expect(missing).toEqual([]);
  });

  it('configuration.md documents every key and variable, and its YAML example is a valid configuration', () => {
    const text = read('configuration.md');
    // The provisioning section is written by its own change; until it lands, its keys are not required here.
    const sectionFor = (key: string): boolean => !key.toLowerCase().includes('provisioning') || /^#+ .*provisioning/im.test(text);
    // Siblings may share a row: `MINICLOUD_TLS_KEY`, `_CERT`, `_CA`.
    const envDocumented = (name: string): boolean =>
      text.includes(name) ||
      [...name.matchAll(/_/g)].some((m) => text.includes(`\`${name.slice(m.index)}\``) && text.includes(`${name.slice(0, m.index)}_`));
    expect(ENV_KEYS.map(([name]) => name).filter((n) => sectionFor(n) && !envDocumented(n))).toEqual([]);
    const keys: string[] = [];
    const walk = (schema: { properties?: Record<string, unknown> }, prefix: string): void => {
      for (const [k, sub] of Object.entries(schema.properties ?? {})) {
        const s = sub as { type?: string; properties?: Record<string, unknown> };
        if (s.type === 'object' && s.properties) walk(s, `${prefix}${k}.`);
        else keys.push(prefix + k);
      }
    };
    walk(ConfigSchema as { properties?: Record<string, unknown> }, '');
    const documented = (key: string): boolean => text.includes(`\`${key}\``) || text.includes(`\`${key.replace(/\.([a-z]+)$/i, '.$1')}\``) || new RegExp(`\`${key.split('.').slice(0, -1).join('\\.')}\\.[^\`]*\`[^|]*\`\\.${key.split('.').at(-1)}\``).test(text);
    expect(keys.filter((k) => sectionFor(k) && !documented(k))).toEqual([]);

    const example = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
    expect(example).toBeDefined();
    const file = parseConfigText(example!, 'example.yaml');
    const schemaKeys = new Set(keys);
    const exampleKeys: string[] = [];
    const collect = (v: unknown, prefix: string): void => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return;
      for (const [k, sub] of Object.entries(v)) {
        const key = prefix + k;
        if (schemaKeys.has(key)) exampleKeys.push(key);
        else if (typeof sub === 'object' && sub !== null && !Array.isArray(sub)) collect(sub, `${key}.`);
      }
    };
    collect(file.data, '');
    expect(() => loadConfig(undefined, {})).not.toThrow();
    const dir = mkdtempSync(join(tmpdir(), 'mcp-doc-'));
    try {
      writeFileSync(join(dir, 'example.yaml'), example!);
      const c = loadConfig(join(dir, 'example.yaml'), {});
      expect(c.openflow.tls?.ca).toBe('/etc/minicloud/pki/switchca/cacert.pem');
      // The etcd example of "The store on etcd" is a valid store section too.
      const etcdExample = /```yaml\n(store:\n {2}backend: etcd[\s\S]*?)```/.exec(text)?.[1];
      expect(etcdExample).toBeDefined();
      writeFileSync(join(dir, 'etcd.yaml'), etcdExample!);
      expect(loadConfig(join(dir, 'etcd.yaml'), {}).store.backend).toBe('etcd');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Every key but the lab-only labDir and those another section documents (provisioning; store.etcd, which the
    // config refuses beside the example's SQLite store) appears in the complete example.
    const notInExample = keys.filter((k) => !exampleKeys.includes(k) && k !== 'vms.labDir' && !k.startsWith('provisioning') && !k.startsWith('store.etcd.'));
    expect(notInExample).toEqual([]);
  });

  it('the Grafana dashboard is valid JSON whose queries use only exported metrics', async () => {
    const dash = JSON.parse(readFileSync(join(DOCS, 'grafana', 'minicloud-dashboard.json'), 'utf8')) as {
      panels: { type: string; title: string; targets?: { expr: string }[] }[];
      templating: { list: { definition: string }[] };
    };
    const metrics = createMetrics({ processMetrics: false });
    const names = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const exported = (name: string): boolean => names.has(name) || names.has(name.replace(/_(bucket|sum|count)$/, ''));
    const exprs = [...dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...dash.templating.list.map((v) => v.definition)];
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bminicloud_[a-z_]+/g)].map((m) => m[0])));
    expect([...used].filter((n) => !exported(n))).toEqual([]);
    const titles = dash.panels.map((p) => p.title.toLowerCase()).join('\n');
    for (const topic of ['datapaths connected', 'flow-mods', 'packets per second', 'traffic', 'table lookups', 'api latency']) expect(titles).toContain(topic);
    expect(dash.panels.filter((p) => p.type !== 'row').every((p) => (p.targets ?? []).length > 0)).toBe(true);
  });

  it('metrics.md lists every metric the controller registers', async () => {
    const text = read('metrics.md');
    const metrics = createMetrics({ processMetrics: false });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    // Families written once with a shared prefix (`minicloud_subnet_packets_total`, `_bytes_total`) count as listed.
    const listed = (n: string): boolean => text.includes(`\`${n}\``) || [...text.matchAll(/`(minicloud_[a-z_]+?)_(packets|bytes|dropped_packets|error_packets)_total`[^|]*/g)].some((m) => n.startsWith(m[1]!) && m[0].includes(`\`_${n.slice(m[1]!.length + 1)}\``));
    expect(names.filter((n) => !listed(n))).toEqual([]);
  });

  it('docker/compose.yaml parses and names the controller and several OVS nodes', () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'docker', 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, { build?: { context: string; dockerfile?: string }; environment?: Record<string, string> }> };
    const nodes = Object.entries(compose.services).filter(([, s]) => s.environment?.['MINICLOUD_CONTROLLER'] !== undefined);
    expect(compose.services['controller']?.build?.dockerfile).toBe('docker/Dockerfile');
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    for (const [name, s] of nodes) {
      expect(s.environment!['NODE_NAME']).toBe(name);
      expect(existsSync(join(ROOT, 'docker', s.build!.context, 'Dockerfile'))).toBe(true);
    }
    expect(existsSync(join(dirname(join(ROOT, 'docker', 'compose.yaml')), '..', 'docker', 'Dockerfile'))).toBe(true);
  });
});
