/**
 * Counters the input reports to the supervisor every few seconds (totals since process start),
 * and the per-service health (health.ts), whose changes are reported at once.
 */
import type { CollectorError, InputMetrics } from '@devo-collector/common';
import { ServiceHealthBook } from './health.js';

function bump(m: Record<string, number>, key: string, by = 1): void {
  m[key] = (m[key] ?? 0) + by;
}

export class InputMetricsRegistry {
  private readonly vendorRequests: Record<string, number> = {};
  private readonly received: Record<string, number> = {};
  private readonly removed: Record<string, number> = {};
  private readonly filtered: Record<string, number> = {};
  private readonly pullErrors: Record<string, number> = {};
  private readonly cursors = new Map<string, () => number | null>();
  private readonly ready: Record<string, boolean> = {};
  readonly health: ServiceHealthBook;

  /** `onHealthChange`: a service's health state or reason changed (report it now). */
  constructor(onHealthChange?: () => void, now?: () => number) {
    this.health = new ServiceHealthBook(onHealthChange, now);
  }

  vendorRequest(endpoint: string): void {
    bump(this.vendorRequests, endpoint);
  }
  receivedRecords(service: string, n: number): void {
    bump(this.received, service, n);
  }
  removedDuplicates(service: string, n: number): void {
    bump(this.removed, service, n);
  }
  filteredRecords(service: string, n: number): void {
    bump(this.filtered, service, n);
  }
  /** A failed pull attempt: counted keyed `<service>:<error id>` (as the supervisor's metrics expect), and fed to the health. */
  pullError(service: string, error: CollectorError): void {
    bump(this.pullErrors, `${service}:${error.code}`);
    this.health.pullFailed(service, error);
  }
  /** A pull attempt got its answer. */
  pullSucceeded(service: string): void {
    this.health.pullSucceeded(service);
  }
  setReady(service: string, ok: boolean): void {
    this.ready[service] = ok;
  }
  /** Registers a reader of a service's committed cursor (epoch ms). */
  trackCursor(service: string, read: () => number | null): void {
    this.cursors.set(service, read);
  }

  snapshot(nowMs = Date.now()): InputMetrics {
    const cursorLagSeconds: Record<string, number> = {};
    for (const [service, read] of this.cursors) {
      const c = read();
      if (c !== null) cursorLagSeconds[service] = Math.max(0, Math.round((nowMs - c) / 1000));
    }
    return {
      vendorRequests: { ...this.vendorRequests },
      received: { ...this.received },
      removed: { ...this.removed },
      filtered: { ...this.filtered },
      pullErrors: { ...this.pullErrors },
      cursorLagSeconds,
      servicesReady: { ...this.ready },
      health: this.health.snapshot(),
    };
  }
}
