/** Counters the input reports to the supervisor every few seconds (totals since process start). */
import type { InputMetrics } from '@devo-collector/common';

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
  /** Keyed `<service>:<error id>`, as the supervisor's metrics expect. */
  pullError(service: string, code: number | string): void {
    bump(this.pullErrors, `${service}:${code}`);
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
      health: {}, // issue 11: per-service health model
    };
  }
}
