/** What travels from the input to the output: records of one service, already serialized. */
export type SenderGroup = 'standard' | 'lookup' | 'internal';

export interface EventBatch {
  /** Unique per input process life: `<service>:<seq>`; the ack names it. */
  batchId: string;
  group: SenderGroup;
  inputName: string;
  serviceName: string;
  tag: string;
  /**
   * The records, one Devo message each (never split, never truncated): record k is the UTF-8 bytes
   * `data[bounds[2k], bounds[2k+1])`. Pullers pass a view of the response's own bytes (the bounds
   * skip the commas between records), so no record becomes a JS string on the way; records that
   * start as strings are encoded once (`textRecords`, batch-records.ts).
   */
  data: Uint8Array;
  bounds: Uint32Array;
  /** Sum of the UTF-8 byte length of records. */
  bytes: number;
  /** When the batch was built (epoch ms); used as the syslog header date. */
  createdAtMs: number;
  /**
   * Dedup identity of each record (parallel to the records; key plus content hash), for the output's
   * delivery ledger. Absent for records without an identity (snapshots, internal records).
   */
  keys?: string[];
  /**
   * The input may have sent these records before a crash (first cycle after an input start, or a
   * re-send after an output restart): the output drops records its ledger says are already durable.
   */
  replay?: boolean;
}

/** Figures a worker reports to the supervisor for /metrics (counters are totals since start). */
export interface InputMetrics {
  vendorRequests: Record<string, number>;
  received: Record<string, number>;
  removed: Record<string, number>;
  filtered: Record<string, number>;
  pullErrors: Record<string, number>;
  /** Seconds between now and the committed cursor, per service. */
  cursorLagSeconds: Record<string, number>;
  servicesReady: Record<string, boolean>;
  /** Health of each enabled service (readiness), keyed by service name. */
  health: Record<string, ServiceHealth>;
}

/**
 * Why a component is not ok: `id` is the documented error id as operators grep it
 * (`SetupError(101)`, `PullError(300)`, `OutputError(402)`), `sinceMs` when the condition began.
 */
export interface HealthReason {
  id: string;
  message: string;
  sinceMs: number;
}

/** starting: setup not yet succeeded and not yet failed; failing: setup or pulls fail (see ARCHITECTURE "Readiness tells the truth"). */
export interface ServiceHealth {
  state: 'starting' | 'ok' | 'failing';
  reason?: HealthReason;
  /** Last successful setup or pull (epoch ms), null if none yet. */
  lastSuccessMs: number | null;
}

/** stalled: data waiting, peer accepted nothing for the stall bound; blocked: spool cannot write or is full. */
export interface OutputHealth {
  state: 'ok' | 'stalled' | 'blocked';
  reason?: HealthReason;
}

export interface OutputMetrics {
  enqueued: Record<SenderGroup, { count: number; bytes: number }>;
  sent: Record<string, { count: number; bytes: number }>;
  spoolBytes: Record<string, number>;
  /** The byte bound of each spool (same keys as spoolBytes, `<output>.<group>`). */
  spoolMaxBytes: Record<string, number>;
  connected: Record<string, boolean>;
  quarantinedSegments: number;
  /** Health of each output (all its sender groups together), keyed by output name. */
  health: Record<string, OutputHealth>;
}
