// scripts/check-cycles.ts: cycles found and printed as paths, on small graphs and on a fixture tree resolved as tsc
// resolves it (type-only imports and `.js` specifiers included).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findCycles, importGraph, KNOWN_CYCLES } from '../../scripts/check-cycles.js';

const graph = (edges: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(edges));

describe('findCycles', () => {
  it('finds none in a DAG, and ignores imports of modules outside the graph', () => {
    expect(findCycles(graph({ a: ['b', 'c', 'outside'], b: ['c'], c: [] }))).toEqual([]);
  });

  it('prints a cycle as a path from its first module by name back to it', () => {
    expect(findCycles(graph({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] }))).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('finds a module importing itself, and one cycle per component, the shortest from its start', () => {
    const cycles = findCycles(graph({ self: ['self'], x: ['y', 'z'], y: ['x'], z: ['y'], q: ['r'], r: ['q'] }));
    expect(cycles).toEqual([
      ['q', 'r', 'q'],
      ['self', 'self'],
      ['x', 'y', 'x'],
    ]);
  });

  it('does not overflow on a long chain closing into a cycle', () => {
    const edges: Record<string, string[]> = {};
    for (let i = 0; i < 20_000; i++) edges[`m${String(i).padStart(5, '0')}`] = [`m${String(i + 1).padStart(5, '0')}`];
    edges['m20000'] = ['m00000'];
    const [cycle] = findCycles(graph(edges));
    expect(cycle?.length).toBe(20_002);
  });
});

describe('importGraph', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('resolves .js specifiers to .ts files and counts type-only imports and re-exports', () => {
    dir = mkdtempSync(join(tmpdir(), 'mcdm-cycles-'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
    mkdirSync(join(dir, 'src', 'inner'), { recursive: true });
    writeFileSync(join(dir, 'src', 'a.ts'), "import { b } from './inner/b.js';\nimport { readFileSync } from 'node:fs';\nexport const a = b + String(readFileSync);\n");
    writeFileSync(join(dir, 'src', 'inner', 'b.ts'), "export { c as b } from './c.js';\n");
    writeFileSync(join(dir, 'src', 'inner', 'c.ts'), "import type { A } from '../d.js';\nexport const c = 1 as A;\n");
    writeFileSync(join(dir, 'src', 'd.ts'), "import type { a } from './a.js';\nexport type A = typeof a;\n");
    const g = importGraph('src', dir);
    expect(Object.fromEntries(g)).toEqual({
      'src/a.ts': ['src/inner/b.ts'],
      'src/d.ts': ['src/a.ts'],
      'src/inner/b.ts': ['src/inner/c.ts'],
      'src/inner/c.ts': ['src/d.ts'],
    });
    expect(findCycles(g)).toEqual([['src/a.ts', 'src/inner/b.ts', 'src/inner/c.ts', 'src/d.ts', 'src/a.ts']]);
  });

  it('finds no cycle in src (as npm run lint checks)', () => {
    const cycles = findCycles(importGraph('src')).map((c) => c.join(' -> '));
    expect(cycles.filter((c) => !KNOWN_CYCLES.includes(c))).toEqual([]);
  });
});
