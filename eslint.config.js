// Lint: type-aware typescript-eslint for promise handling, plus import cycles (issue 13 item 7).
// The rule set is deliberately small: the named promise rules catch lost errors and unhandled
// rejections, no-cycle keeps the package graph a tree, and the recommended (non type-checked) set
// catches the usual slips. The full recommended-type-checked set was tried: about 540 findings, 450
// of them no-unsafe-* on parsed JSON/YAML (mostly in tests) and 39 no-unnecessary-type-assertion,
// none a bug, so it stays off rather than burying the two promise rules in noise.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      // Generated from the WebAssembly build (packages/darktrace/assembly), not edited by hand.
      'packages/darktrace/src/json-scan-wasm.ts',
      // AssemblyScript (its own types: i32, load<u8>), compiled by asc, not by tsc.
      'packages/darktrace/assembly/**',
      'bench/results/**',
      'state/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    plugins: { 'import-x': importX },
    settings: {
      // The dependency files are parsed too (to follow their imports): they are TypeScript.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: false }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Tests read parsed JSON/YAML documents and poke at internals; `any` there is the honest type.
    files: ['**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
