/**
 * compileConfig(): user config + definitions -> CompiledConfig. Runs once, at the edge, in the
 * supervisor; throws InitVariablesError with the documented id on the first problem found.
 * Order: definitions (1-19), `${VAR}` references (59), unknown inputs (54), unknown keys (56),
 * inputs (20-45, 57-61), outputs (46-49), globals (50).
 */
import os from 'node:os';
import type { CompiledConfig } from './types.js';
import { validateDefinitions } from './definitions.js';
import { compileDarktraceInput } from './input-config.js';
import { compileOutputs, compressionLevel } from './outputs-config.js';
import { compileGlobals } from './globals-config.js';
import { fail, isDict, show } from './checks.js';
import { registerSecret } from '../secrets.js';
import { resolveEnvRefs } from './env-refs.js';
import { checkKnownKeys } from './known-keys.js';
import { proxySecrets } from './proxy-config.js';

export interface CompileOptions {
  cwd: string;
  configPath: string | null;
  definitionsPath: string;
  mode: 'file' | 'collector-server';
  nowMs?: number;
  hostname?: string;
  /**
   * The supervisor's process.env: where `${VAR}` references are resolved from, and the proxy
   * variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) are read from. Absent: none (compiling never
   * reads process.env by itself).
   */
  env?: Readonly<Record<string, string | undefined>>;
}

export function compileConfig(userRaw: unknown, definitionsRaw: unknown, opts: CompileOptions): CompiledConfig {
  const defs = validateDefinitions(definitionsRaw);
  const raw = resolveEnvRefs(userRaw, opts.env ?? {});
  if (!isDict(raw)) fail(52, `the configuration must be a mapping with globals, outputs and inputs, got ${show(raw)}`);
  const inputs = raw.inputs;
  if (isDict(inputs)) {
    for (const name of Object.keys(inputs)) {
      if (name !== 'darktrace') fail(54, `inputs.${name} is not a known input (this collector has one input: darktrace)`);
    }
  }
  checkKnownKeys(raw);
  const darktrace = compileDarktraceInput(inputs, defs, { cwd: opts.cwd, nowMs: opts.nowMs ?? Date.now(), env: opts.env ?? {} });
  // Register secrets before anything else can log them.
  registerSecret(darktrace.credentials.publicToken);
  registerSecret(darktrace.credentials.privateToken);
  for (const s of [...proxySecrets(darktrace.proxy?.httpsProxy ?? null), ...proxySecrets(darktrace.proxy?.httpProxy ?? null)]) registerSecret(s);
  const outputs = compileOutputs(raw.outputs, opts.cwd, compressionLevel(raw.globals));
  const globals = compileGlobals(raw.globals, opts.cwd);
  return {
    source: { configPath: opts.configPath, definitionsPath: opts.definitionsPath, mode: opts.mode },
    collectorVersion: defs.collectorVersion,
    hostname: opts.hostname ?? os.hostname(),
    globals,
    outputs,
    inputs: [darktrace],
  };
}
