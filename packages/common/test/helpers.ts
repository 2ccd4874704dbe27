/**
 * What the config tests of this package share: the bundled collector_definitions.yaml, a
 * workspace holding placeholder certificate files (the compiler only checks that they exist), one
 * `compileConfig` call in file mode, and "the InitVariablesError this throws".
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { compileConfig, InitVariablesError, type CompiledConfig } from '../src/index.js';

export type Dict = Record<string, any>;

export const here = path.dirname(fileURLToPath(import.meta.url));
const definitionsText = readFileSync(path.resolve(here, '../../darktrace/collector_definitions.yaml'), 'utf8');
/** A start time every test can take as "now" (start times before it are valid). */
const FIXED_NOW_MS = Date.parse('2026-01-01T00:00:00Z');

/** A fresh parse of the bundled definitions: a test may edit it. */
export const bundledDefinitions = (): Dict => parse(definitionsText) as Dict;

/** A temporary directory with certs/chain.crt, certs/domain.crt and certs/domain.key. */
export function configWorkspace(prefix: string): string {
  const cwd = mkdtempSync(path.join(os.tmpdir(), prefix));
  mkdirSync(path.join(cwd, 'certs'));
  for (const f of ['chain.crt', 'domain.crt', 'domain.key']) writeFileSync(path.join(cwd, 'certs', f), 'x');
  return cwd;
}

/** `compileConfig(raw, defs)` as the CLI runs it on config.yaml in `cwd`, at FIXED_NOW_MS unless `nowMs` is given. */
export function compileIn(cwd: string, raw: unknown, o: { defs?: unknown; env?: Record<string, string>; nowMs?: number } = {}): CompiledConfig {
  return compileConfig(raw, o.defs ?? bundledDefinitions(), { cwd, configPath: 'config.yaml', definitionsPath: 'defs.yaml', mode: 'file', nowMs: o.nowMs ?? FIXED_NOW_MS, env: o.env ?? {} });
}

/** The InitVariablesError `fn` throws (the test fails if it throws anything else or nothing). */
export function initError(fn: () => unknown): InitVariablesError {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InitVariablesError);
  return caught as InitVariablesError;
}
