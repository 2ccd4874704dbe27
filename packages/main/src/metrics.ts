/**
 * Prometheus metrics (prom-client) under the vendor's documented names. Workers report totals
 * since their start over IPC; counters here advance by the difference, and a total that went
 * down (the worker restarted) counts from zero again, so counters never go backwards.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { createLogger, type InputMetrics, type OutputMetrics, type SenderGroup } from '@devo-collector/common';
import type { CertificateExpiry } from '@devo-collector/output';
import type { Readiness } from './readiness.js';

const SERVICE_STATES = ['starting', 'ok', 'failing'] as const;
const OUTPUT_STATES = ['ok', 'stalled', 'blocked'] as const;

type Labels = Record<string, string>;

class TotalsTracker {
  private last = new Map<string, number>();
  /** Returns how much to add to the counter for this new total. */
  delta(key: string, total: number): number {
    const prev = this.last.get(key) ?? 0;
    this.last.set(key, total);
    return total >= prev ? total - prev : total;
  }
}

export class CollectorMetrics {
  readonly registry = new Registry();
  private readonly tracker = new TotalsTracker();
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly log = createLogger('MetricsConsumerThread');
  private certificates: () => readonly CertificateExpiry[] = () => [];

  constructor() {
    this.log.info('[METRIC] Metric consumer started');
    this.counter('vendor_requests', 'Number of requests received from the vendor API', 'requests', ['endpoint']);
    this.counter('msg_incoming_received', 'Number of messages received from the vendor API', '1', ['service']);
    this.counter('msg_incoming_removed', 'Number of messages removed by the collector', '1', ['service']);
    this.counter('msg_incoming_filtered', 'Number of messages filtered by the collector', '1', ['service']);
    for (const g of ['standard', 'lookup', 'internal'] as const) {
      this.counter(`msg_enqueued_${g}_counter`, 'Number of messages enqueued', '1', []);
      this.counter(`msg_enqueued_${g}_bytes`, 'Number of bytes enqueued', '1', []);
    }
    this.counter('msg_sent_counter', 'Number of messages sent to the defined output', '1', ['output']);
    this.counter('msg_sent_bytes', 'Number of bytes sent to the defined output', '1', ['output']);
    this.counter('pull_errors', 'Number of failed pulls by error id', '1', ['service', 'error_id']);
    this.counter('worker_restarts', 'Number of unexpected worker exits followed by a restart', '1', ['process']);
    this.gauge('module_global_status', 'Global status of current module', '1', []);
    this.gauge('cursor_lag_seconds', 'Seconds between now and the committed cursor of a service', 's', ['service']);
    this.gauge('spool_bytes', 'Bytes waiting in the on-disk spool of an output', 'bytes', ['output']);
    this.gauge('output_connected', 'Whether an output has an open connection (1) or not (0)', '1', ['output']);
    this.gauge('spool_max_bytes', 'Byte bound of the on-disk spool of an output (queue_max_size_in_mb)', 'bytes', ['output']);
    this.gauge('service_state', 'State of a service of an enabled input: 1 for the current state (starting, ok, failing), 0 for the others', '1', ['service', 'state']);
    this.gauge('output_state', 'State of an output: 1 for the current state (ok, stalled, blocked), 0 for the others', '1', ['output', 'state']);
    // Computed at each scrape from the last-read notAfter, so the value is always current.
    const certificates = (): readonly CertificateExpiry[] => this.certificates();
    this.gauge('certificate_expiry_seconds', 'Seconds until a configured Devo certificate expires (negative once expired)', 's', ['output', 'certificate', 'path'], function collect(this: Gauge) {
      this.reset();
      const now = Date.now();
      for (const c of certificates()) this.set({ output: c.output, certificate: c.certificate, path: c.path }, Math.round((c.notAfterMs - now) / 1000));
    });
  }

  /** Where `certificate_expiry_seconds` reads the certificates from (the expiry monitor's last check). */
  trackCertificates(source: () => readonly CertificateExpiry[]): void {
    this.certificates = source;
  }

  private counter(name: string, help: string, unit: string, labelNames: string[]): void {
    this.counters.set(name, new Counter({ name, help, labelNames, registers: [this.registry] }));
    this.log.info(`OpenTelemetryServer -> [METRIC] Counter "${name}" created: "${help}", unit: "${unit}"`);
  }

  private gauge(name: string, help: string, unit: string, labelNames: string[], collect?: (this: Gauge) => void): void {
    this.gauges.set(name, new Gauge({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}) }));
    this.log.info(`OpenTelemetryServer -> [METRIC] Gauge "${name}" created: "${help}", unit: "${unit}"`);
  }

  private add(name: string, labels: Labels, total: number): void {
    const key = `${name}${JSON.stringify(labels)}`;
    const d = this.tracker.delta(key, total);
    this.counters.get(name)!.inc(labels, Math.max(0, d)); // 0 makes the series visible at 0
  }

  private addAll(name: string, label: string, totals: Record<string, number>): void {
    for (const [k, v] of Object.entries(totals)) this.add(name, { [label]: k }, v);
  }

  updateInput(m: InputMetrics): void {
    this.addAll('vendor_requests', 'endpoint', m.vendorRequests);
    this.addAll('msg_incoming_received', 'service', m.received);
    this.addAll('msg_incoming_removed', 'service', m.removed);
    this.addAll('msg_incoming_filtered', 'service', m.filtered);
    for (const [k, v] of Object.entries(m.pullErrors)) {
      const [service = k, id = 'unknown'] = k.split(':');
      this.add('pull_errors', { service, error_id: id }, v);
    }
    for (const [k, v] of Object.entries(m.cursorLagSeconds)) this.gauges.get('cursor_lag_seconds')!.set({ service: k }, v);
  }

  updateOutput(m: OutputMetrics): void {
    for (const g of Object.keys(m.enqueued) as SenderGroup[]) {
      this.add(`msg_enqueued_${g}_counter`, {}, m.enqueued[g].count);
      this.add(`msg_enqueued_${g}_bytes`, {}, m.enqueued[g].bytes);
    }
    for (const [o, s] of Object.entries(m.sent)) {
      this.add('msg_sent_counter', { output: o }, s.count);
      this.add('msg_sent_bytes', { output: o }, s.bytes);
    }
    for (const [o, b] of Object.entries(m.spoolBytes)) this.gauges.get('spool_bytes')!.set({ output: o }, b);
    for (const [o, b] of Object.entries(m.spoolMaxBytes)) this.gauges.get('spool_max_bytes')!.set({ output: o }, b);
    for (const [o, c] of Object.entries(m.connected)) this.gauges.get('output_connected')!.set({ output: o }, c ? 1 : 0);
  }

  updateRestarts(restarts: Record<string, number>): void {
    for (const [p, n] of Object.entries(restarts)) this.add('worker_restarts', { process: p }, n);
  }

  /** module_global_status follows readiness; service_state / output_state are one-hot per component. */
  updateReadiness(r: Readiness): void {
    this.gauges.get('module_global_status')!.set(r.ready ? 1 : 0);
    const service = this.gauges.get('service_state')!;
    for (const [s, h] of Object.entries(r.services)) for (const st of SERVICE_STATES) service.set({ service: s, state: st }, h.state === st ? 1 : 0);
    const output = this.gauges.get('output_state')!;
    for (const [o, h] of Object.entries(r.outputs)) for (const st of OUTPUT_STATES) output.set({ output: o, state: st }, h.state === st ? 1 : 0);
  }
}
