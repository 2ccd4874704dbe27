export type SimService = 'modelbreaches' | 'aianalyst_incidentevents' | 'antigena';
export type SimOrder = 'newest-first' | 'oldest-first' | 'shuffled';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  publicToken: string;
  privateToken: string;
  seed?: number;
  nowMs?: () => number;
  dataStartMs?: number;
  modelBreachesPerHour?: number;
  aiEventsPerHour?: number;
  antigenaPerHour?: number;
  lateCreatedShare?: number;
  pinnedAiEvents?: number;
  latencyMs?: number;
  order?: SimOrder;
  /** Endpoint path (e.g. '/modelbreaches') -> allowed; a disallowed endpoint answers 302 to /403. */
  permissions?: Partial<Record<string, boolean>>;
  /** Size of the /devices inventory (default 40; devices appear, change IP/hostname, leave over time). */
  devices?: number;
  /** Answer /status as a Unified View master (with an `instances` object). Default false. */
  unifiedView?: boolean;
  /** Serve HTTPS with this certificate (PEM), like an appliance with a self-signed certificate. */
  tls?: { cert: string; key: string };
}

export type FaultKind = '500' | '502-html' | '429' | 'truncated-json' | 'html-login-200' | 'hang' | 'reset';

export interface FaultSpec {
  kind: FaultKind;
  count: number;
  /** Path such as '/modelbreaches'; all endpoints when absent. */
  endpoint?: string;
  retryAfterSec?: number;
}

export interface RequestLogEntry {
  path: string;
  query: Record<string, string>;
  /** 0 when the connection was reset or left hanging. */
  status: number;
  timeMs: number;
}

export type SimRecord = Record<string, unknown>;

export interface Simulator {
  url: string;
  port: number;
  injectFault(f: FaultSpec): void;
  addModelBreach(partial?: SimRecord): SimRecord;
  addAiEvent(partial?: SimRecord): SimRecord;
  addAntigenaAction(partial?: SimRecord): SimRecord;
  expectedIds(service: SimService, uptoMs?: number): string[];
  /**
   * Every device that has appeared by `atMs` (default now), whatever its lastSeen, with tags,
   * sorted by did: what /devices?includetags=true&seensince=6month shows then (devices.ts).
   */
  deviceInventory(atMs?: number): SimRecord[];
  requestLog(): RequestLogEntry[];
  /** A fixed time (ms), a clock function, or null to return to the clock given at start. */
  setNow(now: number | (() => number) | null): void;
  setLatency(ms: number): void;
  /** The tokens the appliance accepts from now on (an operator fixing the API token on the appliance). */
  setTokens(tokens: { publicToken: string; privateToken: string }): void;
  setOrder(order: SimOrder): void;
  close(): Promise<void>;
}
