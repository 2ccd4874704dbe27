/** Public surface of a spool and the storage backend it runs on (disk or memory). */
import type { Logger } from '@devo-collector/common';
import type { SpoolPosition } from './resume-file.js';

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

/** A frame handed to a sender: it must be `settle`d (written) or `release`d (give back) exactly once. */
export interface SpoolFrame {
  readonly seq: number;
  readonly payload: Buffer;
  readonly messages: number;
}

export interface RecoveryReport extends Omit<RecoveredStore, 'frames'> {
  frames: number;
  messages: number;
  bytes: number;
  elapsedMs: number;
}

export interface SpoolStats extends Omit<RecoveredStore, 'frames'> {
  /** Bytes held (unsent + being appended): what the byte bound applies to. */
  pendingBytes: number;
  pendingFrames: number;
  pendingMessages: number;
  appendedFrames: number;
  settledMessages: number;
  settledBytes: number;
  /** Appends currently waiting for space. */
  blockedAppends: number;
  /** Payload bytes kept in memory for the senders (bounded by the spool's memory budget). */
  cachedBytes: number;
  /**
   * Why appends cannot be written now (a write failed with ENOSPC, ...), or null. The byte bound
   * being reached shows as `blockedAppends > 0` instead.
   */
  writeBlocked: { code: number; message: string; sinceMs: number } | null;
}

export interface Spool {
  readonly name: string;
  /**
   * Adds one frame (a batch's lines, or a slice of them). Resolves once it is durable (fsynced for the disk spool).
   * When the byte bound is reached it waits for space; it never drops. Order is preserved.
   * `onWritten` runs once the frame is in the store's file, before the fsync: from then on a crash
   * of this process (not of the machine) no longer loses it, a restart recovers it.
   */
  append(payload: Buffer, messages: number, onWritten?: () => void): Promise<void>;
  /** The oldest frame nobody holds; waits for one; null once the spool is closed or `signal` aborts. */
  next(signal?: AbortSignal): Promise<SpoolFrame | null>;
  /** Like `next` but never waits: null when no frame is ready now (used to drain at shutdown). */
  nextReady(): Promise<SpoolFrame | null>;
  /** The receiver confirmed the frame (senders/confirm-rule.ts): it may be forgotten (resume record, checkpoint). */
  settle(seq: number): void;
  /** The frame was not (surely) delivered: hand it out again, in order, before newer frames. */
  release(seq: number): void;
  /** Writes the checkpoint now if it moved. */
  flushCheckpoint(): Promise<void>;
  stats(): SpoolStats;
  /** Waits for pending appends, writes the checkpoint, releases file handles. Idempotent. */
  close(): Promise<void>;
}

/** Where a stored frame lives; `payload` only for the memory store. */
export interface StoredFrame extends SpoolPosition {
  end: number;
  length: number;
  messages: number;
  payload?: Buffer;
}

export interface RecoveredStore {
  /** Frames after the resume position, in order. */
  frames: StoredFrame[];
  /** Damaged frames found (bad CRC/magic or torn tail); each is logged as ERROR. */
  corruptFrames: number;
  /** Segments copied to `quarantine/` because of damage. */
  quarantinedSegments: number;
}

export interface SpoolStore {
  /** Frames after the checkpoint (or the resume record), in order, plus what recovery found. */
  recover(): Promise<RecoveredStore>;
  /**
   * Appends frames and makes them durable with one fsync; `onWritten` runs between the write
   * (the frames are in the file, a crash of this process keeps them) and the fsync.
   */
  write(frames: ReadonlyArray<{ payload: Buffer; messages: number }>, onWritten?: () => void): Promise<StoredFrame[]>;
  /**
   * The payloads of consecutive frames of one segment (each starts where the previous ends), read
   * at once: a burst beyond the memory budget reads its small frames back a run at a time.
   */
  read(frames: readonly StoredFrame[]): Promise<Buffer[]>;
  /**
   * Synchronously records where a restart after a crash of this process resumes: everything before
   * `pos` is settled (confirmed by the receiver). It only ever moves forward.
   */
  recordResume(pos: SpoolPosition): void;
  /** Everything up to and including `settled` was sent: segments before it may go. */
  checkpoint(settled: StoredFrame | null): Promise<void>;
  close(): Promise<void>;
}
