/**
 * A spool (`Spool`, types.ts) over either store: the frames it holds, in order, and who has them.
 * Appends come in through append-queue.ts. `ready` frames go out oldest first to any number of
 * senders; a `leased` one is settled once the receiver confirmed it, or released and then goes out
 * again before newer ones. Only the longest settled prefix is forgotten: its end is where a restart
 * resumes, recorded at once in the store's resume record (resume-file.ts: a kill -9 re-sends only
 * unconfirmed frames) and later in the checkpoint (checkpointer.ts).
 *
 * Memory: the payload of a freshly appended frame stays in memory (up to `memoryBytes`) so that the
 * sender does not read it back from the segment it was just written to. It is dropped when the
 * frame is handed out (the sender holds it until its write completes, then keeps none); frames
 * beyond the budget, recovered frames and released frames are read from disk, a run of consecutive
 * frames (up to 1 MiB, which may exceed the budget by that much) per read.
 */
import { AppendQueue } from './append-queue.js';
import { Checkpointer } from './checkpointer.js';
import type { RecoveryReport, Spool, SpoolCoreOptions, SpoolFrame, SpoolStats, StoredFrame } from './types.js';

interface Entry {
  seq: number;
  stored: StoredFrame;
  state: 'ready' | 'leased' | 'settled';
  /** The payload while it is worth keeping (see memoryBytes); else it is read from the store. */
  payload?: Buffer;
}

/** A `next` call waiting for a frame. */
interface Reader { resolve: (f: SpoolFrame | null) => void; signal?: AbortSignal; onAbort: () => void }

/** Most bytes of consecutive frames read back from a segment at once (see readRun). */
const READ_AHEAD_BYTES = 1024 * 1024;

export class SpoolCore implements Spool {
  readonly name: string;
  private readonly memoryBytes: number;
  private readonly appends: AppendQueue;
  private readonly checkpoints: Checkpointer;
  /** Bytes of the payloads kept in entries (Entry.payload). */
  private cachedBytes = 0;
  /** Unsettled entries in seq order from `head`; entries[i].seq === entries[head].seq + i - head. */
  private entries: Entry[] = [];
  private head = 0;
  /** No ready entry before this index. */
  private scanFrom = 0;
  private nextSeq = 0;
  private readers: Reader[] = [];
  private counts = { pendingMessages: 0, settledMessages: 0, settledBytes: 0, corruptFrames: 0, quarantinedSegments: 0 };
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(private readonly o: SpoolCoreOptions) {
    this.name = o.name;
    this.memoryBytes = o.memoryBytes ?? 32 * 1024 * 1024;
    this.appends = new AppendQueue(o, (stored, group) => {
      stored.forEach((s, i) => this.push(s, group[i]?.payload));
      this.wakeReaders();
    });
    this.checkpoints = new Checkpointer(o);
  }

  /** Loads what the store still holds (unsent after the checkpoint) and logs the documented lines. */
  async open(): Promise<RecoveryReport> {
    const started = Date.now();
    const log = this.o.logger;
    log.info('[EMERGENCY_PERSISTENCE_SYSTEM] Recovering any available content from the persistence system');
    const { frames, corruptFrames, quarantinedSegments } = await this.o.store.recover();
    for (const f of frames) this.push(f);
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    const messages = frames.reduce((n, f) => n + f.messages, 0);
    this.appends.hold(bytes);
    Object.assign(this.counts, { corruptFrames, quarantinedSegments });
    if (frames.length === 0) log.info('[EMERGENCY_PERSISTENCE_SYSTEM] Nothing available in the persistence system');
    else log.info(`[EMERGENCY_PERSISTENCE_SYSTEM] Recovered ${messages} messages (${bytes} bytes)`);
    const elapsedMs = Date.now() - started;
    log.info(`[EMERGENCY_PERSISTENCE_SYSTEM] Elapsed seconds: ${(elapsedMs / 1000).toFixed(2)}`);
    return { frames: frames.length, messages, bytes, corruptFrames, quarantinedSegments, elapsedMs };
  }

  append(payload: Buffer, messages: number, onWritten?: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`spool ${this.name} is closed`));
    return this.appends.append(payload, messages, onWritten);
  }

  /** Adds a stored frame at the end; its `payload` is kept while the budget allows (the memory store keeps its own). */
  private push(stored: StoredFrame, payload?: Buffer): void {
    const e: Entry = { seq: this.nextSeq++, stored, state: 'ready' };
    if (payload && !stored.payload && this.cachedBytes + payload.length <= this.memoryBytes) this.keep(e, payload);
    this.entries.push(e);
    this.counts.pendingMessages += stored.messages;
  }

  next(signal?: AbortSignal): Promise<SpoolFrame | null> {
    if (this.closed || signal?.aborted) return Promise.resolve(null);
    const entry = this.lease();
    if (entry) return this.load(entry, signal);
    return new Promise<SpoolFrame | null>((resolve) => {
      const onAbort = (): void => {
        this.readers = this.readers.filter((r) => r.resolve !== resolve);
        resolve(null);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.readers.push({ resolve, signal, onAbort });
    });
  }

  nextReady(): Promise<SpoolFrame | null> {
    const entry = this.closed ? undefined : this.lease();
    return entry ? this.load(entry) : Promise.resolve(null);
  }

  /** Hands ready frames to the waiting readers, oldest reader first. */
  private wakeReaders(): void {
    while (this.readers.length > 0) {
      const entry = this.lease();
      if (!entry) return;
      const r = this.unwait(this.readers.shift() as Reader);
      void this.load(entry, r.signal).then(r.resolve);
    }
  }

  private unwait(r: Reader): Reader {
    r.signal?.removeEventListener('abort', r.onAbort);
    return r;
  }

  private lease(): Entry | undefined {
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
    const frame = (payload: Buffer): SpoolFrame => ({ seq: e.seq, payload, messages: e.stored.messages });
    if (e.payload) {
      // The sender holds it from here until it is in the kernel; the spool keeps no second copy.
      const payload = e.payload;
      this.drop(e);
      return frame(payload);
    }
    try {
      const run = this.readRun(e);
      const payloads = await this.o.store.read(run.map((x) => x.stored));
      // The frames read along with `e` keep their payload until they are handed out.
      run.forEach((x, i) => {
        if (i > 0 && !x.payload && x.state === 'ready') this.keep(x, payloads[i] as Buffer);
      });
      return frame(payloads[0] as Buffer);
    } catch (err) {
      // An I/O error on our own file: keep the frame, log, and try again a little later.
      this.o.logger.error(`Cannot read spooled frame #${e.seq}: ${(err as Error).message}; retrying in 1 s`);
      this.unlease(e);
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

  settle(seq: number): void {
    const e = this.leased(seq);
    if (!e) return;
    e.state = 'settled';
    this.drop(e);
    let last: StoredFrame | null = null;
    let bytes = 0;
    while (this.entries[this.head]?.state === 'settled') {
      last = (this.entries[this.head++] as Entry).stored;
      bytes += last.length;
      this.counts.pendingMessages -= last.messages;
      this.counts.settledMessages += last.messages;
      this.counts.settledBytes += last.length;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.scanFrom = Math.max(0, this.scanFrom - this.head);
      this.head = 0;
    }
    if (!last) return;
    // A crash from now on resumes here (synchronous: nothing confirmed is sent twice).
    this.o.store.recordResume({ segment: last.segment, offset: last.end });
    this.checkpoints.moved(last);
    this.appends.hold(-bytes);
  }

  release(seq: number): void {
    const e = this.leased(seq);
    if (!e) return;
    this.unlease(e);
    this.wakeReaders();
  }

  flushCheckpoint(): Promise<void> {
    return this.checkpoints.flush();
  }

  stats(): SpoolStats {
    return { ...this.appends.stats(), pendingFrames: this.entries.length - this.head, ...this.counts, cachedBytes: this.cachedBytes };
  }

  close(): Promise<void> {
    return (this.closing ??= this.doClose());
  }

  private async doClose(): Promise<void> {
    await this.appends.close();
    this.closed = true;
    for (const r of this.readers.splice(0)) this.unwait(r).resolve(null);
    await this.checkpoints.close();
    await this.o.store.close();
  }

  private unlease(e: Entry): void {
    e.state = 'ready';
    this.scanFrom = Math.min(this.scanFrom, this.indexOf(e.seq));
  }

  private leased(seq: number): Entry | undefined {
    const e = this.entries[this.indexOf(seq)];
    return e?.seq === seq && e.state === 'leased' ? e : undefined;
  }

  private indexOf(seq: number): number {
    const first = this.entries[this.head];
    return first ? this.head + (seq - first.seq) : -1;
  }

  private keep(e: Entry, payload: Buffer): void {
    e.payload = payload;
    this.cachedBytes += payload.length;
  }

  private drop(e: Entry): void {
    if (!e.payload) return;
    this.cachedBytes -= e.payload.length;
    e.payload = undefined;
  }
}
