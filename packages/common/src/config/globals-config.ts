/**
 * `globals`: structure and ranges checked with a JSON schema (ajv), then resolved with defaults.
 * Any schema violation is InitVariablesError(50) naming the field, the expectation and the value.
 * Unknown keys are caught before, by the known-key table (id 56).
 */
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import type { GlobalsConfig } from './types.js';
import { fail, isDict, show, type Dict } from './checks.js';

const globalsSchema = {
  type: 'object',
  properties: {
    id: { type: ['string', 'integer'] },
    name: { type: 'string', minLength: 1, maxLength: 64 },
    debug: { type: 'boolean' },
    persistence: {
      type: 'object',
      properties: {
        type: { enum: ['filesystem', 'memory'] },
        config: {
          type: 'object',
          properties: { directory_name: { type: 'string', minLength: 1 } },
        },
      },
    },
    queue_max_size_in_mb: { type: 'integer', minimum: 1, maximum: 5120 },
    queue_max_size_in_messages: { type: 'integer', minimum: 1, maximum: 100000 },
    queue_max_elapsed_time_in_sec: { type: 'integer', minimum: 1, maximum: 600 },
    queue_wrap_max_size_in_messages: { type: 'integer', minimum: 1, maximum: 500 },
    queue_generate_metrics: { type: 'boolean' },
    generate_collector_details: { type: 'boolean' },
    sender_stats_period_in_sec: { type: 'integer', minimum: 1, maximum: 1800 },
    gc_log_period_in_sec: { type: 'integer', minimum: 1, maximum: 86400 },
    shutdown_grace_period_in_sec: { type: 'integer', minimum: 1, maximum: 600 },
    web_service: {
      type: 'object',
      properties: {
        enabled: { type: 'boolean' },
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    // The level of the gzip members of outputs with `compression: gzip` (read by outputs-config.ts).
    devo_sender_compression_level: { type: 'integer', minimum: 0, maximum: 9 },
    // The vendor's keys with no effect here (docs/configuration.md): type-checked, then ignored.
    devo_sender_threshold_for_using_gzip_in_transport_layer: { type: 'number', minimum: 0 },
    devo_sender_compression_buffer_in_bytes: { type: 'integer', minimum: 1 },
    multiprocessing: { type: 'boolean' },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile(globalsSchema);

function describe(e: ErrorObject, data: unknown): string {
  const field = `globals${e.instancePath.replace(/\//g, '.')}`;
  let value: unknown = data;
  for (const part of e.instancePath.split('/').filter(Boolean)) value = isDict(value) ? value[part] : undefined;
  return `${field} ${e.message ?? 'is invalid'}, got ${show(value)}`;
}

export function compileGlobals(raw: unknown, cwd: string): GlobalsConfig {
  const g: Dict = raw === undefined || raw === null ? {} : (raw as Dict);
  if (!isDict(g)) fail(50, `globals must be a mapping, got ${show(raw)}`);
  if (!validate(g)) fail(50, describe(validate.errors![0]!, g));
  const p = isDict(g.persistence) ? g.persistence : {};
  const pc = isDict(p.config) ? p.config : {};
  const dir = typeof pc.directory_name === 'string' ? pc.directory_name : 'state';
  const web = isDict(g.web_service) ? g.web_service : {};
  return {
    id: g.id === undefined ? '0' : String(g.id),
    name: typeof g.name === 'string' ? g.name : 'darktrace',
    debug: g.debug === true,
    persistence: {
      type: p.type === 'memory' ? 'memory' : 'filesystem',
      directory: path.resolve(cwd, dir),
    },
    queueMaxSizeBytes: ((g.queue_max_size_in_mb as number | undefined) ?? 1024) * 1024 * 1024,
    queueWrapMaxMessages: (g.queue_wrap_max_size_in_messages as number | undefined) ?? 100,
    senderStatsPeriodMs: ((g.sender_stats_period_in_sec as number | undefined) ?? 300) * 1000,
    gcLogPeriodMs: ((g.gc_log_period_in_sec as number | undefined) ?? 300) * 1000,
    shutdownGraceMs: ((g.shutdown_grace_period_in_sec as number | undefined) ?? 10) * 1000,
    web: {
      enabled: web.enabled !== false,
      host: typeof web.host === 'string' ? web.host : '0.0.0.0',
      port: typeof web.port === 'number' ? web.port : 3000,
    },
  };
}
