/**
 * When a spool's checkpoint is written: at most every `intervalMs` once the settled position
 * moved, and at close. The resume record already survives a crash at once; the checkpoint only
 * moves the settled position (segment deletion, the fallback after a reboot), so it need not be
 * frequent. A failed write (a full disk) is logged once as OutputError(410) and retried every second.
 */
import type { Logger } from '@devo-collector/common';
import { OUTPUT_ERROR } from '../errors.js';
import type { SpoolStore, StoredFrame } from './types.js';

export class Checkpointer {
  private settled: StoredFrame | null = null;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  /** The checkpoint write is failing (logged once per episode). */
  private failing = false;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly store: SpoolStore,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** The settled prefix now ends with `settled`. */
  moved(settled: StoredFrame): void {
    this.settled = settled;
    this.dirty = true;
    this.schedule(this.intervalMs);
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  /** Writes the checkpoint now if it moved. */
  flush(): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await this.store.checkpoint(this.settled);
        if (this.failing) this.log.info(`Spool ${this.name}: the checkpoint is written again`);
        this.failing = false;
      } catch (err) {
        // Retried with the next checkpoint (sent segments are deleted before it is written, so a
        // full disk frees space first); a crash meanwhile only re-sends from the older checkpoint.
        if (!this.failing) {
          this.log.error(`OutputError(${OUTPUT_ERROR.checkpointWrite}): Spool ${this.name}: cannot write the checkpoint: ${(err as Error).message}; retrying`);
        }
        this.failing = true;
        this.dirty = true;
        this.schedule(1_000);
      }
    });
    return this.chain;
  }

  /** Stops the timer and writes a moved checkpoint one last time. */
  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return this.flush();
  }
}
