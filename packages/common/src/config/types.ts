/**
 * The compiled configuration: what `compileConfig()` produces from config.yaml plus
 * collector_definitions.yaml. Every field is present and resolved (absolute paths, durations in
 * ms). Workers receive it in their `init` message and never read files or process.env for config.
 */

export type ServiceName = 'modelbreaches' | 'aianalyst_incidentevents' | 'antigena' | 'summarystatistics' | 'status' | 'devices';
export const SERVICE_NAMES: readonly ServiceName[] = [
  'modelbreaches',
  'aianalyst_incidentevents',
  'antigena',
  'summarystatistics',
  'status',
  'devices',
];

/** `lookup`: the answer is an inventory sent as a Devo lookup (devices), not as events. */
export type ServiceKind = 'time-slot' | 'stateless' | 'lookup';

export interface ServiceConfig {
  name: ServiceName;
  kind: ServiceKind;
  /** e.g. `/modelbreaches` */
  endpoint: string;
  /**
   * Devo tag: the definitions' devo_tag unless override_devo_tag (alias override_tag) is set. A
   * lookup service's lines carry their own tags (`my.lookup.*`): its tag is `my.lookup.<name>`,
   * used in log lines only.
   */
  tag: string;
  /** Lookup services: the Devo lookup name (`lookup_name`, `^[A-Za-z0-9_]+$`); null otherwise. */
  lookupName: string | null;
  /** Record field that identifies a record (`pbid`, `id`, `codeid`); null for snapshots. */
  uniqueId: string | null;
  requestPeriodMs: number;
  /** Time-slot services: first instant to download (epoch ms) and its text as configured. */
  startTimeMs: number;
  startTimeText: string;
  windowMs: number;
  persistenceVersion: number;
  /** How many windows of a backfill may be fetched concurrently. */
  maxWindowsInFlight: number;
  /** How far back each live poll re-reads to catch late-indexed records. */
  overlapMs: number;
  /** Upper bound of remembered ids per service, for dedup across overlaps and restarts. */
  maxSeenIds: number;
  /** The vendor's "overriding rules" (service key over definition key), for the init_variables() lines. */
  overridingRules: OverridingRule[];
  /** This service's `requests_limits` (on top of the input's), or null when not defined. */
  requestsLimits: RequestsLimit[] | null;
  /** `minscore` / `mingroupscore` sent with every request ({} when none); see score-filters.ts. */
  scoreFilters: ScoreFilters;
}

/**
 * Score filters the appliance applies: `minscore` (modelbreaches 0-1; AI Analyst event score
 * 0-100) and `mingroupscore` (AI Analyst incident score 0-100).
 */
export interface ScoreFilters {
  minscore?: number;
  mingroupscore?: number;
}

export interface OverridingRule {
  /** The key the user wrote (`override_devo_tag` or its alias `override_tag`). */
  serviceKey: string;
  /** The user's value, null when not set (the rule then does not apply). */
  value: string | number | null;
  definitionKey: string;
  definitionValue: string | number;
}

/**
 * One `requests_limits` entry: at most `numberOfRequests` requests to the appliance in any
 * `periodMs` (`period` as written, e.g. `1m`); -1 is unlimited.
 */
export interface RequestsLimit {
  period: string;
  periodMs: number;
  numberOfRequests: number;
}

export interface DarktraceCredentials {
  publicToken: string;
  privateToken: string;
}

export interface DarktraceInputConfig {
  /** Input name as in config (`darktrace`). */
  name: string;
  id: string;
  enabled: boolean;
  credentials: DarktraceCredentials;
  /** `https://host[:port]` without trailing slash. */
  baseUrl: string;
  /** PEM text of an extra CA to trust for the appliance, or null for the system store. */
  caFile: string | null;
  tlsVerify: boolean;
  requestTimeoutMs: number;
  maxResponseBytes: number;
  /** Client-side request rate limit towards the appliance. */
  requestsPerSecond: number;
  /** The input's `requests_limits` (every request counts), or null when not defined. */
  requestsLimits: RequestsLimit[] | null;
  maxRetries: number;
  /**
   * Wait between setup attempts that another try soon cannot fix (tokens, permission):
   * `module_globals.setup_retry_period_in_seconds` of the definitions (default 60 s).
   */
  setupRetryMs: number;
  /**
   * Forward proxy towards the appliance: `inputs.darktrace.proxy`, else the supervisor's
   * HTTPS_PROXY / HTTP_PROXY / NO_PROXY environment captured at compile time (workers never read
   * process.env). null: direct. The URL may carry user:password; it never appears in logs.
   */
  proxy: ProxyConfig | null;
  services: ServiceConfig[];
}

export interface ProxyConfig {
  /** `http://[user:password@]host:port` used for https appliances (CONNECT). */
  httpsProxy: string | null;
  /** Used for http appliances. */
  httpProxy: string | null;
  /** NO_PROXY list as given (comma separated), or '' for none. */
  noProxy: string;
  /** Where it came from, for log lines: the config key or the environment. */
  source: 'config' | 'environment';
}

export type OutputType = 'devo_platform' | 'relay' | 'syslog' | 'console';

export interface OutputConfig {
  /** Key under `outputs` (e.g. `devo_1`). */
  name: string;
  type: OutputType;
  address: string;
  port: number;
  /** Absolute paths (devo_platform; optional for relay). */
  chainPath: string | null;
  certPath: string | null;
  keyPath: string | null;
  /** Verify the server's host name too (the vendor does not; off by default). */
  checkHostname: boolean;
  /** RFC 6587 octet counting instead of LF framing. */
  octetCounting: boolean;
  /**
   * `compression` (default none): `gzip` writes every spool frame as one gzip member, as
   * devo-sdk's zip mode does (devo_platform and relay outputs only).
   */
  compression: 'none' | 'gzip';
  /** zlib level of the gzip members: `globals.devo_sender_compression_level` (default 6, the SDK's). */
  compressionLevel: number;
  /** Concurrent connections per sender group. */
  concurrency: number;
  connectTimeoutMs: number;
  idleReconnectMs: number;
  maxConnectionAgeMs: number;
  /**
   * `stall_timeout_in_seconds` (default 60): data waiting and no bytes accepted by the peer for
   * this long makes the output *stalled* (readiness) and tears its connection down.
   */
  stallTimeoutMs: number;
  /**
   * `peer_receive_buffer_in_mb` (default 8): the most bytes the receiver's kernel may hold
   * acknowledged but unread. A frame counts as delivered once the peer acknowledged this many
   * bytes beyond it (or the connection closed cleanly); see output/src/senders/confirm-rule.ts.
   */
  peerReceiveBufferBytes: number;
}

export interface GlobalsConfig {
  id: string;
  name: string;
  debug: boolean;
  persistence: { type: 'filesystem' | 'memory'; directory: string };
  queueMaxSizeBytes: number;
  queueWrapMaxMessages: number;
  senderStatsPeriodMs: number;
  gcLogPeriodMs: number;
  shutdownGraceMs: number;
  web: { enabled: boolean; host: string; port: number };
}

export interface CompiledConfig {
  /** Where it came from, for log lines. */
  source: { configPath: string | null; definitionsPath: string; mode: 'file' | 'collector-server' };
  collectorVersion: string;
  hostname: string;
  globals: GlobalsConfig;
  outputs: OutputConfig[];
  inputs: DarktraceInputConfig[];
}
