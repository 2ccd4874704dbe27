/**
 * Per-service health of the input (ARCHITECTURE "Readiness tells the truth"), computed from what
 * happens: 'starting' until the first setup outcome; 'failing' from the FIRST failed setup (its
 * SetupError id) or once pulls have failed without a success for `pullFailingAfterMs` (a couple of
 * request periods; PullError 300/301); 'ok' again at the next success. `onChange` runs at once on
 * every change of a service's state or reason id, so the supervisor hears of it without waiting
 * for the next metrics period.
 */
import { errorId, type CollectorError, type HealthReason, type SerializedError, type ServiceHealth } from '@devo-collector/common';

/** Pulls must fail for this many request periods in a row before the service is failing. */
const PULL_FAILING_PERIODS = 2;

interface Entry {
  health: ServiceHealth;
  pullFailingAfterMs: number;
  /** First pull failure since the last success, and the latest one's id and message. */
  pullFailure: { sinceMs: number; id: string; message: string } | null;
  /** The service's state file cannot be written (RuntimeError(520), state-store.ts): failing while it lasts. */
  stateWrite: HealthReason | null;
  timer: NodeJS.Timeout | null;
}

export class ServiceHealthBook {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly onChange: () => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** A service of an enabled input; `requestPeriodMs` sets how long pulls may fail before it is failing. */
  register(service: string, requestPeriodMs: number): void {
    this.entries.set(service, {
      health: { state: 'starting', lastSuccessMs: null },
      pullFailingAfterMs: PULL_FAILING_PERIODS * requestPeriodMs,
      pullFailure: null,
      stateWrite: null,
      timer: null,
    });
  }

  setupSucceeded(service: string): void {
    this.succeeded(service);
  }

  /** `retryInMs` and `transient` say when the next attempt comes and whether another try can fix it. */
  setupFailed(service: string, error: SerializedError, transient: boolean, retryInMs: number): void {
    const e = this.entries.get(service);
    if (!e) return;
    const when = `setup is retried in ${(retryInMs / 1000).toFixed(1)} s`;
    const what = transient ? `transient, ${when}` : `another try cannot fix this (check the tokens and their permissions), ${when}`;
    const id = errorId(error);
    const sinceMs = e.health.state === 'failing' && e.health.reason?.id === id ? e.health.reason.sinceMs : this.now();
    this.set(e, { state: 'failing', reason: { id, message: `${error.message} (${what})`, sinceMs }, lastSuccessMs: e.health.lastSuccessMs });
  }

  pullSucceeded(service: string): void {
    this.succeeded(service);
  }

  pullFailed(service: string, error: CollectorError): void {
    const e = this.entries.get(service);
    if (!e) return;
    const id = errorId(error);
    if (e.pullFailure === null) {
      e.pullFailure = { sinceMs: this.now(), id, message: error.detail };
      // Flip when the bound passes even if no further attempt ends by then (long backoffs, hangs).
      e.timer = setTimeout(() => this.evaluatePulls(e), e.pullFailingAfterMs);
      e.timer.unref?.();
    } else {
      e.pullFailure.id = id;
      e.pullFailure.message = error.detail;
    }
    this.evaluatePulls(e);
  }

  /**
   * The state file cannot be written (`blocked`, e.g. ENOSPC) or can again (null). Pulls may still
   * succeed meanwhile (the document is kept in memory), so this overlays the pull/setup health
   * instead of replacing it: a setup or pull failure, if any, stays the reason.
   */
  stateWriteBlocked(service: string, blocked: { code: number; message: string; sinceMs: number } | null): void {
    const e = this.entries.get(service);
    if (!e) return;
    const before = this.view(e);
    e.stateWrite = blocked ? { id: errorId({ name: 'RuntimeError', code: blocked.code }), message: blocked.message, sinceMs: blocked.sinceMs } : null;
    const after = this.view(e);
    if (after.state !== before.state || after.reason?.id !== before.reason?.id) this.onChange();
  }

  snapshot(): Record<string, ServiceHealth> {
    const out: Record<string, ServiceHealth> = {};
    for (const [service, e] of this.entries) out[service] = structuredClone(this.view(e));
    return out;
  }

  private view(e: Entry): ServiceHealth {
    return e.stateWrite && e.health.state !== 'failing' ? { state: 'failing', reason: e.stateWrite, lastSuccessMs: e.health.lastSuccessMs } : e.health;
  }

  /** Stops the timers (the process is stopping). */
  close(): void {
    for (const e of this.entries.values()) this.clearPullFailure(e);
  }

  private evaluatePulls(e: Entry): void {
    const f = e.pullFailure;
    if (!f || this.now() - f.sinceMs < e.pullFailingAfterMs) return;
    const reason: HealthReason = {
      id: f.id,
      message: `pulls have failed for ${Math.round((this.now() - f.sinceMs) / 1000)} s without a success; last: ${f.message}`,
      sinceMs: f.sinceMs,
    };
    this.set(e, { state: 'failing', reason, lastSuccessMs: e.health.lastSuccessMs });
  }

  private succeeded(service: string): void {
    const e = this.entries.get(service);
    if (!e) return;
    this.clearPullFailure(e);
    this.set(e, { state: 'ok', lastSuccessMs: this.now() });
  }

  private clearPullFailure(e: Entry): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    e.pullFailure = null;
  }

  /** Stores the new health; tells `onChange` when the state or the reason id changed. */
  private set(e: Entry, next: ServiceHealth): void {
    const before = this.view(e);
    e.health = next;
    const after = this.view(e);
    if (after.state !== before.state || after.reason?.id !== before.reason?.id) this.onChange();
  }
}
