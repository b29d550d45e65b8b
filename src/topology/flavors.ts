// VM sizes: the seed's '4C8G' style (CPUs, then memory in GiB, or MiB with an M) and a few named flavors.

export interface Flavor {
  readonly cpus: number;
  readonly memoryMiB: number;
}

export const NAMED_FLAVORS: Readonly<Record<string, Flavor>> = {
  tiny: { cpus: 1, memoryMiB: 512 },
  small: { cpus: 1, memoryMiB: 2048 },
  medium: { cpus: 2, memoryMiB: 4096 },
  large: { cpus: 4, memoryMiB: 8192 },
  xlarge: { cpus: 8, memoryMiB: 16384 },
};

const SIZED = /^(\d{1,3})C(\d{1,4})(G|M)$/i;
const MAX_CPUS = 256;
const MAX_MEMORY_MIB = 1024 * 1024;

/** The flavor a name stands for, or the reason it stands for none. */
export function parseFlavor(text: string): Flavor | { readonly error: string } {
  const named = NAMED_FLAVORS[text.toLowerCase()];
  if (named) return named;
  const m = SIZED.exec(text);
  if (!m) {
    return { error: `'${text}' is neither a size like '4C8G' (CPUs, memory in G or M) nor one of ${Object.keys(NAMED_FLAVORS).join(', ')}` };
  }
  const cpus = Number(m[1]);
  const memoryMiB = Number(m[2]) * (m[3]!.toUpperCase() === 'G' ? 1024 : 1);
  if (cpus < 1 || cpus > MAX_CPUS) return { error: `'${text}' asks for ${cpus} CPUs (1..${MAX_CPUS})` };
  if (memoryMiB < 64 || memoryMiB > MAX_MEMORY_MIB) return { error: `'${text}' asks for ${formatMemory(memoryMiB)} of memory (64 MiB..1024 GiB)` };
  return { cpus, memoryMiB };
}

/** 8192 -> '8 GiB', 512 -> '512 MiB', 1536 -> '1.5 GiB'. */
export function formatMemory(mib: number): string {
  if (mib < 1024) return `${mib} MiB`;
  const gib = mib / 1024;
  return `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB`;
}
