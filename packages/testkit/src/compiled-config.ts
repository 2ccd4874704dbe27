/**
 * A compiled configuration for the development entry and tests: every service of one Darktrace
 * input, with small windows and fast periods unless overridden.
 */
import type { CompiledConfig, ServiceConfig, ServiceName } from '@devo-collector/common';
import { compiledConfig } from './output-config.js';

const TAGS: Record<ServiceName, string> = {
  modelbreaches: 'edr.darktrace.respond.model_breach',
  aianalyst_incidentevents: 'edr.darktrace.respond.incident_event',
  antigena: 'edr.darktrace.respond.antigena',
  summarystatistics: 'edr.darktrace.respond.summary',
  status: 'edr.darktrace.respond.status',
  devices: 'my.lookup.darktrace_devices',
};
const ENDPOINTS: Record<ServiceName, string> = {
  modelbreaches: '/modelbreaches',
  aianalyst_incidentevents: '/aianalyst/incidentevents',
  antigena: '/antigena',
  summarystatistics: '/summarystatistics',
  status: '/status',
  devices: '/devices',
};
const UNIQUE: Record<ServiceName, string | null> = {
  modelbreaches: 'pbid',
  aianalyst_incidentevents: 'id',
  antigena: 'codeid',
  summarystatistics: null,
  status: null,
  devices: 'did',
};

function startTimeText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

export function makeServiceConfig(name: ServiceName, o: Partial<ServiceConfig> & { startTimeMs: number }): ServiceConfig {
  const stateless = name === 'summarystatistics' || name === 'status';
  return {
    name,
    kind: name === 'devices' ? 'lookup' : stateless ? 'stateless' : 'time-slot',
    endpoint: ENDPOINTS[name],
    tag: TAGS[name],
    lookupName: name === 'devices' ? 'darktrace_devices' : null,
    uniqueId: UNIQUE[name],
    requestPeriodMs: 60_000,
    startTimeText: startTimeText(o.startTimeMs),
    windowMs: 3_600_000,
    persistenceVersion: 1,
    maxWindowsInFlight: 4,
    overlapMs: 10 * 60_000,
    maxSeenIds: 10_000,
    overridingRules: [],
    requestsLimits: null,
    scoreFilters: {},
    ...o,
  };
}

export function makeCompiledConfig(p: {
  baseUrl: string;
  publicToken: string;
  privateToken: string;
  stateDir: string;
  services: ServiceConfig[];
  inputId?: string;
  queueWrapMaxMessages?: number;
  persistence?: 'filesystem' | 'memory';
}): CompiledConfig {
  const base = compiledConfig(p.stateDir, [], { persistence: { type: p.persistence ?? 'filesystem', directory: p.stateDir }, queueWrapMaxMessages: p.queueWrapMaxMessages ?? 100 });
  return {
    ...base,
    source: { ...base.source, definitionsPath: 'collector_definitions.yaml' },
    collectorVersion: '1.0.0',
    hostname: 'localhost',
    globals: { ...base.globals, id: 'dev', name: 'dev' },
    inputs: [
      {
        name: 'darktrace',
        id: p.inputId ?? '122312',
        enabled: true,
        credentials: { publicToken: p.publicToken, privateToken: p.privateToken },
        baseUrl: p.baseUrl,
        caFile: null,
        tlsVerify: true,
        requestTimeoutMs: 5000,
        maxResponseBytes: 64 * 1024 * 1024,
        requestsPerSecond: 200,
        requestsLimits: null,
        maxRetries: 1,
        setupRetryMs: 60_000,
        proxy: null,
        services: p.services,
      },
    ],
  };
}
