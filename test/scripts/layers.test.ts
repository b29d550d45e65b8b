// eslint.config.js's layer rules bite: an import against the direction in DEVELOPERS.md is an error, one along it
// is not. Linted as text under a path in the folder, so no file is written.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const probe = 1;\n`, { filePath: file });
  return (result?.messages ?? []).filter((m) => m.ruleId?.endsWith('no-restricted-imports')).map((m) => m.message);
}

describe('layer rules', () => {
  it.each([
    ['src/cloud/probe.ts', "import { Controller } from '../runtime/index.js';\nvoid Controller;", /src\/cloud must not import src\/runtime/],
    ['src/cloud/probe.ts', "import { handleError } from '../api/errors.js';\nvoid handleError;", /src\/cloud must not import src\/api/],
    ['src/cloud/probe.ts', "import type { Config } from '../daemon/config.js';\nexport type C = Config;", /src\/cloud must not import src\/daemon/],
    ['src/api/probe.ts', "import { createMetrics } from '../daemon/metrics.js';\nvoid createMetrics;", /src\/api must not import values from src\/daemon/],
    ['src/api/probe.ts', "import { Controller } from '../runtime/index.js';\nvoid Controller;", /src\/api must not import src\/runtime/],
    ['src/runtime/probe.ts', "import type { Config } from '../daemon/config.js';\nexport type C = Config;", /src\/runtime must not import src\/daemon/],
    ['src/topology/probe.ts', "import { CloudService } from '../cloud/index.js';\nvoid CloudService;", /src\/topology must not import src\/cloud/],
    ['src/daemon/probe.ts', "import { main } from '../cli/main.js';\nvoid main;", /src\/daemon must not import src\/cli/],
    ['src/openflow/probe.ts', "import { parseFieldValue } from './text/field-value.js';\nvoid parseFieldValue;", /binary codec does not import src\/openflow\/text/],
    ['src/openflow/messages/probe.ts', "import type { Json } from '../text/json.js';\nexport type J = Json;", /binary codec does not import src\/openflow\/text/],
    ['src/openflow/probe.ts', "import { pipe } from '../pipeline/index.js';\nvoid pipe;", /src\/openflow must not import src\/pipeline/],
  ])('%s: %s is refused', async (file, code, message) => {
    const messages = await restricted(file, code);
    expect(messages.some((m) => message.test(m)), messages.join('; ')).toBe(true);
  });

  it.each([
    ['src/cloud/probe.ts', "import { parseCidr } from '../topology/model.js';\nimport { TABLES } from '../pipeline/tables.js';\nvoid parseCidr;\nvoid TABLES;"],
    ['src/api/probe.ts', "import type { Metrics } from '../daemon/metrics.js';\nimport { Conflict } from '../cloud/index.js';\nexport type M = Metrics;\nvoid Conflict;"],
    ['src/daemon/probe.ts', "import { CloudService } from '../cloud/index.js';\nimport { buildApp } from '../api/app.js';\nvoid CloudService;\nvoid buildApp;"],
    ['src/openflow/text/probe.ts', "import { fieldByName } from '../oxm-fields.js';\nimport { newBytes } from './field-value.js';\nvoid fieldByName;\nvoid newBytes;"],
    ['src/openflow/index.ts', "export { parseFlow } from './text/flow-text.js';"],
  ])('%s: %s is allowed', async (file, code) => {
    expect(await restricted(file, code)).toEqual([]);
  });
});
