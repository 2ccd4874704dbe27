/**
 * `outputs`: each entry `{type, config: {...}}` (the SDK's shape) or flat. Ids 46-49.
 * devo_platform needs chain, cert and key; relative paths resolve under `<cwd>/certs/`.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { OutputConfig, OutputType } from './types.js';
import { fail, isDict, isMissingOrEmpty, show, type Dict } from './checks.js';

const TYPES: readonly OutputType[] = ['devo_platform', 'relay', 'syslog', 'console'];
export const DEVO_CLOUD_HOSTS = ['collector-us.devo.io', 'collector-eu.devo.io', 'collector-ca.devo.io', 'collector-ap.devo.io'];

function certPath(where: string, v: unknown, cwd: string, required: boolean): string | null {
  if (v === undefined || v === null || v === '') {
    if (required) fail(49, `${where} is required for a devo_platform output`);
    return null;
  }
  if (typeof v !== 'string') fail(49, `${where} must be a file name, got ${show(v)}`);
  const p = path.isAbsolute(v) ? v : path.resolve(cwd, 'certs', v);
  try {
    accessSync(p, constants.R_OK);
  } catch {
    fail(49, `${where} file ${show(p)} does not exist or cannot be read`);
  }
  return p;
}

function bool(where: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') fail(47, `${where} must be true or false, got ${show(v)}`);
  return v;
}

/** The SDK's default zlib level for its gzip members (devo.md §1.4). */
export const DEFAULT_COMPRESSION_LEVEL = 6;

/**
 * `compression: gzip | none` (id 66, 67): only where the peer is a Devo endpoint (devo_platform,
 * relay), which inflates the members in-band; a plain syslog server or the console cannot. Gzip
 * members carry their own framing, so octet counting on top of them means nothing.
 */
function compression(where: string, type: OutputType, v: unknown, octetCounting: boolean): OutputConfig['compression'] {
  if (v === undefined || v === null || v === 'none') return 'none';
  if (v !== 'gzip') fail(66, `${where}.config.compression must be gzip or none, got ${show(v)}`);
  if (type !== 'devo_platform' && type !== 'relay') {
    fail(66, `${where}.config.compression: gzip is only for devo_platform and relay outputs (a ${type} output's peer cannot inflate it)`);
  }
  if (octetCounting) fail(67, `${where}.config.compression: gzip and octet_counting: true exclude each other (gzip members are their own framing)`);
  return 'gzip';
}

/**
 * `globals.devo_sender_compression_level` as given, if it is one (compileGlobals validates it and
 * fails with id 50 otherwise), else the SDK's default.
 */
export function compressionLevel(globals: unknown): number {
  const v = isDict(globals) ? (globals as Dict).devo_sender_compression_level : undefined;
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 9 ? (v as number) : DEFAULT_COMPRESSION_LEVEL;
}

function compileOutput(name: string, raw: unknown, cwd: string, level: number): OutputConfig {
  const where = `outputs.${name}`;
  if (!isDict(raw)) fail(47, `${where} must be a mapping with a "type"`);
  const o = raw as Dict;
  const type = o.type as OutputType;
  if (!TYPES.includes(type)) fail(47, `${where}.type must be one of ${TYPES.join(', ')}, got ${show(o.type)}`);
  const c: Dict = isDict(o.config) ? { ...o, ...o.config } : o;
  const isConsole = type === 'console';
  const address = c.address ?? c.url;
  if (!isConsole && (typeof address !== 'string' || !address.trim())) fail(48, `${where}.config.address must be a host name, got ${show(address)}`);
  const port = c.port ?? (type === 'devo_platform' ? 443 : 13000);
  if (!isConsole && (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)) {
    fail(48, `${where}.config.port must be an integer 1-65535, got ${show(port)}`);
  }
  const tls = type === 'devo_platform';
  const stall = c.stall_timeout_in_seconds ?? 60;
  if (typeof stall !== 'number' || !Number.isFinite(stall) || stall < 1) {
    fail(48, `${where}.config.stall_timeout_in_seconds must be a number of seconds >= 1, got ${show(stall)}`);
  }
  const peerBuffer = c.peer_receive_buffer_in_mb ?? 8;
  if (typeof peerBuffer !== 'number' || !Number.isFinite(peerBuffer) || peerBuffer < 1 || peerBuffer > 1024) {
    fail(48, `${where}.config.peer_receive_buffer_in_mb must be a number of MB 1-1024, got ${show(peerBuffer)}`);
  }
  const concurrency = c.concurrent_connections ?? 1;
  if (!Number.isInteger(concurrency) || (concurrency as number) < 1 || (concurrency as number) > 16) {
    fail(48, `${where}.config.concurrent_connections must be an integer 1-16, got ${show(concurrency)}`);
  }
  const octetCounting = bool(`${where}.config.octet_counting`, c.octet_counting, false);
  return {
    name,
    type,
    address: isConsole ? '' : (address as string).trim(),
    port: isConsole ? 0 : (port as number),
    chainPath: isConsole ? null : certPath(`${where}.config.chain`, c.chain, cwd, tls),
    certPath: isConsole ? null : certPath(`${where}.config.cert`, c.cert, cwd, tls),
    keyPath: isConsole ? null : certPath(`${where}.config.key`, c.key, cwd, tls),
    checkHostname: bool(`${where}.config.check_hostname`, c.check_hostname, false),
    octetCounting,
    compression: compression(where, type, c.compression, octetCounting),
    compressionLevel: level,
    concurrency: concurrency as number,
    connectTimeoutMs: 10_000,
    idleReconnectMs: 30_000,
    maxConnectionAgeMs: 3_600_000,
    stallTimeoutMs: Math.round(stall * 1000),
    peerReceiveBufferBytes: Math.round(peerBuffer * 1024 * 1024),
  };
}

export function compileOutputs(raw: unknown, cwd: string, level = DEFAULT_COMPRESSION_LEVEL): OutputConfig[] {
  if (isMissingOrEmpty(raw)) fail(46, 'outputs mandatory property is missing or empty');
  if (!isDict(raw)) fail(46, 'outputs property must be a dictionary');
  return Object.entries(raw as Dict).map(([name, o]) => compileOutput(name, o, cwd, level));
}
