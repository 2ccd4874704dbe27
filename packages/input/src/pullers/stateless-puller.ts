/**
 * Stateless puller (summarystatistics, status): one snapshot per period, sent as one record, with
 * the vendor's documented statistics lines. A failed request is retried with backoff within the
 * cycle; the next period starts after the snapshot is acknowledged.
 */
import { textRecords } from '@devo-collector/common';
import { newBatch } from '../delivery/batch-sink.js';
import { InFlightGate } from '../delivery/inflight-gate.js';
import { DEFAULT_MAX_IN_FLIGHT_BYTES, whenAborted, type Puller, type PullerOptions } from './puller.js';
import { PeriodicPuller } from './puller-base.js';

class StatelessServicePuller extends PeriodicPuller {
  private readonly gate: InFlightGate;

  constructor(opts: PullerOptions) {
    super(opts, `StatelessServicePuller(${opts.inputName}#${opts.inputId},${opts.service.name}#predefined)`);
    this.gate = new InFlightGate(opts.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES);
  }

  get cursorMs(): number | null {
    return this.opts.store.data.last_pull_ms;
  }

  private stats(pullingId: number, requests: number, received: number, sent: number): string {
    const seconds = Math.max(0.001, (this.now() - pullingId) / 1000);
    return `Statistics for this pull cycle (@devo_pulling_id=${pullingId}):Number of requests made: ${requests}; Number of events received: ${received}; Number of duplicated events filtered out: 0; Number of events generated and sent: ${sent}; Average of events per second: ${(sent / seconds).toFixed(3)}.`;
  }

  protected async pullOnce(signal: AbortSignal): Promise<void> {
    const svc = this.opts.service;
    const pullingId = this.now();
    this.log.info('Pull Started');
    const got = await this.getUntilAnswered(signal, undefined, (body) => (body !== null && typeof body === 'object' ? body : null));
    if (!got) return;
    const requests = got.requests;
    this.opts.metrics?.receivedRecords(this.service, 1);
    const batch = newBatch({ inputName: this.opts.inputName, serviceName: this.service, tag: svc.tag }, textRecords([JSON.stringify(got.value)]));
    try {
      await this.gate.acquire(batch.bytes, signal);
    } catch {
      return;
    }
    this.log.info(`(Partial) ${this.stats(pullingId, requests, 1, 1)}`);
    const acked = this.opts.sink
      .send(batch)
      .finally(() => this.gate.release(batch.bytes))
      .then(() => this.opts.store.update((doc) => void (doc.last_pull_ms = pullingId)))
      .catch((err: unknown) => this.log.error(`Could not record the snapshot: ${String(err)}`));
    this.pendingAck = acked;
    await Promise.race([acked, whenAborted(signal)]);
    if (signal.aborted) return;
    this.log.info(this.stats(pullingId, requests, 1, 1));
    this.log.info('The data is up to date!');
  }
}

export function createStatelessPuller(opts: PullerOptions): Puller {
  return new StatelessServicePuller(opts);
}
