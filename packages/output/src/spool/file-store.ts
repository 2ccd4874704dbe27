/**
 * Disk backend of the spool (`SpoolStore`): the group-commit write into the active segment
 * (segment-files.ts) and what a full disk does to it, read-back, the resume record (resume-file.ts)
 * and `<dir>/checkpoint.json` (the settled position, written atomically). Recovery: recovery.ts.
 */
import { ftruncateSync, writeSync, writevSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic, type Logger } from '@devo-collector/common';
import { FRAME_HEADER_BYTES, writeFrameHeader } from './frame-codec.js';
import { CHECKPOINT_FILE, CHECKPOINT_TMP, recoverSpoolDir } from './recovery.js';
import type { ResumeFile } from './resume-file.js';
import type { SpoolPosition } from './resume-file.js';
import { SegmentFiles, segmentSizeFor, segName, spoolWriteError } from './segment-files.js';
import type { RecoveredStore, SpoolStore, StoredFrame } from './types.js';

export class FileStore implements SpoolStore {
  /** null until `recover` ran. */
  private segments: SegmentFiles | null = null;
  /** Bytes of the filesystem holding `dir` (statfs at open). */
  private fsBytes = 0;
  /** A write failed with ENOSPC: the next ones wait for headroom (see `checkHeadroom`). */
  private diskFull = false;
  private settledPos: SpoolPosition | null = null;
  private resume: ResumeFile | null = null;

  /** `segmentMaxBytes` default: segmentSizeFor(the size of the filesystem holding `dir`). */
  constructor(private readonly o: { dir: string; segmentMaxBytes?: number; logger: Logger }) {}

  async recover(): Promise<RecoveredStore> {
    await fs.mkdir(this.o.dir, { recursive: true, mode: 0o700 });
    const st = await fs.statfs(this.o.dir);
    this.fsBytes = st.bsize * st.blocks;
    const r = await recoverSpoolDir(this.o.dir, this.o.logger);
    this.resume = r.resume;
    this.settledPos = r.checkpoint;
    this.segments = new SegmentFiles(this.o.dir, this.o.segmentMaxBytes || segmentSizeFor(this.fsBytes), r.segments, r.nextSegment);
    await this.segments.open();
    return { frames: r.frames, corruptFrames: r.corruptFrames, quarantinedSegments: r.quarantinedSegments };
  }

  private opened(): SegmentFiles {
    if (!this.segments) throw new Error('spool store is not open');
    return this.segments;
  }

  /**
   * Appends the frames at the end of the active segment. A failure (ENOSPC, EIO) rejects the whole
   * group and leaves the store as it was: the bytes of a failed write are truncated away, so the
   * next write (positional, at the old end) and a recovery never see half a frame. A failed fsync
   * comes after `onWritten` told the delivery ledger the frames are in the file: they stay there
   * (a restart may send them again, a duplicate, never a loss), and the next write starts a new
   * segment instead of appending behind bytes whose state the kernel no longer vouches for.
   */
  async write(frames: ReadonlyArray<{ payload: Buffer; messages: number }>, onWritten?: () => void): Promise<StoredFrame[]> {
    const segments = this.opened();
    if (this.diskFull) await this.checkHeadroom(segments.maxBytes);
    let total = 0;
    for (const f of frames) total += FRAME_HEADER_BYTES + f.payload.length;
    const a = await segments.forAppend(total);
    // Headers in one small buffer, payloads as they are: one writev, no copy of the payloads.
    const headers = Buffer.allocUnsafe(FRAME_HEADER_BYTES * frames.length);
    const iov: Buffer[] = [];
    const out: StoredFrame[] = [];
    let pos = a.size;
    frames.forEach((f, i) => {
      const h = headers.subarray(i * FRAME_HEADER_BYTES, (i + 1) * FRAME_HEADER_BYTES);
      writeFrameHeader(f.payload, f.messages, h);
      iov.push(h, f.payload);
      const end = pos + FRAME_HEADER_BYTES + f.payload.length;
      out.push({ segment: a.n, offset: pos, end, length: f.payload.length, messages: f.messages });
      pos = end;
    });
    // One write and one fsync for the whole group; the append promise resolves only after both.
    // The write is synchronous on purpose: `onWritten` (the delivery ledger's pending line) then
    // runs in the same turn, so no exit of this process falls between the two. An async write
    // left a gap: a process.exit (a cluster worker whose supervisor died) lets libuv finish the
    // queued write but never runs its callback, leaving frames on disk the ledger never heard of.
    // It copies into the page cache only (the fsync stays async): ~1 ms per few MB of a burst.
    try {
      const written = writevSync(a.handle.fd, iov, a.size);
      if (written < total) {
        // A short writev (a signal, a disk filling up): write the rest as one buffer; a full disk
        // then fails with ENOSPC.
        const rest = Buffer.concat(iov, total).subarray(written);
        let done = 0;
        while (done < rest.length) done += writeSync(a.handle.fd, rest, done, rest.length - done, a.size + written + done);
      }
    } catch (err) {
      try {
        ftruncateSync(a.handle.fd, a.size);
      } catch (e2) {
        this.o.logger.error(`Spool segment ${segName(a.n)}: cannot truncate a failed write (${(e2 as Error).message}); continuing in a new segment`);
        segments.rollBeforeWrite = true;
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') this.diskFull = true;
      throw spoolWriteError(this.o.dir, err, 'write');
    }
    onWritten?.();
    a.size += total;
    try {
      await a.handle.sync();
    } catch (err) {
      segments.rollBeforeWrite = true;
      throw spoolWriteError(this.o.dir, err, `fsync ${segName(a.n)}`);
    }
    return out;
  }

  /**
   * After ENOSPC the spool writes again only once the filesystem has room for two segments (at
   * most a quarter of it): writing into the few KB the last deletion freed failed again at once,
   * and the spool flapped between blocked and writing (50 episodes in one drain on 8 MiB).
   */
  private async checkHeadroom(segmentBytes: number): Promise<void> {
    const st = await fs.statfs(this.o.dir);
    const free = st.bavail * st.bsize;
    const want = Math.min(2 * segmentBytes, Math.floor(this.fsBytes / 4));
    if (free < want) {
      const e = Object.assign(new Error(`ENOSPC: no space left on device (${free} bytes free, waiting for ${want})`), { code: 'ENOSPC' });
      throw spoolWriteError(this.o.dir, e, 'write');
    }
    this.diskFull = false;
  }

  async read(frames: readonly StoredFrame[]): Promise<Buffer[]> {
    const [first, last] = [frames[0], frames.at(-1)];
    if (!first || !last) return [];
    const handle = await this.opened().reader(first.segment);
    // One read over the whole run, headers included; the payloads are views into it.
    const length = last.end - first.offset;
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const r = await handle.read(buf, got, length - got, first.offset + got);
      if (r.bytesRead === 0) throw new Error(`short read in ${segName(first.segment)} at ${first.offset + got}`);
      got += r.bytesRead;
    }
    return frames.map((f) => {
      const at = f.offset - first.offset + FRAME_HEADER_BYTES;
      return buf.subarray(at, at + f.length);
    });
  }

  recordResume(pos: SpoolPosition): void {
    this.resume?.write(pos);
  }

  /**
   * Deletes the segments wholly before the settled position, then writes the checkpoint. In that
   * order because the checkpoint is a new file (tmp + rename) and a full disk cannot take one:
   * written first, it failed with ENOSPC and nothing was ever deleted, so a spool that filled the
   * disk stayed full after Devo came back. Deleting first is safe: a segment goes only when
   * everything in it is settled, and a recovery that finds an older checkpoint pointing at a
   * deleted segment resumes from the oldest segment left (at worst re-sending, never skipping).
   */
  async checkpoint(settled: StoredFrame | null): Promise<void> {
    // Nothing settled since start: keep the settled position recovery read.
    const base = settled ? { segment: settled.segment, offset: settled.end } : this.settledPos;
    if (!base) return;
    const segments = this.opened();
    // On a full disk a wholly sent active segment goes too (the next write starts a new one): a
    // disk smaller than two segments would otherwise never get space back. No write is under way
    // then: one would have moved the active segment's end past the settled position.
    const a = segments.active;
    if (this.diskFull && a && base.segment === a.n && base.offset >= a.size) await segments.delete(a.n);
    await segments.deleteBefore(base.segment);
    try {
      const file = path.join(this.o.dir, CHECKPOINT_FILE);
      await writeFileAtomic(file, JSON.stringify({ version: 1, segment: base.segment, offset: base.offset }), { tmp: path.join(this.o.dir, CHECKPOINT_TMP) });
    } catch (err) {
      throw spoolWriteError(this.o.dir, err, 'write the checkpoint');
    }
    this.settledPos = base;
  }

  async close(): Promise<void> {
    await this.segments?.close();
    await this.resume?.close();
    this.resume = null;
  }
}
