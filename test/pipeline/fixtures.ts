// Shared helpers for the pipeline unit tests.
import type { FlowMod, Instruction } from '../../src/openflow/types.js';
import { indexCloud, type CloudIndex } from '../../src/pipeline/cloud-index.js';
import { compileCloud } from '../../src/pipeline/compile.js';
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import type { PortMap } from '../../src/pipeline/stage.js';
import { referenceCloud, referencePorts } from '../../src/topology/examples.js';
import type { Cloud } from '../../src/topology/model.js';

export interface Compiled {
  readonly cloud: Cloud;
  readonly index: CloudIndex;
  readonly ports: Map<string, Map<string, number>>;
  readonly flows: Map<string, FlowMod[]>;
}

export function compileReference(cloud: Cloud = referenceCloud(), ports?: Map<string, Map<string, number>>): Compiled {
  const index = indexCloud(cloud);
  const p = ports ?? referencePorts(cloud);
  return { cloud, index, ports: p, flows: compileCloud(index, p as ReadonlyMap<string, PortMap>) };
}

export const text = (flows: readonly FlowMod[]): string[] => flows.map(formatFlow);

/** The text of the flows of one node matching every given substring. */
export function grep(flows: readonly FlowMod[], ...parts: string[]): string[] {
  return text(flows).filter((t) => parts.every((p) => t.includes(p)));
}

export function actionsOf(f: FlowMod): Instruction[] {
  return [...f.instructions];
}

export function outputs(f: FlowMod): number[] {
  const out: number[] = [];
  for (const i of f.instructions) if (i.type === 'apply_actions') for (const a of i.actions) if (a.type === 'output') out.push(a.port);
  return out;
}
