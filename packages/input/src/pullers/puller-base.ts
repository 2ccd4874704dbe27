/**
 * The lifecycle every puller shares: 'idle' -> 'waiting-setup' -> 'running' -> 'draining' ->
 * 'stopped'. Subclasses supply the pull loop and what to finish (acks, commits) at stop.
 * PeriodicPuller is that loop for the pullers that take one whole answer per period (snapshots,
 * the device inventory): one cycle, then the period, and at stop the last cycle's ack.
 */
import { createLogger, sleep, type Logger } from '@devo-collector/common';
import type { Query } from '../client.js';
import { asPullError, DEFAULT_PULL_RETRY, pullRetryDelayMs, unexpectedShape, whenAborted, type Puller, type PullerOptions, type PullerState } from './puller.js';

export abstract class PullerBase implements Puller {
  readonly service: string;
  protected readonly log: Logger;
  protected readonly ac = new AbortController();
  protected readonly now: () => number;
  private stateValue: PullerState = 'idle';
  private loop: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(
    protected readonly opts: PullerOptions,
    readonly name: string,
  ) {
    this.service = opts.service.name;
    this.log = createLogger(name);
    this.now = opts.now ?? Date.now;
    opts.metrics?.trackCursor(this.service, () => this.cursorMs);
  }

  abstract get cursorMs(): number | null;

  /** Runs until `signal` aborts (or the subclass gives up); setup has succeeded. */
  protected abstract pull(signal: AbortSignal): Promise<void>;

  /** After the loop ended at stop: wait for outstanding acks until `deadlineMs`, commit. */
  protected abstract finish(deadlineMs: number): Promise<void>;

  get state(): PullerState {
    return this.stateValue;
  }

  start(): void {
    if (this.stateValue !== 'idle') throw new Error(`${this.name}: start() in state ${this.stateValue}`);
    this.stateValue = 'waiting-setup';
    this.loop = this.run().catch((err: unknown) => {
      this.log.error(`Puller stopped unexpectedly: ${asPullError(err).toString()}`);
    });
  }

  stop(deadlineMs: number): Promise<void> {
    this.stopping ??= this.drain(deadlineMs);
    return this.stopping;
  }

  private async drain(deadlineMs: number): Promise<void> {
    if (this.stateValue === 'idle') {
      this.stateValue = 'stopped';
      return;
    }
    this.stateValue = 'draining';
    this.ac.abort();
    await this.loop;
    await this.finish(deadlineMs);
    this.stateValue = 'stopped';
  }

  private async run(): Promise<void> {
    const signal = this.ac.signal;
    if (this.opts.ready) {
      this.log.warn('Waiting until setup will be executed');
      const ok = await Promise.race([this.opts.ready, whenAborted(signal).then(() => false)]);
      if (!ok || signal.aborted) return;
    }
    this.stateValue = 'running';
    await this.pull(signal);
  }
}

/** One `pullOnce` per `request_period`; `pendingAck` is the ack of the last cycle's batch. */
export abstract class PeriodicPuller extends PullerBase {
  protected pendingAck: Promise<void> = Promise.resolve();

  protected abstract pullOnce(signal: AbortSignal): Promise<void>;

  protected async pull(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.pullOnce(signal);
      await sleep(this.opts.service.requestPeriodMs, signal);
    }
  }

  protected async finish(deadlineMs: number): Promise<void> {
    await Promise.race([this.pendingAck, sleep(Math.max(0, deadlineMs - this.now()))]);
  }

  /**
   * The service's whole answer, asked again with backoff (or after Retry-After) until it comes and
   * `accept` can use it (null: an unexpected shape, retried too); null once the puller stops.
   */
  protected async getUntilAnswered<T>(signal: AbortSignal, query: Query | undefined, accept: (body: unknown) => T | null): Promise<{ value: T; requests: number } | null> {
    const svc = this.opts.service;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return null;
      try {
        const body = await this.opts.client.get(svc.endpoint, query, { signal });
        const value = accept(body);
        if (value === null) throw unexpectedShape(svc.endpoint, body);
        this.opts.metrics?.pullSucceeded(this.service);
        return { value, requests: attempt + 1 };
      } catch (err) {
        if (signal.aborted) return null;
        const e = asPullError(err);
        this.opts.metrics?.pullError(this.service, e);
        const delay = pullRetryDelayMs(attempt, e, this.opts.retry ?? DEFAULT_PULL_RETRY);
        this.log.error(`${e.toString()}; the pull will be retried in ${(delay / 1000).toFixed(1)} seconds`);
        await sleep(delay, signal);
      }
    }
  }
}
