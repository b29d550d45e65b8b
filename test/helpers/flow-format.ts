// The flow formatter tests and the doc generator use: the codec's `formatFlow` (ovs-ofctl syntax that
// `ovs-ofctl add-flows` reads back). Kept as a seam so a test can swap formatters.
import { formatFlow } from '../../src/openflow/text/flow-text.js';
import type { FlowMod } from '../../src/openflow/types.js';

export type FormatFlow = (flow: FlowMod) => string;

export async function loadFormatFlow(): Promise<FormatFlow> {
  return formatFlow;
}
