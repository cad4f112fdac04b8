// @ts-check
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';

import { LAYERS } from './layers.js';

// Node modules that do I/O: the evaluator and the variants are pure functions of (rules, request),
// and the shared API app runs on Lambda and Vercel too, so none of them may import these.
const IO_MODULES = [
  'fs',
  'fs/promises',
  'http',
  'https',
  'http2',
  'net',
  'tls',
  'dgram',
  'dns',
  'child_process',
  'worker_threads',
  'cluster',
].flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', performance: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // `import { type X }` alone still loads the module at run time: write `import type { X }`.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  // One-way house: each top-level folder of src/ may import only the folders listed for it in
  // layers.js (the README's architecture section shows the same table).
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { typescript: { project: './tsconfig.json' } },
      'boundaries/elements': Object.keys(LAYERS).map((name) => ({
        type: name,
        pattern: `src/${name}`,
      })),
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          message: '{{from.type}}/ may not import {{to.type}}/: see layers.js for the allowed directions',
          policies: Object.entries(LAYERS).map(([name, allowed]) => ({
            from: { element: { type: name } },
            allow: { to: { element: { types: { anyOf: [name, ...allowed] } } } },
          })),
        },
      ],
      'boundaries/no-unknown-dependencies': 'error',
    },
  },
  {
    files: ['src/evaluator/**/*.ts', 'src/variants/**/*.ts', 'src/api/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/api/adapters/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: IO_MODULES.map((name) => ({
            name,
            message: 'pure code: read files and sockets in requests/, app/ or an api adapter, not here',
          })),
        },
      ],
    },
  },
);
