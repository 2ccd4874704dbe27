/**
 * `inputs.darktrace`: the documented InitVariablesError ids 20-35 in the vendor's order, then our
 * own checks (ids 36-45, 62-64 for the score filters, 69 for the proxy, docs/errors.md). Produces the resolved DarktraceInputConfig.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import type { DarktraceInputConfig, ServiceConfig, ServiceName } from './types.js';
import { SERVICE_NAMES } from './types.js';
import { LOOKUP_NAME, type Definitions, type ServiceDefinition } from './definitions.js';
import { fail, isDict, isMissingOrEmpty, show, type Dict } from './checks.js';
import { parseStartTime } from './start-time.js';
import { parseRequestsLimits } from './requests-limits.js';
import { tokenFromInlineOrFile } from './token-files.js';
import { compileProxy, type ProxyEnvironment } from './proxy-config.js';
import { compileScoreFilters } from './score-filters.js';

/**
 * Devo tag: 3-8 dot-separated segments of [a-z0-9_]. The SDK template schema asks for 4-8, but the
 * vendor's own Darktrace example uses `my.app.test2` (three), and Devo routes any tag (one without
 * a table lands in unknown.unknown), so three are allowed.
 */
const DEVO_TAG = /^(([a-z]|_|[0-9])+[.]){2,7}([a-z]|_|[0-9])+$/;
const INPUT_ID = /^[A-Za-z0-9_-]{1,32}$/;
const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface InputCompileContext {
  cwd: string;
  nowMs: number;
  /** The supervisor's environment (proxy variables only are read), captured at compile time. */
  env: ProxyEnvironment;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Host name (https implied), `host:port`, or a full URL with scheme and port. */
export function resolveInstance(instance: string, allowInsecureHttp: boolean): string {
  const text = instance.trim().replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `https://${text}`);
  } catch {
    fail(41, `inputs.darktrace.credentials.instance must be a host name or an http(s) URL, got ${show(instance)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    fail(41, `inputs.darktrace.credentials.instance must use https (or http to a loopback address), got ${show(instance)}`);
  }
  if (url.pathname !== '/' || url.search || url.username) {
    fail(41, `inputs.darktrace.credentials.instance must be a host name or base URL without path or query, got ${show(instance)}`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!HOSTNAME.test(host) && isIP(host) === 0) {
    fail(41, `inputs.darktrace.credentials.instance is not a valid host name, got ${show(instance)}`);
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname) && !allowInsecureHttp) {
    fail(42, `inputs.darktrace.credentials.instance uses plain http to a non-loopback host ${show(url.host)}; use https or set inputs.darktrace.allow_insecure_http: true`);
  }
  return url.origin;
}

function optionalPositiveInt(v: unknown, where: string, code: number, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (!Number.isInteger(v) || (v as number) < 1) fail(code, `${where} must be a positive integer, got ${show(v)}`);
  return v as number;
}

function compileService(
  inputName: string,
  name: ServiceName,
  raw: unknown,
  defs: Definitions,
  ctx: InputCompileContext,
): ServiceConfig {
  const where = `inputs.${inputName}.services.${name}`;
  // `{}` means "all defaults"; null (a key with nothing under it) is the documented id 30.
  if (raw === undefined || raw === null) fail(30, `${where} mandatory property is missing or empty`);
  if (!isDict(raw)) fail(31, `${where} property must be a dictionary`);
  const s = raw as Dict;
  const def = defs.services[name];
  if (def.lookupName !== null) return compileLookupService(where, name, s, def, defs);
  for (const key of ['override_devo_tag', 'override_tag'] as const) {
    if (s[key] !== undefined && s[key] !== null && typeof s[key] !== 'string') fail(32, `${where}.${key} property must be a string`);
  }
  // `override_tag` is the vendor's key (its overriding-rule log line names it): an alias.
  const given = (key: string): string | null => (typeof s[key] === 'string' && (s[key] as string).trim() ? (s[key] as string).trim() : null);
  const devoTag = given('override_devo_tag');
  const aliasTag = given('override_tag');
  if (devoTag !== null && aliasTag !== null && devoTag !== aliasTag) {
    fail(57, `${where}.override_devo_tag ${show(devoTag)} and ${where}.override_tag ${show(aliasTag)} disagree; override_tag is an alias of override_devo_tag, keep one of them`);
  }
  const tagKey = devoTag !== null ? 'override_devo_tag' : aliasTag !== null ? 'override_tag' : 'override_devo_tag';
  if (s.start_time_in_utc_format !== undefined && s.start_time_in_utc_format !== null && typeof s.start_time_in_utc_format !== 'string') {
    fail(33, `${where}.start_time_in_utc_format property must be a string`);
  }
  let startTimeMs: number | null = null;
  const startText = typeof s.start_time_in_utc_format === 'string' ? s.start_time_in_utc_format.trim() : '';
  if (startText) {
    startTimeMs = parseStartTime(startText, def.dateFormat);
    if (startTimeMs === null) fail(34, `${where}.start_time_in_utc_format does not match the format ${def.dateFormat}`);
  }
  const ow = s.override_time_window_interval_in_minutes;
  if (ow !== undefined && ow !== null && !Number.isInteger(ow)) {
    fail(35, `${where}.override_time_window_interval_in_minutes property must be an int`);
  }
  const requestPeriodSeconds = optionalPositiveInt(
    s.request_period_in_seconds, `${where}.request_period_in_seconds`, 37, defs.moduleGlobals.requestPeriodSeconds);
  if (ow !== undefined && ow !== null && (ow as number) < 1) {
    fail(38, `${where}.override_time_window_interval_in_minutes must be at least 1, got ${show(ow)}`);
  }
  if (startTimeMs !== null && startTimeMs > ctx.nowMs) {
    fail(39, `${where}.start_time_in_utc_format ${show(startText)} is in the future`);
  }
  const userTag = devoTag ?? aliasTag;
  const tag = userTag ?? def.devoTag;
  if (!DEVO_TAG.test(tag)) fail(40, `${where}.${tagKey} ${show(tag)} is not a valid Devo tag (3-8 dot-separated segments of a-z, 0-9, _)`);
  const requestsLimits = parseRequestsLimits(s.requests_limits, `${where}.requests_limits`);
  const scoreFilters = compileScoreFilters(name, s, where);
  const kind = def.timeWindowIntervalMinutes > 0 ? 'time-slot' : 'stateless';
  const windowMinutes = (ow as number | undefined) ?? def.timeWindowIntervalMinutes;
  const windowMs = windowMinutes * 60_000;
  return {
    name,
    kind,
    endpoint: def.endpoint,
    tag,
    lookupName: null,
    uniqueId: def.uniqueId,
    requestPeriodMs: requestPeriodSeconds * 1000,
    // No start time: begin one window back, so the first pull has something to show.
    startTimeMs: startTimeMs ?? ctx.nowMs - Math.max(windowMs, 60_000),
    startTimeText: startText,
    windowMs,
    persistenceVersion: def.persistenceVersion,
    maxWindowsInFlight: defs.moduleGlobals.maxWindowsInFlight,
    overlapMs: defs.moduleGlobals.overlapMinutes * 60_000,
    maxSeenIds: defs.moduleGlobals.maxSeenIds,
    overridingRules: [
      { serviceKey: tagKey === 'override_devo_tag' && userTag === null ? 'override_tag' : tagKey, value: userTag, definitionKey: 'devo_tag', definitionValue: def.devoTag },
      {
        serviceKey: 'override_time_window_interval_in_minutes',
        value: (ow as number | undefined | null) ?? null,
        definitionKey: 'time_window_interval_in_minutes',
        definitionValue: def.timeWindowIntervalMinutes,
      },
    ],
    requestsLimits,
    scoreFilters,
  };
}

/**
 * A lookup service (devices): an inventory pulled every `request_period_in_seconds` (default the
 * definition's, 3600 s) and sent as the Devo lookup `lookup_name` (default `darktrace_devices`).
 */
function compileLookupService(where: string, name: ServiceName, s: Dict, def: ServiceDefinition, defs: Definitions): ServiceConfig {
  const requestPeriodSeconds = optionalPositiveInt(
    s.request_period_in_seconds, `${where}.request_period_in_seconds`, 37, def.requestPeriodSeconds ?? defs.moduleGlobals.requestPeriodSeconds);
  const given = s.lookup_name;
  if (given !== undefined && given !== null && (typeof given !== 'string' || !LOOKUP_NAME.test(given))) {
    fail(72, `${where}.lookup_name must be a Devo lookup name (letters, digits and _, as ^[A-Za-z0-9_]+$), got ${show(given)}`);
  }
  const lookupName = typeof given === 'string' ? given : (def.lookupName as string);
  return {
    name,
    kind: 'lookup',
    endpoint: def.endpoint,
    tag: `my.lookup.${lookupName}`,
    lookupName,
    uniqueId: def.uniqueId,
    requestPeriodMs: requestPeriodSeconds * 1000,
    startTimeMs: 0,
    startTimeText: '',
    windowMs: 0,
    persistenceVersion: def.persistenceVersion,
    maxWindowsInFlight: 1,
    overlapMs: 0,
    maxSeenIds: 0,
    overridingRules: [],
    requestsLimits: parseRequestsLimits(s.requests_limits, `${where}.requests_limits`),
    scoreFilters: {},
  };
}

export function compileDarktraceInput(
  inputs: unknown,
  defs: Definitions,
  ctx: InputCompileContext,
): DarktraceInputConfig {
  const inputName = 'darktrace';
  const dt = isDict(inputs) ? inputs[inputName] : undefined;
  if (isMissingOrEmpty(dt)) fail(20, 'inputs.darktrace mandatory property is missing or empty');
  if (!isDict(dt)) fail(21, 'inputs.darktrace property must be a dictionary');
  const d = dt as Dict;
  const cred = d.credentials;
  if (isMissingOrEmpty(cred)) fail(22, 'inputs.darktrace.credentials mandatory property is missing or empty');
  if (!isDict(cred)) fail(23, 'inputs.darktrace.credentials property must be a dictionary');
  const c = { ...(cred as Dict) };
  c.public_token = tokenFromInlineOrFile(c, 'public_token', 'inputs.darktrace.credentials', ctx.cwd);
  c.private_token = tokenFromInlineOrFile(c, 'private_token', 'inputs.darktrace.credentials', ctx.cwd);
  if (isMissingOrEmpty(c.public_token)) fail(24, 'inputs.darktrace.credentials.public_token mandatory property is missing or empty');
  if (typeof c.public_token !== 'string') fail(25, 'inputs.darktrace.credentials.public_token property must be a string');
  if (isMissingOrEmpty(c.private_token)) fail(26, 'inputs.darktrace.credentials.private_token mandatory property is missing or empty');
  if (typeof c.private_token !== 'string') fail(27, 'inputs.darktrace.credentials.private_token property must be a string');
  if (isMissingOrEmpty(c.instance)) fail(28, 'inputs.darktrace.credentials.instance mandatory property is missing or empty');
  if (typeof c.instance !== 'string') fail(29, 'inputs.darktrace.credentials.instance property must be a string');

  const services = d.services;
  if (isMissingOrEmpty(services)) fail(30, 'inputs.darktrace.services mandatory property is missing or empty');
  if (!isDict(services)) fail(31, 'inputs.darktrace.services property must be a dictionary');
  for (const key of Object.keys(services as Dict)) {
    if (!SERVICE_NAMES.includes(key as ServiceName)) {
      fail(36, `inputs.darktrace.services.${key} is not a known service (expected one of ${SERVICE_NAMES.join(', ')})`);
    }
  }
  const idRaw = d.id;
  const id = typeof idRaw === 'number' && Number.isInteger(idRaw) ? String(idRaw) : idRaw;
  if (typeof id !== 'string' || !INPUT_ID.test(id)) {
    fail(43, `inputs.darktrace.id must be a short unique id of 1-32 letters, digits, _ or -, got ${show(idRaw)}`);
  }
  if (d.enabled !== undefined && typeof d.enabled !== 'boolean') fail(44, `inputs.darktrace.enabled must be true or false, got ${show(d.enabled)}`);
  if (d.allow_insecure_http !== undefined && typeof d.allow_insecure_http !== 'boolean') {
    fail(44, `inputs.darktrace.allow_insecure_http must be true or false, got ${show(d.allow_insecure_http)}`);
  }
  if (d.tls_verify !== undefined && typeof d.tls_verify !== 'boolean') fail(44, `inputs.darktrace.tls_verify must be true or false, got ${show(d.tls_verify)}`);
  const baseUrl = resolveInstance(c.instance as string, d.allow_insecure_http === true);
  let caFile: string | null = null;
  if (d.ca_file !== undefined && d.ca_file !== null) {
    if (typeof d.ca_file !== 'string' || !d.ca_file) fail(45, 'inputs.darktrace.ca_file must be a file path');
    const p = path.isAbsolute(d.ca_file) ? d.ca_file : path.resolve(ctx.cwd, 'certs', d.ca_file);
    try {
      caFile = readFileSync(p, 'utf8');
    } catch {
      fail(45, `inputs.darktrace.ca_file ${show(p)} cannot be read`);
    }
  }
  const mg = defs.moduleGlobals;
  const requestsPerSecond = d.requests_per_second === undefined ? mg.requestsPerSecond
    : optionalPositiveInt(d.requests_per_second, 'inputs.darktrace.requests_per_second', 37, mg.requestsPerSecond);
  return {
    name: inputName,
    id: id as string,
    enabled: d.enabled !== false,
    credentials: { publicToken: c.public_token as string, privateToken: c.private_token as string },
    baseUrl,
    caFile,
    tlsVerify: d.tls_verify !== false,
    requestTimeoutMs: mg.requestTimeoutSeconds * 1000,
    maxResponseBytes: mg.maxResponseSizeMb * 1024 * 1024,
    requestsPerSecond,
    requestsLimits: parseRequestsLimits(d.requests_limits, 'inputs.darktrace.requests_limits'),
    maxRetries: mg.maxRetries,
    setupRetryMs: mg.setupRetryPeriodSeconds * 1000,
    proxy: compileProxy(d.proxy, ctx.env),
    services: Object.entries(services as Dict).map(([name, raw]) => compileService(inputName, name as ServiceName, raw, defs, ctx)),
  };
}
