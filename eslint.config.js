// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Layers that a directory may not import (see DEVELOPERS.md, "Dependency direction"). */
const forbidden = (dir, ...layers) => ({
  files: [`src/${dir}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: layers.map((layer) => ({
          group: [`**/${layer}`, `**/${layer}/**`],
          message: `src/${dir} must not import src/${layer} (dependency direction, DEVELOPERS.md).`,
        })),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'docs/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Plain Node scripts (the image's healthcheck, build helpers).
    files: ['docker/**/*.mjs'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(['process', 'console', 'fetch', 'AbortSignal', 'URL', 'Buffer', 'setTimeout', 'clearTimeout'].map((g) => [g, 'readonly'])),
    },
  },
  {
    // The web UI's assets run in the browser as plain ES modules (no build step).
    files: ['src/api/ui/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'history', 'sessionStorage', 'localStorage', 'fetch', 'Node', 'Element', 'CSS', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'performance', 'confirm'].map((g) => [g, 'readonly']),
      ),
    },
  },
  forbidden('openflow', 'pipeline', 'topology', 'hosts', 'api', 'runtime', 'cli', 'cloud', 'daemon', 'packets'),
  forbidden('packets', 'openflow', 'pipeline', 'topology', 'hosts', 'api', 'runtime', 'cli', 'cloud', 'daemon', 'lab'),
  forbidden('topology', 'openflow', 'pipeline', 'hosts', 'api', 'runtime', 'cli', 'cloud', 'daemon', 'packets'),
  forbidden('pipeline', 'hosts', 'api', 'runtime', 'cli', 'cloud', 'daemon', 'packets'),
  forbidden('runtime', 'pipeline', 'topology', 'hosts', 'api', 'cli', 'cloud', 'daemon', 'packets'),
  forbidden('hosts', 'openflow', 'pipeline', 'api', 'runtime', 'cli', 'cloud', 'daemon', 'packets'),
  // The domain core: the model and the pipeline, nothing that does I/O or speaks a protocol.
  forbidden('cloud', 'openflow', 'packets', 'hosts', 'runtime', 'api', 'daemon', 'cli', 'lab'),
  // HTTP only: it gets the domain and what it needs of the daemon (metrics) as parameters.
  forbidden('api', 'cli', 'runtime', 'hosts', 'openflow', 'packets', 'lab'),
  {
    // Outside src/openflow the codec is imported only through its public index: byte layouts, cursors and
    // registries stay inside it (DEVELOPERS.md, "The codec"). A rule of its own, so the layer rules above and below
    // (the other no-restricted-imports) do not replace it. src/api may not import the codec at all (above).
    files: ['src/**/*.ts'],
    ignores: ['src/openflow/**', 'src/api/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/openflow/**', '!**/openflow/index.js'],
              message: 'Outside src/openflow, import the codec only through src/openflow/index.ts (DEVELOPERS.md, "The codec").',
            },
          ],
        },
      ],
    },
  },
  {
    // Inside the codec, the binary side never imports the ovs-ofctl text syntax (src/openflow/text): the wire format
    // reads and writes bytes without knowing how a human spells them. index.ts re-exports both. The typescript-eslint
    // rule, because the layer rule for src/openflow (no-restricted-imports, above) must keep its own patterns.
    files: ['src/openflow/**/*.ts'],
    ignores: ['src/openflow/text/**', 'src/openflow/index.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['./text', './text/**', '../text', '../text/**', '**/openflow/text', '**/openflow/text/**'],
              message: 'The binary codec does not import src/openflow/text (the text syntax builds on the codec, not the reverse; DEVELOPERS.md, "The codec").',
            },
          ],
        },
      ],
    },
  },
  {
    // Types of the composition root are fine (they describe what the API is handed); values are not.
    files: ['src/api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/daemon', '**/daemon/**'],
              allowTypeImports: true,
              message: 'src/api must not import values from src/daemon (the composition root passes them in; DEVELOPERS.md).',
            },
          ],
        },
      ],
    },
  },
  // The composition root wires everything; only the entry points (src/cli, and src/lab which starts it for tests and
  // the demo) import it.
  forbidden('daemon', 'cli'),
  {
    files: ['src/pipeline/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['node:fs', 'node:net', 'node:child_process', 'node:http', 'fs', 'net', 'child_process'].map((name) => ({
            name,
            message: 'src/pipeline is pure: no I/O.',
          })),
          patterns: ['hosts', 'api', 'runtime', 'cli', 'cloud', 'daemon'].map((layer) => ({
            group: [`**/${layer}`, `**/${layer}/**`],
            message: `src/pipeline must not import src/${layer} (dependency direction, DEVELOPERS.md).`,
          })),
        },
      ],
    },
  },
);
