// Allocation sampling for a bench phase (node:inspector's sampling heap profiler, objects the GC has collected
// included): where a phase allocates, not only what it keeps. Writes DIR/<label>.heapprofile (open it in Chrome
// DevTools' Memory tab, or summarise it with `npx tsx bench/alloc-profile.ts FILE`).
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export class AllocationSampler {
  private readonly session = new Session();
  private connected = false;

  /** `dir` undefined: every call is a no-op (the bench without `--alloc-profile`). */
  constructor(private readonly dir: string | undefined) {}

  async during<T>(label: string, fn: () => Promise<T>): Promise<T> {
    if (!this.dir) return fn();
    if (!this.connected) {
      this.session.connect();
      this.connected = true;
    }
    await this.session.post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    try {
      return await fn();
    } finally {
      const { profile } = await this.session.post('HeapProfiler.stopSampling');
      writeFileSync(join(this.dir, `${label}.heapprofile`), JSON.stringify(profile));
    }
  }

  close(): void {
    if (this.connected) this.session.disconnect();
  }
}

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

/** The functions that allocated most (self), and the call paths above them that did (total), in MiB. */
function summarise(file: string, top = 25): void {
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const name = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
  const walk = (n: ProfileNode, path: ReadonlySet<string>): number => {
    const k = name(n);
    self.set(k, (self.get(k) ?? 0) + n.selfSize);
    const here = new Set(path).add(k);
    let sum = n.selfSize;
    for (const c of n.children) sum += walk(c, here);
    if (!path.has(k)) total.set(k, (total.get(k) ?? 0) + sum);
    return sum;
  };
  const all = walk(head, new Set());
  const mib = (b: number): string => (b / 1048576).toFixed(1).padStart(7);
  console.log(`${file}: ${mib(all)} MiB sampled`);
  console.log('self:');
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${mib(v)}  ${k}`);
  console.log('total:');
  for (const [k, v] of [...total].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${mib(v)}  ${k}`);
}

if (process.argv[1]?.endsWith('alloc-profile.ts')) {
  process.stdout.on('error', () => process.exit(0)); // piped into head
  for (const f of process.argv.slice(2)) summarise(f);
}
