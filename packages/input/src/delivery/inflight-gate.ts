/**
 * Bounds the bytes a service has sent but not yet seen acknowledged. When the output stalls, the
 * puller waits here instead of buffering more (backpressure). A batch larger than the bound is
 * still admitted when nothing else is in flight, so one huge window cannot deadlock.
 */
export class InFlightGate {
  private used = 0;
  private waiters: Array<() => void> = [];
  private pausedLogged = false;

  constructor(
    readonly maxBytes: number,
    private readonly onPause?: (usedBytes: number) => void,
    private readonly onResume?: () => void,
  ) {}

  get inFlightBytes(): number {
    return this.used;
  }

  /** Waits for room for `bytes`; rejects when `signal` aborts. */
  async acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    while (this.used > 0 && this.used + bytes > this.maxBytes) {
      if (signal?.aborted) throw new Error('aborted');
      if (!this.pausedLogged) {
        this.pausedLogged = true;
        this.onPause?.(this.used);
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
    if (signal?.aborted) throw new Error('aborted');
    if (this.pausedLogged) {
      this.pausedLogged = false;
      this.onResume?.();
    }
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
  }
}
