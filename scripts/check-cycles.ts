// Fails when the modules under src import each other in a cycle, and prints each cycle as a path of files.
// Type-only imports count: a cycle of types still means two modules that cannot be read (or moved) apart.
// Imports are resolved as tsc resolves them (tsconfig.json's options), so `./x.js` finds `./x.ts`.
// `npm run lint` runs it: `tsx scripts/check-cycles.ts [dir]` (default src).
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

/**
 * Cycles that are known and owned elsewhere, exactly as printed (joined by ' -> '): reported, not failed. Each
 * entry says who removes it; an entry that no longer matches is reported as stale.
 */
export const KNOWN_CYCLES: readonly string[] = [];

/** Module -> the modules it imports (only modules that are keys count). */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/**
 * One cycle per strongly connected component of more than one module (or a module importing itself), each as the
 * path `[a, b, ..., a]`, shortest from the component's first module by name. Deterministic: sorted by that module.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  for (const component of stronglyConnected(graph)) {
    const members = new Set(component);
    const start = [...component].sort()[0]!;
    const selfLoop = component.length === 1 && (graph.get(start) ?? []).includes(start);
    if (component.length > 1 || selfLoop) cycles.push(shortestCycle(graph, start, members));
  }
  return cycles.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
}

/** Tarjan's algorithm, iterative (a deep import chain must not overflow the stack). */
function stronglyConnected(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  for (const root of [...graph.keys()].sort()) {
    if (index.has(root)) continue;
    const work: { node: string; edge: number }[] = [{ node: root, edge: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = (graph.get(frame.node) ?? []).filter((m) => graph.has(m));
      if (frame.edge < edges.length) {
        const to = edges[frame.edge++]!;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let m: string;
        do {
          m = stack.pop()!;
          onStack.delete(m);
          component.push(m);
        } while (m !== frame.node);
        out.push(component);
      }
    }
  }
  return out;
}

/** Breadth-first from `start` back to itself, inside the component. */
function shortestCycle(graph: ImportGraph, start: string, members: ReadonlySet<string>): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i]!;
    for (const to of [...(graph.get(at) ?? [])].sort()) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let m: string | undefined = at; m !== undefined && m !== start; m = previous.get(m)) path.push(m);
        return [start, ...path.slice(1).reverse(), start];
      }
      if (!previous.has(to)) {
        previous.set(to, at);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

/** The import graph of the .ts files under `dir`, by path relative to `base`. */
export function importGraph(dir: string, base = process.cwd()): Map<string, string[]> {
  const options = compilerOptions(base);
  const files = tsFiles(resolve(base, dir));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = new Set<string>();
    for (const { fileName } of importedFiles) {
      const resolved = ts.resolveModuleName(fileName, file, options, ts.sys).resolvedModule?.resolvedFileName;
      if (resolved !== undefined && known.has(resolved)) targets.add(relative(base, resolved));
    }
    graph.set(relative(base, file), [...targets].sort());
  }
  return graph;
}

function compilerOptions(base: string): ts.CompilerOptions {
  const configPath = join(base, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  return ts.parseJsonConfigFileContent(read.config, ts.sys, base).options;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => resolve(e.parentPath, e.name))
    .sort();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2] ?? 'src';
  const graph = importGraph(dir);
  const all = findCycles(graph);
  const known = new Set(KNOWN_CYCLES);
  const cycles = all.filter((c) => !known.has(c.join(' -> ')));
  for (const c of all.filter((c) => known.has(c.join(' -> ')))) console.warn(`known import cycle (KNOWN_CYCLES): ${c.join(' -> ')}`);
  const found = new Set(all.map((c) => c.join(' -> ')));
  for (const k of KNOWN_CYCLES.filter((k) => !found.has(k))) console.warn(`stale entry in KNOWN_CYCLES (no such cycle now): ${k}`);
  if (cycles.length > 0) {
    console.error(`${cycles.length} import cycle${cycles.length > 1 ? 's' : ''} under ${dir} (type-only imports count):`);
    for (const c of cycles) console.error(`  ${c.join('\n    -> ')}`);
    process.exit(1);
  }
  console.log(`no import cycles among the ${graph.size} modules under ${dir}${known.size > 0 ? ' but the known ones above' : ''}`);
}
