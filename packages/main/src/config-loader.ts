/**
 * Finds and reads the configuration files (the only place that touches the file system for
 * config), in the two documented modes:
 * - file mode: `--config config.yaml` (relative: the working directory first, then `config/`);
 * - Collector Server mode: `--job-config` + `--collector-config` JSON files (defaults under
 *   /etc/devo), converted to the same structure.
 * Problems become InitVariablesError 51-53, 55.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { InitVariablesError, type Logger } from '@devo-collector/common';

const DEFAULT_JOB_CONFIG = '/etc/devo/job/job_config.json';
const DEFAULT_COLLECTOR_CONFIG = '/etc/devo/collector/collector_config.json';

interface LoadArgs {
  config?: string;
  jobConfig?: string;
  collectorConfig?: string;
  definitions?: string;
  cwd: string;
}

interface LoadedFiles {
  mode: 'file' | 'collector-server';
  configPath: string | null;
  raw: unknown;
  definitionsPath: string;
  definitionsRaw: unknown;
}

/** The bundled collector_definitions.yaml: next to dist/main.js, or in packages/darktrace in development. */
export function bundledDefinitionsPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [
    path.join(here, 'collector_definitions.yaml'),
    path.resolve(here, '..', '..', 'darktrace', 'collector_definitions.yaml'),
  ];
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

function readStructured(file: string, code: number, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InitVariablesError(code === 53 ? 53 : 51, `${what} file "${file}" cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    // YAML is a superset of JSON; dates stay strings (the vendor loads them as strings too).
    return parseYaml(text, { schema: 'core' });
  } catch (e) {
    throw new InitVariablesError(code, `${what} file "${file}" is not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

export function resolveConfigPath(config: string, cwd: string): string {
  if (path.isAbsolute(config)) return config;
  const direct = path.resolve(cwd, config);
  if (existsSync(direct)) return direct;
  const underConfig = path.resolve(cwd, 'config', config);
  if (existsSync(underConfig)) return underConfig;
  throw new InitVariablesError(51, `configuration file "${config}" not found (looked in "${direct}" and "${underConfig}")`);
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Collector Server files -> the config.yaml structure (reference devo.md §3.1). */
export function fromCollectorServer(job: unknown, collector: unknown): Dict {
  if (!isDict(job) || !isDict(collector)) throw new InitVariablesError(55, 'job and collector config files must both be JSON objects');
  const globals: Dict = { ...(isDict(job.global_overrides) ? job.global_overrides : {}) };
  if (collector.job_id !== undefined) globals.id = String(collector.job_id);
  if (typeof collector.job_name === 'string') globals.name = collector.job_name.replace(/[.# ]/g, '_');
  if (typeof collector.debug === 'boolean') globals.debug = collector.debug;
  if (isDict(collector.state_store)) {
    const ss = collector.state_store;
    const cfg = isDict(ss.config) ? ss.config : {};
    globals.persistence = { type: ss.type ?? 'filesystem', config: { directory_name: cfg.dir ?? cfg.directory_name ?? 'state' } };
  }
  const outputs: Dict = {};
  const loggers = collector.loggers;
  const entries: [string, unknown][] = Array.isArray(loggers)
    ? loggers.map((l, i) => [`${isDict(l) ? String(l.type) : 'output'}_${i + 1}`, l])
    : isDict(loggers) ? Object.entries(loggers) : [];
  for (const [name, l] of entries) {
    if (!isDict(l)) continue;
    const c: Dict = { ...(isDict(l.config) ? l.config : l) };
    const rename: Record<string, string> = { chain_loc: 'chain', cert_loc: 'cert', key_loc: 'key', location: 'address', url: 'address' };
    for (const [from, to] of Object.entries(rename)) if (c[from] !== undefined && c[to] === undefined) c[to] = c[from];
    outputs[name] = { type: l.type, config: c };
  }
  const inputs: Dict = {};
  if (isDict(job.inputs)) {
    for (const [k, v] of Object.entries(job.inputs)) {
      inputs[k] = isDict(v) ? Object.fromEntries(Object.entries(v).filter(([key]) => key !== 'persistence')) : v;
    }
  }
  return { globals, outputs, inputs };
}

export function loadConfigFiles(args: LoadArgs, log: Logger): LoadedFiles {
  const jobLoc = args.jobConfig ?? DEFAULT_JOB_CONFIG;
  const colLoc = args.collectorConfig ?? DEFAULT_COLLECTOR_CONFIG;
  log.info(`Loading configuration using the following files: ${JSON.stringify({
    full_config: args.config ?? null, job_config_loc: args.jobConfig ?? null, collector_config_loc: args.collectorConfig ?? null })}`);
  for (const [name, given, loc] of [['job_config_loc', args.jobConfig, jobLoc], ['collector_config_loc', args.collectorConfig, colLoc]] as const) {
    if (!given) {
      log.info(`Using the default location for "${name}" file: "${loc}"`);
      if (!existsSync(path.dirname(loc))) log.info(`"${path.dirname(loc)}" does not exists`);
    }
  }
  const definitionsPath = args.definitions ? path.resolve(args.cwd, args.definitions) : bundledDefinitionsPath();
  let configPath: string | null = null;
  let raw: unknown;
  let mode: LoadedFiles['mode'] = 'file';
  const jobOk = existsSync(jobLoc);
  const colOk = existsSync(colLoc);
  if (args.config) {
    configPath = resolveConfigPath(args.config, args.cwd);
    raw = readStructured(configPath, 52, 'configuration');
  } else if (jobOk && colOk) {
    mode = 'collector-server';
    raw = fromCollectorServer(readStructured(jobLoc, 55, 'job config'), readStructured(colLoc, 55, 'collector config'));
  } else {
    throw new InitVariablesError(51, `no configuration given: pass --config <file>, or provide both "${jobLoc}" and "${colLoc}"`);
  }
  log.info(`Results of validation of config files parameters: ${JSON.stringify({
    config: configPath, config_validated: configPath !== null,
    job_config_loc: jobLoc, job_config_loc_default: !args.jobConfig, job_config_loc_validated: mode === 'collector-server',
    collector_config_loc: colLoc, collector_config_loc_default: !args.collectorConfig, collector_config_loc_validated: mode === 'collector-server' })}`);
  const definitionsRaw = readStructured(definitionsPath, 53, 'collector definitions');
  return { mode, configPath, raw, definitionsPath, definitionsRaw };
}
