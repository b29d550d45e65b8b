// Reading the controller's configuration file: YAML or JSON (by extension, else by content), with the line of
// every key kept so validation errors can point at it (`controller.yaml:7: api.port: must be <= 65535`).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';

export type ConfigFormat = 'yaml' | 'json';

export interface ConfigFileText {
  readonly path: string;
  readonly format: ConfigFormat;
  /** The parsed value: `{}` for a YAML file holding only comments. */
  readonly data: unknown;
  /** 1-based line of the value at KEYS (or of the key KEYS' last element names, when `key` is true). */
  lineOf(keys: readonly string[], key?: boolean): number | undefined;
}

/** A file that cannot be read or parsed; the message carries `path:line:column` when the parser knows it. */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

export function configFormat(path: string, text: string): ConfigFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

export function readConfigFile(path: string): ConfigFileText {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigFileError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  return parseConfigText(text, path);
}

export function parseConfigText(text: string, path: string): ConfigFileText {
  const format = configFormat(path, text);
  const lines = new LineCounter();
  // JSON is read with JSON.parse (exact JSON semantics); its text is also valid YAML, which gives the key positions.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  let data: unknown;
  if (format === 'json') {
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new ConfigFileError(`${path}${jsonErrorPosition(text, (e as Error).message)}: not valid JSON: ${(e as Error).message}`);
    }
  } else {
    const err = doc.errors[0];
    if (err) {
      const at = lines.linePos(err.pos[0]);
      throw new ConfigFileError(`${path}${`:${at.line}:${at.col}`}: not valid YAML: ${firstLine(err.message)}`);
    }
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  }
  const usable = doc.errors.length === 0;
  return {
    path,
    format,
    data,
    lineOf: (keys, key = false) => (usable ? lineOf(doc, lines, keys, key) : undefined),
  };
}

function lineOf(doc: Document, lines: LineCounter, keys: readonly string[], key: boolean): number | undefined {
  for (let n = keys.length; n >= 0; n--) {
    const path = keys.slice(0, n).map(indexOrKey);
    if (key && n === keys.length && n > 0) {
      const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === path[path.length - 1]);
        const range = (pair?.key as { range?: [number, number, number] } | null)?.range;
        if (range) return lines.linePos(range[0]).line;
      }
      continue;
    }
    const node = (n === 0 ? doc.contents : doc.getIn(path, true)) as { range?: [number, number, number] } | null;
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Array indexes arrive as strings from JSON pointers; yaml's getIn wants numbers for sequences. */
function indexOrKey(k: string): string | number {
  return /^\d+$/.test(k) ? Number(k) : k;
}

/** V8 says `... in JSON at position 42` (Node 20); turn it into `:line:column`. */
function jsonErrorPosition(text: string, message: string): string {
  const m = /at position (\d+)/.exec(message);
  if (!m) return '';
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const col = Number(m[1]) - before.lastIndexOf('\n');
  return `:${line}:${col}`;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
