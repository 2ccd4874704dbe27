/**
 * The exact texts of the vendor's sender and monitor log lines (devo-collector-sdk 1.8.0), built from
 * our figures. Kept apart from the classes that log them so each shape has one unit test.
 */
import os from 'node:os';
import type { OutputConfig } from '@devo-collector/common';

/**
 * Python's `json.dumps` default separators (`", "` and `": "`), which the vendor's lines use:
 * `{"internal_queue_size": 0, "is_connection_open": false}`.
 */
export function pyJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}: ${pyJson(x)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** `2024-11-19 06:12:18.956000+00:00` (Python `str(datetime)`), as the Standard/Lookup lines print it. */
export function vendorIso(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 23)}000+00:00`;
}

/** `2024-11-19T06:12:18.957000+00:00` (Python `datetime.isoformat()`), as the Internal line prints it. */
export function vendorIsoT(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000+00:00`;
}

export interface GroupPeriod {
  totalMessages: number;
  periodMessages: number;
  periodBytes: number;
  sinceMs: number;
  toMs: number;
  /** Time the senders spent writing in the period. */
  elapsedMs: number;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/** `Standard - Total number of messages sent: 44, messages sent since "…": 21 (elapsed 0.007 seconds)` (also Lookup). */
export function groupTotalsLine(label: 'Standard' | 'Lookup', p: GroupPeriod): string {
  return (
    `${label} - Total number of messages sent: ${p.totalMessages}, messages sent since "${vendorIso(p.sinceMs)}": ` +
    `${p.periodMessages} (elapsed ${seconds(p.elapsedMs)} seconds)`
  );
}

/**
 * The internal group's own format:
 * `Internal - Total number of messages: 114 messages/bytes sent since/to "<since>/<to>": 28/13408, (elapsed 0.002 seconds)`.
 */
export function internalTotalsLine(p: GroupPeriod): string {
  return (
    `Internal - Total number of messages: ${p.totalMessages} messages/bytes sent since/to ` +
    `"${vendorIsoT(p.sinceMs)}/${vendorIsoT(p.toMs)}": ${p.periodMessages}/${p.periodBytes}, (elapsed ${seconds(p.elapsedMs)} seconds)`
  );
}

/**
 * `enqueued_elapsed_times_in_seconds_stats: {}`. The vendor fills it (per queue: max and running
 * average of the seconds a message waited) only with `queue_generate_metrics`, off by default; we do
 * not time messages in the spool, so it is always the vendor's default, `{}`.
 */
export function enqueuedStatsLine(): string {
  return 'enqueued_elapsed_times_in_seconds_stats: {}';
}

/** The devo-sdk transport type the vendor prints: `SSL` for mutual TLS, `TCP` for a plain relay. */
export type TransportLayer = 'SSL' | 'TCP';

/** Per process, numbers the senders (connections) created, for the `session_id` of "Created a sender". */
let sessionCounter = 0;

/**
 * Logged once per connection the sender opens (the vendor creates a devo-sdk Sender per
 * connection): `Created a sender: {"name": …, "url": "host:port", "chain_path": …, "cert_path": …,
 * "key_path": …, "transport_layer_type": "SSL", "last_usage_timestamp": null, "socket_status": null},
 * hostname: "…", session_id: "…"`. Paths only: the files' contents never appear.
 */
export function createdSenderLine(
  name: string,
  output: Pick<OutputConfig, 'address' | 'port' | 'chainPath' | 'certPath' | 'keyPath'>,
  transport: TransportLayer,
  hostname: string = os.hostname(),
): string {
  const tlsPaths = transport === 'SSL';
  const body = {
    name,
    url: `${output.address}:${output.port}`,
    chain_path: tlsPaths ? output.chainPath : null,
    cert_path: tlsPaths ? output.certPath : null,
    key_path: tlsPaths ? output.keyPath : null,
    transport_layer_type: transport,
    last_usage_timestamp: null,
    socket_status: null,
  };
  sessionCounter++;
  return `Created a sender: ${pyJson(body)}, hostname: ${JSON.stringify(hostname)}, session_id: "${sessionCounter}"`;
}
