/**
 * The spool logic shared by the disk and memory backends: byte bound with FIFO waiting appends,
 * group commit (appends of the same tick share one store write + fsync), in-order hand-out to any
 * number of senders with release/redelivery, and a checkpoint that advances over the longest
 * settled prefix, written at most every `checkpointIntervalMs`.
 *
 * The resume position (where a restart after a crash of this process starts sending) is the end of
 * the longest settled prefix: a frame settles only once the receiver confirmed it (stream-sender.ts),
 * and bytes merely handed to our kernel prove nothing (a stalled peer loses what its buffers hold).
 * The store records it synchronously (`recordResume`) in the very call that moves it, so a kill -9
 * re-sends only frames that were not confirmed yet; it never moves back (a settled frame stays so).
 *
 * Memory: the payload of a freshly appended frame stays in memory (up to `memoryBytes`, default
 * 32 MiB) so that the sender does not read it back from the segment it was just written to. It is
 * dropped when the frame is handed out (the sender holds it until its write completes, then keeps
 * none); frames beyond the budget, recovered frames and released frames are read from disk, a run of
 * consecutive frames (up to 1 MiB, which may exceed the budget by that much) per read.
 */
import type { Logger } from '@devo-collector/common';
import type { SpoolPosition } from './resume-record.js';
import { OUTPUT_ERROR } from '../errors.js';
import type { RecoveryReport, Spool, SpoolFrame, SpoolStats, SpoolStore, StoredFrame } from './types.js';

type EntryState = 'ready' | 'leased' | 'settled';

interface Entry {
  seq: number;
  stored: StoredFrame;
  state: EntryState;
  /** The payload while it is worth keeping (see memoryBytes); else it is read from the store. */
  payload?: Buffer;
}

interface PendingAppend {
  payload: Buffer;
  messages: number;
  onWritten?: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Reader {
  resolve: (f: SpoolFrame | null) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface SpoolCoreOptions {
  name: string;
  store: SpoolStore;
  maxBytes: number;
  checkpointIntervalMs?: number;
  /** Budget for payloads kept in memory between append and write (default 32 MiB). */
  memoryBytes?: number;
  logger: Logger;
}

export const DEFAULT_SPOOL_MEMORY_BYTES = 32 * 1024 * 1024;
/** Most bytes of consecutive frames read back from a segment at once (see readRun). */
const READ_AHEAD_BYTES = 1024 * 1024;

export class SpoolCore implements Spool {
  readonly name: string;
  private readonly store: SpoolStore;
  private readonly maxBytes: number;
  private readonly checkpointIntervalMs: number;
  private readonly memoryBytes: number;
  private readonly log: Logger;
  /** Bytes of the payloads kept in entries (Entry.payload). */
  private cachedBytes = 0;

  /** Unsettled entries in seq order; entries[i].seq === baseSeq + i - head. */
  private entries: Entry[] = [];
  private head = 0;
  private scanFrom = 0;
  private nextSeq = 0;

  private reservedBytes = 0;
  private heldMessages = 0;
  private spaceWaiters: Array<{ bytes: number; go: () => void; fail: (err: Error) => void }> = [];
  private batch: PendingAppend[] = [];
  private writing: Promise<void> | null = null;
  private readers: Reader[] = [];

  private lastSettled: StoredFrame | null = null;
  /** End of the last settled frame, or where recovery started when none settled yet: the resume position. */
  private basePos: SpoolPosition = { segment: 0, offset: 0 };
  private checkpointDirty = false;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private checkpointWrite: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Set while writes fail (ENOSPC, EIO): readiness reports it; cleared by the next good write. */
  private writeBlocked: SpoolStats['writeBlocked'] = null;
  /** The checkpoint write is failing (logged once per episode). */
  private checkpointFailing = false;
  private counters = { appendedFrames: 0, appendedMessages: 0, settledMessages: 0, settledBytes: 0, corruptFrames: 0, quarantinedSegments: 0 };

  constructor(opts: SpoolCoreOptions) {
    this.name = opts.name;
    this.store = opts.store;
    this.maxBytes = opts.maxBytes;
    // The resume record already survives a crash at once; the checkpoint only moves the settled
    // position (segment deletion, the fallback after a reboot), so it need not be frequent.
    this.checkpointIntervalMs = opts.checkpointIntervalMs ?? 200;
    this.memoryBytes = opts.memoryBytes ?? DEFAULT_SPOOL_MEMORY_BYTES;
    this.log = opts.logger;
  }

  /** Loads what the store still holds (unsent after the checkpoint) and logs the documented lines. */
  async open(): Promise<RecoveryReport> {
    const started = Date.now();
    this.log.info('[EMERGENCY_PERSISTENCE_SYSTEM] Recovering any available content from the persistence system');
    const { frames, corruptFrames, quarantinedSegments, start } = await this.store.recover();
    this.basePos = start;
    let bytes = 0;
    let messages = 0;
    for (const f of frames) {
      this.entries.push({ seq: this.nextSeq++, stored: f, state: 'ready' });
      this.reservedBytes += f.length;
      this.heldMessages += f.messages;
      bytes += f.length;
      messages += f.messages;
    }
    this.counters.corruptFrames += corruptFrames;
    this.counters.quarantinedSegments += quarantinedSegments;
    if (frames.length === 0) this.log.info('[EMERGENCY_PERSISTENCE_SYSTEM] Nothing available in the persistence system');
    else this.log.info(`[EMERGENCY_PERSISTENCE_SYSTEM] Recovered ${messages} messages (${bytes} bytes)`);
    const elapsedMs = Date.now() - started;
    this.log.info(`[EMERGENCY_PERSISTENCE_SYSTEM] Elapsed seconds: ${(elapsedMs / 1000).toFixed(2)}`);
    return { frames: frames.length, messages, bytes, corruptFrames, quarantinedSegments, elapsedMs };
  }

  append(payload: Buffer, messages: number, onWritten?: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`spool ${this.name} is closed`));
    const bytes = payload.length;
    // FIFO: once someone waits, later appends queue behind it so the order (and ack order) holds.
    // A frame larger than the whole bound still passes when the spool is empty, or it never would.
    const fits = this.spaceWaiters.length === 0 && (this.reservedBytes === 0 || this.reservedBytes + bytes <= this.maxBytes);
    return new Promise<void>((resolve, reject) => {
      const go = (): void => {
        this.reservedBytes += bytes;
        this.batch.push({ payload, messages, onWritten, resolve, reject });
        this.scheduleWrite();
      };
      if (fits) go();
      else this.spaceWaiters.push({ bytes, go, fail: reject });
    });
  }

  private scheduleWrite(): void {
    if (this.writing) return;
    this.writing = new Promise<void>((done) => setImmediate(done)).then(() => this.writeLoop());
  }

  /**
   * Group commit. A failed store write (a full disk: ENOSPC) rejects the group's appends (their
   * batches answer `batch-failed` and the input re-sends them later: pulling pauses, nothing is
   * lost) and marks the spool write-blocked; frames already spooled keep draining, their
   * segments are deleted as they are sent, and the first write that succeeds clears the block.
   */
  private async writeLoop(): Promise<void> {
    while (this.batch.length > 0) {
      const group = this.batch;
      this.batch = [];
      try {
        const stored = await this.store.write(group, () => this.written(group));
        if (this.writeBlocked) {
          this.log.info(`Spool ${this.name}: writing again after ${((Date.now() - this.writeBlocked.sinceMs) / 1000).toFixed(1)} s (${this.writeBlocked.message})`);
          this.writeBlocked = null;
        }
        stored.forEach((s, i) => {
          const e: Entry = { seq: this.nextSeq++, stored: s, state: 'ready' };
          const payload = (group[i] as PendingAppend).payload;
          // The memory store keeps payloads itself (s.payload); only the disk store needs the cache.
          if (!s.payload && this.cachedBytes + payload.length <= this.memoryBytes) {
            e.payload = payload;
            this.cachedBytes += payload.length;
          }
          this.entries.push(e);
          this.heldMessages += s.messages;
          this.counters.appendedFrames++;
          this.counters.appendedMessages += s.messages;
          group[i]?.resolve();
        });
        this.wakeReaders();
      } catch (err) {
        const message = (err as Error).message;
        if (!this.writeBlocked) {
          this.writeBlocked = { code: OUTPUT_ERROR.spoolAppend, message, sinceMs: Date.now() };
          this.log.error(
            `Spool ${this.name} cannot write (${message}): batches are refused (the input keeps them and re-sends them later) ` +
              'until a write succeeds; what is spooled keeps being sent and frees its space',
          );
        } else {
          this.writeBlocked.message = message;
        }
        for (const p of group) {
          this.reservedBytes -= p.payload.length;
          p.reject(err);
        }
        this.wakeSpaceWaiters();
      }
    }
    this.writing = null;
  }

  /** The group is in the store's file (not yet fsynced): tell the appenders that asked. */
  private written(group: readonly PendingAppend[]): void {
    for (const p of group) {
      try {
        p.onWritten?.();
      } catch (err) {
        // The caller's bookkeeping must not turn a good write into a failed one.
        this.log.error(`Spool ${this.name}: onWritten failed: ${(err as Error).message}`);
      }
    }
  }

  next(signal?: AbortSignal): Promise<SpoolFrame | null> {
    if (this.closed || signal?.aborted) return Promise.resolve(null);
    const entry = this.leaseNext();
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
    const entry = this.leaseNext();
    return entry ? this.load(entry) : Promise.resolve(null);
  }

  private leaseNext(): Entry | undefined {
    for (let i = Math.max(this.scanFrom, this.head); i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e && e.state === 'ready') {
        e.state = 'leased';
        this.scanFrom = i + 1;
        return e;
      }
    }
    this.scanFrom = this.entries.length;
    return undefined;
  }

  private async load(e: Entry, signal?: AbortSignal): Promise<SpoolFrame | null> {
    if (e.payload) {
      // The sender holds it from here until it is in the kernel; the spool keeps no second copy.
      const payload = e.payload;
      this.dropPayload(e);
      return { seq: e.seq, payload, messages: e.stored.messages };
    }
    try {
      const run = this.readRun(e);
      const payloads = await this.store.read(run.map((x) => x.stored));
      // The frames read along with `e` keep their payload until they are handed out.
      for (let i = 1; i < run.length; i++) {
        const x = run[i] as Entry;
        const p = payloads[i] as Buffer;
        if (x.payload || x.state !== 'ready') continue;
        x.payload = p;
        this.cachedBytes += p.length;
      }
      return { seq: e.seq, payload: payloads[0] as Buffer, messages: e.stored.messages };
    } catch (err) {
      // An I/O error on our own file: keep the frame, log, and try again a little later.
      this.log.error(`Cannot read spooled frame #${e.seq}: ${(err as Error).message}; retrying in 1 s`);
      e.state = 'ready';
      this.scanFrom = Math.min(this.scanFrom, this.indexOf(e.seq));
      await new Promise((r) => setTimeout(r, 1_000).unref());
      return this.next(signal);
    }
  }

  /**
   * `e` and the ready frames right after it in the same segment whose payload is not in memory, up
   * to READ_AHEAD_BYTES: read back with one read. A batch is several small frames; reading them
   * back one by one cost ~20 times the reads (and ~60 % more output CPU at a burst).
   */
  private readRun(e: Entry): Entry[] {
    const run = [e];
    if (e.stored.payload) return run;
    let bytes = e.stored.end - e.stored.offset;
    for (let i = this.indexOf(e.seq) + 1; i < this.entries.length; i++) {
      const x = this.entries[i] as Entry;
      const prev = run[run.length - 1] as Entry;
      if (x.state !== 'ready' || x.payload || x.stored.segment !== prev.stored.segment || x.stored.offset !== prev.stored.end) break;
      bytes += x.stored.end - x.stored.offset;
      if (bytes > READ_AHEAD_BYTES) break;
      run.push(x);
    }
    return run;
  }

  private wakeReaders(): void {
    while (this.readers.length > 0) {
      const entry = this.leaseNext();
      if (!entry) return;
      const r = this.readers.shift() as Reader;
      if (r.signal && r.onAbort) r.signal.removeEventListener('abort', r.onAbort);
      void this.load(entry, r.signal).then(r.resolve);
    }
  }

  private indexOf(seq: number): number {
    const first = this.entries[this.head];
    return first ? this.head + (seq - first.seq) : -1;
  }

  private dropPayload(e: Entry): void {
    if (!e.payload) return;
    this.cachedBytes -= e.payload.length;
    e.payload = undefined;
  }

  settle(seq: number): void {
    const e = this.entries[this.indexOf(seq)];
    if (!e || e.seq !== seq || e.state !== 'leased') return;
    e.state = 'settled';
    this.dropPayload(e);
    let last: Entry | undefined;
    while (this.head < this.entries.length && this.entries[this.head]?.state === 'settled') {
      last = this.entries[this.head] as Entry;
      this.head++;
      this.reservedBytes -= last.stored.length;
      this.heldMessages -= last.stored.messages;
      this.counters.settledMessages += last.stored.messages;
      this.counters.settledBytes += last.stored.length;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.scanFrom = Math.max(0, this.scanFrom - this.head);
      this.head = 0;
    }
    if (last) {
      this.lastSettled = last.stored;
      this.basePos = { segment: last.stored.segment, offset: last.stored.end };
      // A crash from now on resumes here (synchronous: nothing confirmed is sent twice).
      this.store.recordResume(this.basePos);
      this.checkpointDirty = true;
      this.scheduleCheckpoint();
      this.wakeSpaceWaiters();
    }
  }

  release(seq: number): void {
    const i = this.indexOf(seq);
    const e = this.entries[i];
    if (!e || e.seq !== seq || e.state !== 'leased') return;
    e.state = 'ready';
    this.scanFrom = Math.min(this.scanFrom, i);
    this.wakeReaders();
  }

  private wakeSpaceWaiters(): void {
    while (this.spaceWaiters.length > 0) {
      const w = this.spaceWaiters[0] as { bytes: number; go: () => void; fail: (err: Error) => void };
      if (this.reservedBytes !== 0 && this.reservedBytes + w.bytes > this.maxBytes) return;
      this.spaceWaiters.shift();
      w.go();
    }
  }

  private scheduleCheckpoint(delayMs = this.checkpointIntervalMs): void {
    if (this.checkpointTimer || this.closed) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = null;
      void this.flushCheckpoint();
    }, delayMs);
    this.checkpointTimer.unref();
  }

  flushCheckpoint(): Promise<void> {
    this.checkpointWrite = this.checkpointWrite.then(async () => {
      if (!this.checkpointDirty) return;
      this.checkpointDirty = false;
      try {
        await this.store.checkpoint(this.lastSettled);
        if (this.checkpointFailing) this.log.info(`Spool ${this.name}: the checkpoint is written again`);
        this.checkpointFailing = false;
      } catch (err) {
        // Retried with the next checkpoint (sent segments are deleted before it is written, so a
        // full disk frees space first); a crash meanwhile only re-sends from the older checkpoint.
        if (!this.checkpointFailing) {
          this.log.error(`OutputError(${OUTPUT_ERROR.checkpointWrite}): Spool ${this.name}: cannot write the checkpoint: ${(err as Error).message}; retrying`);
        }
        this.checkpointFailing = true;
        this.checkpointDirty = true;
        if (!this.closed) this.scheduleCheckpoint(1_000);
      }
    });
    return this.checkpointWrite;
  }

  stats(): SpoolStats {
    return {
      pendingBytes: this.reservedBytes,
      pendingFrames: this.entries.length - this.head,
      pendingMessages: this.heldMessages,
      ...this.counters,
      blockedAppends: this.spaceWaiters.length,
      cachedBytes: this.cachedBytes,
      writeBlocked: this.writeBlocked ? { ...this.writeBlocked } : null,
    };
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    for (const w of this.spaceWaiters.splice(0)) w.fail(new Error(`spool ${this.name} closed while waiting for space`));
    while (this.writing) await this.writing;
    this.closed = true;
    for (const r of this.readers.splice(0)) {
      if (r.signal && r.onAbort) r.signal.removeEventListener('abort', r.onAbort);
      r.resolve(null);
    }
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    await this.flushCheckpoint();
    await this.store.close();
  }
}
