/**
 * Every key config.yaml may hold, in one table: a key not listed here is InitVariablesError(56)
 * with its full path and the closest known key, so a typo never silently falls back to a default.
 * `*` stands for any name (output names; service names, which id 36 checks); `[]` for the items
 * of a list (`requests_limits`). The vendor's keys that mean nothing here are listed too (accepted,
 * no effect: docs/configuration.md says which). To add a key, add its path.
 */
import { fail, isDict } from './checks.js';

/** Output keys, valid under `outputs.<name>.config` and, flat, next to `type`. */
const OUTPUT_KEYS = [
  'type', // `type: SSL` inside config (devo.md §3.3); next to config: the output type
  'address', 'url', 'port', 'chain', 'cert', 'key',
  'check_hostname', 'octet_counting', 'compression', 'concurrent_connections', 'stall_timeout_in_seconds', 'peer_receive_buffer_in_mb',
  // Collector Server loggers keep their original names next to the renamed ones.
  'chain_loc', 'cert_loc', 'key_loc', 'location',
  // The vendor's sender settings: accepted, no effect (our sender has its own reconnect policy).
  'connecting_retries', 'connecting_max_wait_in_seconds', 'connecting_initial_wait_in_seconds',
  'sending_timeout', 'sending_retries', 'sending_max_wait_in_seconds', 'sending_initial_wait_in_seconds',
  'period_sender_stats_in_seconds', 'destination', 'activate_final_queue', 'generate_metrics',
];

const LIMITS = (at: string): string[] => ['period', 'number_of_requests', 'behavior'].map((k) => `${at}.requests_limits[].${k}`);

export const KNOWN_KEYS: readonly string[] = [
  'globals.id',
  'globals.name',
  'globals.debug',
  'globals.persistence.type',
  'globals.persistence.config.directory_name',
  // redis persistence (devo.md §3.2): accepted, no effect (type redis itself is id 50).
  'globals.persistence.config.host',
  'globals.persistence.config.port',
  'globals.persistence.config.password',
  'globals.persistence.config.db',
  'globals.queue_max_size_in_mb',
  'globals.queue_max_size_in_messages',
  'globals.queue_max_elapsed_time_in_sec',
  'globals.queue_wrap_max_size_in_messages',
  'globals.queue_generate_metrics',
  'globals.generate_collector_details',
  'globals.sender_stats_period_in_sec',
  'globals.devo_sender_threshold_for_using_gzip_in_transport_layer',
  'globals.devo_sender_compression_level',
  'globals.devo_sender_compression_buffer_in_bytes',
  'globals.multiprocessing',
  'globals.gc_log_period_in_sec',
  'globals.shutdown_grace_period_in_sec',
  'globals.web_service.enabled',
  'globals.web_service.host',
  'globals.web_service.port',
  ...OUTPUT_KEYS.flatMap((k) => [`outputs.*.${k}`, `outputs.*.config.${k}`]),
  'inputs.darktrace.id',
  'inputs.darktrace.enabled',
  'inputs.darktrace.environment',
  'inputs.darktrace.credentials.public_token',
  'inputs.darktrace.credentials.private_token',
  'inputs.darktrace.credentials.public_token_file',
  'inputs.darktrace.credentials.private_token_file',
  'inputs.darktrace.credentials.instance',
  'inputs.darktrace.allow_insecure_http',
  'inputs.darktrace.tls_verify',
  'inputs.darktrace.ca_file',
  'inputs.darktrace.proxy',
  'inputs.darktrace.requests_per_second',
  ...LIMITS('inputs.darktrace'),
  'inputs.darktrace.services.*.request_period_in_seconds',
  'inputs.darktrace.services.*.start_time_in_utc_format',
  'inputs.darktrace.services.*.override_devo_tag',
  'inputs.darktrace.services.*.override_tag',
  'inputs.darktrace.services.*.override_time_window_interval_in_minutes',
  // Score filters: which service takes which is id 64 (score-filters.ts).
  'inputs.darktrace.services.*.minscore',
  'inputs.darktrace.services.*.mingroupscore',
  ...LIMITS('inputs.darktrace.services.*'),
  // The device inventory (a lookup, not events): no start time, window or tag of its own.
  'inputs.darktrace.services.devices.request_period_in_seconds',
  'inputs.darktrace.services.devices.lookup_name',
  ...LIMITS('inputs.darktrace.services.devices'),
];

interface KeyNode {
  children: Map<string, KeyNode>;
}

function buildTree(paths: readonly string[]): KeyNode {
  const root: KeyNode = { children: new Map() };
  for (const p of paths) {
    let node = root;
    for (const seg of p.replace(/\[\]/g, '.[]').split('.')) {
      let next = node.children.get(seg);
      if (!next) node.children.set(seg, (next = { children: new Map() }));
      node = next;
    }
  }
  return root;
}

const TREE = buildTree(KNOWN_KEYS);

/** Levenshtein distance (two rows). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

export function closestKey(key: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(key.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function walk(value: unknown, node: KeyNode, at: string): void {
  const items = node.children.get('[]');
  if (Array.isArray(value)) {
    if (items) value.forEach((v, i) => walk(v, items, `${at}[${i}]`));
    return;
  }
  if (!isDict(value)) return;
  // A list key given as one mapping (the 2022 `requests_limits: {period, ...}` form).
  if (items && node.children.size === 1) return walk(value, items, at);
  for (const [k, v] of Object.entries(value)) {
    const child = node.children.get(k) ?? node.children.get('*');
    const where = at ? `${at}.${k}` : k;
    if (!child) {
      const names = [...node.children.keys()].filter((n) => n !== '*' && n !== '[]');
      const hint = closestKey(k, names);
      fail(56, `${where} is not a known key${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
    if (child.children.size > 0) walk(v, child, where);
  }
}

/** Throws InitVariablesError(56) on the first key the table does not know. */
export function checkKnownKeys(raw: unknown): void {
  walk(raw, TREE, '');
}
