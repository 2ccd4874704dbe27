/**
 * When a crashed worker comes back, apart from the supervisor's message handling: the restart
 * count and backoff per role, reset after a run long enough to count as stable, and the pending
 * restarts a stop cancels.
 */
import { backoffDelayMs, type BackoffPolicy } from '@devo-collector/common';
import type { WorkerRole } from './worker-handle.js';

/** Restart waits: ~1 s doubling to 30 s, jittered so two crashing workers do not restart in lockstep. */
const RESTART_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 30_000 };

export class RestartPlan {
  /** Restarts so far per role (the supervisor's figures and the restarts metric). */
  readonly counts: Record<WorkerRole, number> = { input: 0, output: 0 };
  private readonly attempts: Record<WorkerRole, number> = { input: 0, output: 0 };
  private readonly timers = new Set<NodeJS.Timeout>();

  /** A worker that has run `stableAfterMs` without crashing resets its backoff. */
  constructor(private readonly stableAfterMs: number) {}

  /** Counts a crash of `role` after `ranMs` and runs `restart` after the backoff; returns the wait. */
  schedule(role: WorkerRole, ranMs: number, restart: () => void): number {
    if (ranMs > this.stableAfterMs) this.attempts[role] = 0;
    this.attempts[role]++;
    this.counts[role]++;
    const delay = backoffDelayMs(this.attempts[role] - 1, RESTART_BACKOFF);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      restart();
    }, delay);
    this.timers.add(timer);
    return delay;
  }

  cancel(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
