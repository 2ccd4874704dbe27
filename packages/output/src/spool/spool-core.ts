/**
 * A spool (`Spool`, types.ts) over either store, disk or memory: appends go through
 * append-queue.ts (byte bound, group commit, write-blocked state), frames go out in order from
 * frame-queue.ts (lease, release, settle, the memory budget) to any number of senders, and the
 * settled prefix is recorded: at once in the resume record, at most every `checkpointIntervalMs`
 * (default 200 ms) in the checkpoint (checkpointer.ts).
 *
 * The resume position (where a restart after a crash of this process starts sending) is the end of
 * the longest settled prefix: a frame settles only once the receiver confirmed it (stream-sender.ts),
 * and bytes merely handed to our kernel prove nothing (a stalled peer loses what its buffers hold).
 * The store records it synchronously (`recordResume`) in the very call that moves it, so a kill -9
 * re-sends only frames that were not confirmed yet; it never moves back (a settled frame stays so).
 */
import type { Logger } from '@devo-collector/common';
import { AppendQueue } from './append-queue.js';
import { Checkpointer } from './checkpointer.js';
import { FrameQueue, type Entry } from './frame-queue.js';
import type { RecoveryReport, Spool, SpoolFrame, SpoolStats, SpoolStore } from './types.js';

interface Reader {
  resolve: (f: SpoolFrame | null) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface SpoolCoreOptions {
  name: string;
  store: SpoolStore;
  /** The byte bound (globals.queueMaxSizeBytes): appends wait beyond it. */
  maxBytes: number;
  /** How often a moved checkpoint is written (default 200 ms). */
  checkpointIntervalMs?: number;
  /** Payload bytes kept in memory between append and write (default 32 MiB); the rest is read back. */
  memoryBytes?: number;
  /** Component logger for the `[EMERGENCY_PERSISTENCE_SYSTEM]` lines. */
  logger: Logger;
}

export class SpoolCore implements Spool {
  readonly name: string;
  private readonly store: SpoolStore;
  private readonly log: Logger;
  private readonly frames: FrameQueue;
  private readonly appends: AppendQueue;
  private readonly checkpoints: Checkpointer;
  private readers: Reader[] = [];
  private closed = false;
  private closing: Promise<void> | null = null;
  private recovered = { corruptFrames: 0, quarantinedSegments: 0 };

  constructor(opts: SpoolCoreOptions) {
    this.name = opts.name;
    this.store = opts.store;
    this.log = opts.logger;
    this.frames = new FrameQueue(opts.memoryBytes ?? 32 * 1024 * 1024);
    this.appends = new AppendQueue(opts, (stored, group) => {
      stored.forEach((s, i) => this.frames.push(s, group[i]?.payload));
      this.wakeReaders();
    });
    this.checkpoints = new Checkpointer(opts.name, opts.store, opts.checkpointIntervalMs ?? 200, opts.logger);
  }

  /** Loads what the store still holds (unsent after the checkpoint) and logs the documented lines. */
  async open(): Promise<RecoveryReport> {
    const started = Date.now();
    this.log.info('[EMERGENCY_PERSISTENCE_SYSTEM] Recovering any available content from the persistence system');
    const { frames, corruptFrames, quarantinedSegments } = await this.store.recover();
    let bytes = 0;
    let messages = 0;
    for (const f of frames) {
      this.frames.push(f);
      bytes += f.length;
      messages += f.messages;
    }
    this.appends.hold(bytes);
    this.recovered = { corruptFrames, quarantinedSegments };
    if (frames.length === 0) this.log.info('[EMERGENCY_PERSISTENCE_SYSTEM] Nothing available in the persistence system');
    else this.log.info(`[EMERGENCY_PERSISTENCE_SYSTEM] Recovered ${messages} messages (${bytes} bytes)`);
    const elapsedMs = Date.now() - started;
    this.log.info(`[EMERGENCY_PERSISTENCE_SYSTEM] Elapsed seconds: ${(elapsedMs / 1000).toFixed(2)}`);
    return { frames: frames.length, messages, bytes, corruptFrames, quarantinedSegments, elapsedMs };
  }

  append(payload: Buffer, messages: number, onWritten?: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`spool ${this.name} is closed`));
    return this.appends.append(payload, messages, onWritten);
  }

  next(signal?: AbortSignal): Promise<SpoolFrame | null> {
    if (this.closed || signal?.aborted) return Promise.resolve(null);
    const entry = this.frames.lease();
    if (entry) return this.load(entry, signal);
    return new Promise<SpoolFrame | null>((resolve) => {
      const reader: Reader = { resolve };
      if (signal) {
        reader.signal = signal;
        reader.onAbort = () => {
          this.readers = this.readers.filter((r) => r !== reader);
          resolve(null);
        };
        signal.addEventListener('abort', reader.onAbort, { once: true });
      }
      this.readers.push(reader);
    });
  }

  nextReady(): Promise<SpoolFrame | null> {
    if (this.closed) return Promise.resolve(null);
    const entry = this.frames.lease();
    return entry ? this.load(entry) : Promise.resolve(null);
  }

  private async load(e: Entry, signal?: AbortSignal): Promise<SpoolFrame | null> {
    const frame = (payload: Buffer): SpoolFrame => ({ seq: e.seq, payload, messages: e.stored.messages });
    // The sender holds it from here until it is in the kernel; the spool keeps no second copy.
    const held = this.frames.take(e);
    if (held) return frame(held);
    try {
      const run = this.frames.readRun(e);
      const payloads = await this.store.read(run.map((x) => x.stored));
      this.frames.keepRead(run, payloads);
      return frame(payloads[0] as Buffer);
    } catch (err) {
      // An I/O error on our own file: keep the frame, log, and try again a little later.
      this.log.error(`Cannot read spooled frame #${e.seq}: ${(err as Error).message}; retrying in 1 s`);
      this.frames.release(e.seq);
      await new Promise((r) => setTimeout(r, 1_000).unref());
      return this.next(signal);
    }
  }

  /** Hands ready frames to waiting readers, oldest reader first. */
  private wakeReaders(): void {
    while (this.readers.length > 0) {
      const entry = this.frames.lease();
      if (!entry) return;
      const r = this.unwait(this.readers.shift() as Reader);
      void this.load(entry, r.signal).then(r.resolve);
    }
  }

  private unwait(r: Reader): Reader {
    if (r.signal && r.onAbort) r.signal.removeEventListener('abort', r.onAbort);
    return r;
  }

  settle(seq: number): void {
    const moved = this.frames.settle(seq);
    if (!moved) return;
    // A crash from now on resumes here (synchronous: nothing confirmed is sent twice).
    this.store.recordResume({ segment: moved.last.segment, offset: moved.last.end });
    this.checkpoints.moved(moved.last);
    this.appends.hold(-moved.bytes);
  }

  release(seq: number): void {
    if (this.frames.release(seq)) this.wakeReaders();
  }

  flushCheckpoint(): Promise<void> {
    return this.checkpoints.flush();
  }

  stats(): SpoolStats {
    return { ...this.appends.stats(), ...this.frames.stats(), ...this.recovered };
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await this.appends.close();
    this.closed = true;
    for (const r of this.readers.splice(0)) this.unwait(r).resolve(null);
    await this.checkpoints.close();
    await this.store.close();
  }
}
