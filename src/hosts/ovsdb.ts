// Reading and writing the node's OVS database with ovs-vsctl, through an executor. Reads use `--format=json` so no
// ovs-vsctl text output is parsed by hand.
import type { ExecOptions, ExecResult, Executor } from './executor.js';

/** ovs-vsctl waits for ovs-vswitchd to apply each change; a dead vswitchd fails within this instead of hanging. */
const VSCTL_TIMEOUT_S = 10;

export function vsctl(exec: Executor, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return exec.run(['ovs-vsctl', `--timeout=${VSCTL_TIMEOUT_S}`, ...args], { timeoutMs: (VSCTL_TIMEOUT_S + 5) * 1000, ...opts });
}

export type OvsValue = string | number | boolean | OvsValue[] | { readonly [key: string]: OvsValue };

/** Decodes OVSDB's JSON notation: ["set", [...]], ["map", [[k, v], ...]], ["uuid", "..."], or an atom. */
export function decodeOvsValue(v: unknown): OvsValue {
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string') {
    const [kind, body] = v as [string, unknown];
    if (kind === 'set') return (body as unknown[]).map(decodeOvsValue);
    if (kind === 'map') return Object.fromEntries((body as [unknown, unknown][]).map(([k, x]) => [String(decodeOvsValue(k)), decodeOvsValue(x)]));
    if (kind === 'uuid' || kind === 'named-uuid') return String(body);
  }
  return v as OvsValue;
}

export type OvsRow = Record<string, OvsValue>;

/** Every row of a table with the given columns (`ovs-vsctl list`). */
export async function listRows(exec: Executor, table: string, columns: readonly string[]): Promise<OvsRow[]> {
  const { stdout } = await vsctl(exec, ['--format=json', `--columns=${columns.join(',')}`, 'list', table]);
  const parsed = JSON.parse(stdout) as { headings: string[]; data: unknown[][] };
  return parsed.data.map((row) => Object.fromEntries(parsed.headings.map((h, i) => [h, decodeOvsValue(row[i])])));
}

/** A column that may be unset (an empty set) as a string, or undefined. */
export function optionalString(v: OvsValue | undefined): string | undefined {
  if (Array.isArray(v)) return v.length ? String(v[0]) : undefined;
  return v === undefined ? undefined : String(v);
}

export function stringMap(v: OvsValue | undefined): Record<string, string> {
  if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
  return {};
}

export function stringSet(v: OvsValue | undefined): string[] {
  if (Array.isArray(v)) return v.map(String);
  return v === undefined ? [] : [String(v)];
}

export function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

export async function bridgeExists(exec: Executor, bridge: string): Promise<boolean> {
  return (await vsctl(exec, ['br-exists', bridge], { okCodes: [0, 2] })).code === 0;
}

export async function listPorts(exec: Executor, bridge: string): Promise<string[]> {
  const { stdout } = await vsctl(exec, ['list-ports', bridge]);
  return stdout.split('\n').filter(Boolean);
}

/** `key=value` arguments for `ovs-vsctl set` (values of our own, validated; none contains '"' or ','). */
export function mapArgs(column: string, map: Readonly<Record<string, string>>): string[] {
  return Object.entries(map).map(([k, v]) => `${column}:${k}=${quoteOvsAtom(v)}`);
}

/** ovs-vsctl parses values; quoting keeps '.' and ':' (IPs, targets) from being read as anything but a string. */
export function quoteOvsAtom(v: string): string {
  return /^[A-Za-z0-9_-]+$/.test(v) ? v : `"${v.replace(/(["\\])/g, '\\$1')}"`;
}

/** Rows of a table matching `column=value` conditions (`ovs-vsctl find`). */
export async function findRows(exec: Executor, table: string, columns: readonly string[], ...conditions: string[]): Promise<OvsRow[]> {
  const { stdout } = await vsctl(exec, ['--format=json', `--columns=${columns.join(',')}`, 'find', table, ...conditions]);
  const parsed = JSON.parse(stdout) as { headings: string[]; data: unknown[][] };
  return parsed.data.map((row) => Object.fromEntries(parsed.headings.map((h, i) => [h, decodeOvsValue(row[i])])));
}

export async function datapathTypeOf(exec: Executor, bridge: string): Promise<string | undefined> {
  const [row] = await findRows(exec, 'Bridge', ['datapath_type'], `name=${bridge}`);
  return row ? optionalString(row['datapath_type']) : undefined;
}

/** The bridge a port is on, or undefined when no bridge has it. */
export async function bridgeOfPort(exec: Executor, port: string): Promise<string | undefined> {
  const r = await vsctl(exec, ['port-to-br', port], { okCodes: [0, 1] });
  return r.code === 0 ? r.stdout.trim() : undefined;
}
