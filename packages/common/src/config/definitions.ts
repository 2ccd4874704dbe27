/**
 * collector_definitions.yaml: the bundled description of each service (endpoint, tag, window,
 * unique id, persistence version). Validated with the vendor's InitVariablesError ids 1-19, in the
 * vendor's order, so a broken definitions file names the exact property at fault.
 */
import { SERVICE_NAMES, type ServiceName } from './types.js';
import { fail, isDict, isMissingOrEmpty, type Dict } from './checks.js';

export interface ServiceDefinition {
  baseUrl: string;
  dateFormat: string;
  endpoint: string;
  timeWindowIntervalMinutes: number;
  devoTag: string;
  uniqueId: string | null;
  persistenceVersion: number;
  /** Lookup services (devices): the default Devo lookup name; null for event services. */
  lookupName: string | null;
  /** The service's own default `request_period_in_seconds` (devices: 3600), else null (module_globals'). */
  requestPeriodSeconds: number | null;
}

/** A Devo lookup name (devo-sdk `Lookup`): letters, digits and `_`. */
export const LOOKUP_NAME = /^[A-Za-z0-9_]+$/;

export interface ModuleGlobals {
  requestPeriodSeconds: number;
  maxWindowsInFlight: number;
  overlapMinutes: number;
  maxSeenIds: number;
  requestsPerSecond: number;
  requestTimeoutSeconds: number;
  maxRetries: number;
  maxResponseSizeMb: number;
  setupRetryPeriodSeconds: number;
}

export interface Definitions {
  collectorName: string;
  collectorVersion: string;
  moduleGlobals: ModuleGlobals;
  services: Record<ServiceName, ServiceDefinition>;
}

const MODULE_GLOBAL_DEFAULTS: ModuleGlobals = {
  requestPeriodSeconds: 60,
  maxWindowsInFlight: 8,
  overlapMinutes: 15,
  maxSeenIds: 200_000,
  requestsPerSecond: 60,
  requestTimeoutSeconds: 60,
  maxRetries: 4,
  maxResponseSizeMb: 256,
  setupRetryPeriodSeconds: 60,
};

/** A module_globals integer: `v` when it is one of at least `min`, else the default. */
function intOr(v: unknown, fallback: number, min = 1): number {
  return Number.isInteger(v) && (v as number) >= min ? (v as number) : fallback;
}

/** A mandatory non-negative integer property, with its three ids: missing, not an integer, negative. */
function checkCount(v: unknown, name: string, [missing, notInteger, negative]: readonly [number, number, number]): void {
  if (v === undefined || v === null || v === '') fail(missing, `"${name}" mandatory property is missing or empty`);
  if (!Number.isInteger(v)) fail(notInteger, `"${name}" property must be an integer`);
  if ((v as number) < 0) fail(negative, `"${name}" property can not be a negative value`);
}

function validateService(path: string, props: unknown): ServiceDefinition {
  if (isMissingOrEmpty(props)) fail(7, `"${path}" mandatory property is missing or empty`);
  if (!isDict(props)) fail(8, `"${path}" property must be a dictionary`);
  const p = props as Dict;
  if (isMissingOrEmpty(p.base_url)) fail(3, '"base_url" mandatory property is missing or empty');
  if (typeof p.base_url !== 'string') fail(4, '"base_url" property must be a string');
  if (isMissingOrEmpty(p.date_format)) fail(5, '"date_format" mandatory property is missing or empty');
  if (typeof p.date_format !== 'string') fail(6, '"date_format" property must be a string');
  if (isMissingOrEmpty(p.endpoint)) fail(9, `"${path}.endpoint" mandatory property is missing or empty`);
  if (typeof p.endpoint !== 'string') fail(10, `"${path}.endpoint" property must be a string`);
  const tw = p.time_window_interval_in_minutes;
  checkCount(tw, `${path}.time_window_interval_in_minutes`, [11, 12, 13]);
  // A lookup service (lookup_name) sends my.lookup.* lines: it has no devo_tag.
  const lookup = p.lookup_name !== undefined;
  if (lookup && (typeof p.lookup_name !== 'string' || !LOOKUP_NAME.test(p.lookup_name))) {
    fail(70, `"${path}.lookup_name" must be a Devo lookup name (letters, digits and _), got ${JSON.stringify(p.lookup_name)}`);
  }
  if (!lookup && isMissingOrEmpty(p.devo_tag)) fail(14, `"${path}.devo_tag" mandatory property is missing or empty`);
  if (!lookup && typeof p.devo_tag !== 'string') fail(15, `"${path}.devo_tag" property must be a string`);
  const rp = p.request_period_in_seconds;
  if (rp !== undefined && !(Number.isInteger(rp) && (rp as number) > 0)) {
    fail(71, `"${path}.request_period_in_seconds" must be a positive integer, got ${JSON.stringify(rp)}`);
  }
  if (p.unique_id !== undefined && p.unique_id !== null && typeof p.unique_id !== 'string') {
    fail(16, `"${path}.unique_id" property must be a string`);
  }
  const pv = p.persistence_version;
  checkCount(pv, `${path}.persistence_version`, [17, 18, 19]);
  return {
    baseUrl: p.base_url as string,
    dateFormat: p.date_format as string,
    endpoint: p.endpoint as string,
    timeWindowIntervalMinutes: tw as number,
    devoTag: lookup ? `my.lookup.${p.lookup_name as string}` : (p.devo_tag as string),
    uniqueId: (p.unique_id as string | undefined) ?? null,
    persistenceVersion: pv as number,
    lookupName: lookup ? (p.lookup_name as string) : null,
    requestPeriodSeconds: (rp as number | undefined) ?? null,
  };
}

/** Throws InitVariablesError 1-19 (and 53 when the file is not a mapping at all). */
export function validateDefinitions(raw: unknown, inputName = 'darktrace'): Definitions {
  if (!isDict(raw)) fail(53, 'collector definitions must be a YAML mapping with "collector_inputs"');
  const root = raw as Dict;
  const input = isDict(root.collector_inputs) ? (root.collector_inputs[inputName] as unknown) : undefined;
  const inputDict: Dict = isDict(input) ? input : {};
  const mg = inputDict.module_globals;
  if (isMissingOrEmpty(mg)) fail(1, '"module_globals" mandatory property is missing or empty');
  if (!isDict(mg)) fail(2, '"module_globals" property must be a dictionary');
  const g = mg as Dict;
  const moduleGlobals: ModuleGlobals = {
    requestPeriodSeconds: intOr(g.request_period_in_seconds, MODULE_GLOBAL_DEFAULTS.requestPeriodSeconds),
    maxWindowsInFlight: intOr(g.max_windows_in_flight, MODULE_GLOBAL_DEFAULTS.maxWindowsInFlight),
    overlapMinutes: intOr(g.overlap_in_minutes, MODULE_GLOBAL_DEFAULTS.overlapMinutes, 0),
    maxSeenIds: intOr(g.max_seen_ids, MODULE_GLOBAL_DEFAULTS.maxSeenIds),
    requestsPerSecond: intOr(g.requests_per_second, MODULE_GLOBAL_DEFAULTS.requestsPerSecond),
    requestTimeoutSeconds: intOr(g.request_timeout_in_seconds, MODULE_GLOBAL_DEFAULTS.requestTimeoutSeconds),
    maxRetries: intOr(g.max_retries, MODULE_GLOBAL_DEFAULTS.maxRetries, 0),
    maxResponseSizeMb: intOr(g.max_response_size_in_mb, MODULE_GLOBAL_DEFAULTS.maxResponseSizeMb),
    setupRetryPeriodSeconds: intOr(g.setup_retry_period_in_seconds, MODULE_GLOBAL_DEFAULTS.setupRetryPeriodSeconds),
  };
  const servicesRaw = isDict(inputDict.services) ? inputDict.services : {};
  const services = {} as Record<ServiceName, ServiceDefinition>;
  for (const name of SERVICE_NAMES) {
    const path = `collector_inputs.${inputName}.services.${name}.module_properties`;
    const svc = servicesRaw[name];
    services[name] = validateService(path, isDict(svc) ? svc.module_properties : undefined);
  }
  const cg = isDict(root.collector_globals) ? root.collector_globals : {};
  return {
    collectorName: typeof cg.name === 'string' ? cg.name : 'darktrace_collector',
    collectorVersion: typeof cg.version === 'string' ? cg.version : '0.0.0',
    moduleGlobals,
    services,
  };
}
