/**
 * Disk backend of the spool: `<dir>/seg-<n>.log` append-only segments of CRC-checked frames
 * (frame-codec.ts), `<dir>/checkpoint.json` = end position of the last settled frame (written
 * atomically: tmp, fsync, rename, fsync dir), `<dir>/resume.bin` = the same position recorded
 * synchronously where a restart after a crash of this process resumes (resume-record.ts; one
 * pwrite per move, no fsync),
 * `<dir>/quarantine/` for damaged segments.
 * A new segment is started at every open, so a recovered (possibly truncated) file is never
 * appended to. Files are 0600, directories 0700.
 */
import { constants as fsc, ftruncateSync, writeSync, writevSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, RuntimeError, writeFileAtomic, type Logger } from '@devo-collector/common';
import { FRAME_HEADER_BYTES, scanFrames, writeFrameHeader } from './frame-codec.js';
import { ResumeFile } from './resume-file.js';
import { comparePositions, type SpoolPosition } from './resume-record.js';
import type { RecoveredStore, SpoolStore, StoredFrame } from './types.js';

export const DEFAULT_SEGMENT_MAX_BYTES = 16 * 1024 * 1024;
/** The smallest segment size chosen for a small filesystem (see segmentSizeFor). */
export const MIN_SEGMENT_MAX_BYTES = 1024 * 1024;

/**
 * The segment size for a filesystem of `fsBytes`: 1/64 of it, between 1 MiB and 16 MiB (a power of
 * two). Why: a segment is deleted only once everything in it is sent, and the active one never;
 * on a small disk a 16 MiB segment could hold most of the disk, so a spool that filled the disk
 * (ENOSPC) while Devo was unreachable could not free space as it drained and stayed stuck. With
 * segments of 1/64 of the disk, draining frees space a segment at a time. Disks of 1 GiB and more
 * keep 16 MiB.
 */
export function segmentSizeFor(fsBytes: number): number {
  let size = DEFAULT_SEGMENT_MAX_BYTES;
  while (size > MIN_SEGMENT_MAX_BYTES && size * 64 > fsBytes) size /= 2;
  return size;
}
const SEGMENT = /^seg-(\d{12})\.log$/;
const segName = (n: number): string => `seg-${String(n).padStart(12, '0')}.log`;

interface Checkpoint {
  version: 1;
  /** End of the last settled frame: everything before it is sent. */
  segment: number;
  offset: number;
}

export interface FileStoreOptions {
  dir: string;
  /** Default: segmentSizeFor(the size of the filesystem holding `dir`). */
  segmentMaxBytes?: number;
  logger: Logger;
}

/** fsync of a segment file (a directory: common's fsyncDir). */
async function fsyncPath(p: string): Promise<void> {
  const h = await fs.open(p, fsc.O_RDONLY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

export class FileStore implements SpoolStore {
  private readonly dir: string;
  private segmentMaxBytes: number;
  private readonly log: Logger;
  /** null between a failed roll and the next write (which opens `nextSegment`). */
  private active: { n: number; handle: fs.FileHandle; size: number } | null = null;
  private nextSegment = 1;
  /** The active segment is not to be appended to any more (a failed fsync or truncation): roll first. */
  private rollBeforeWrite = false;
  private opened = false;
  /** Bytes of the filesystem holding `dir` (statfs at open). */
  private fsBytes = 0;
  /** A write failed with ENOSPC: the next ones wait for headroom (see `checkHeadroom`). */
  private diskFull = false;
  private readonly readers = new Map<number, Promise<fs.FileHandle>>();
  private segments: number[] = [];
  private settledPos: { segment: number; offset: number } | null = null;
  private resume: ResumeFile | null = null;

  constructor(opts: FileStoreOptions) {
    this.dir = opts.dir;
    this.segmentMaxBytes = opts.segmentMaxBytes ?? 0;
    this.log = opts.logger;
  }

  /** A failed write's error, naming the directory; the errno code (ENOSPC, EIO) is kept. */
  private writeError(err: unknown, what: string): Error {
    const e = err as NodeJS.ErrnoException;
    const out = new Error(`cannot ${what} in the spool directory ${this.dir}: ${e.message}`, { cause: err }) as NodeJS.ErrnoException;
    if (e.code) out.code = e.code;
    return out;
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  /**
   * The checkpoint is written atomically (temp file, rename), so a damaged one is outside damage.
   * Falling back to the oldest segment would send again, silently, everything still spooled:
   * RuntimeError(502) stops the start instead, naming the file and what removing it means.
   */
  private async readCheckpoint(): Promise<Checkpoint | null> {
    const file = this.file('checkpoint.json');
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      throw spoolStateError(file, `cannot be read (${code ?? 'error'})`);
    }
    let c: Checkpoint | null = null;
    try {
      c = JSON.parse(text) as Checkpoint;
    } catch {
      // reported below
    }
    if (c && c.version === 1 && Number.isInteger(c.segment) && Number.isInteger(c.offset)) return c;
    throw spoolStateError(file, 'is corrupt (not a spool checkpoint: {"version":1,"segment":n,"offset":n})');
  }

  async recover(): Promise<RecoveredStore> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const st = await fs.statfs(this.dir);
    this.fsBytes = st.bsize * st.blocks;
    if (this.segmentMaxBytes <= 0) this.segmentMaxBytes = segmentSizeFor(this.fsBytes);
    await fs.rm(this.file('checkpoint.json.tmp'), { force: true });
    const names = await fs.readdir(this.dir);
    const all = names.flatMap((n) => (SEGMENT.exec(n) ? [Number(SEGMENT.exec(n)?.[1])] : [])).sort((a, b) => a - b);
    const cp = await this.readCheckpoint();
    this.settledPos = cp ? { segment: cp.segment, offset: cp.offset } : null;
    const opened = await ResumeFile.open(this.file('resume.bin'), this.log);
    this.resume = opened.file;
    if (opened.fromEarlierBoot) {
      this.log.warn('[EMERGENCY_PERSISTENCE_SYSTEM] The spool resume record predates a reboot (it was never fsynced): re-sending from the last checkpoint');
    }
    const confirmed: SpoolPosition | null = opened.record;
    // After a crash, resume after what the receiver confirmed (the resume record, written in the
    // same call that settled it), unless the checkpoint is further (a record older than the
    // checkpoint, e.g. a torn slot's fallback); segments are only ever deleted behind the checkpoint.
    const settled = this.settledPos;
    const skip: SpoolPosition | null =
      confirmed && (!settled || comparePositions(confirmed, settled) >= 0) ? { segment: confirmed.segment, offset: confirmed.offset } : settled;
    if (skip && confirmed && (!settled || comparePositions(confirmed, settled) > 0)) {
      this.log.info(
        `[EMERGENCY_PERSISTENCE_SYSTEM] Resuming after the frames the receiver confirmed (segment ${skip.segment}, byte ${skip.offset})`,
      );
    }
    const frames: StoredFrame[] = [];
    let corruptFrames = 0;
    let quarantinedSegments = 0;
    this.segments = [];
    for (const n of all) {
      if (cp && n < cp.segment) {
        await fs.rm(this.file(segName(n)), { force: true });
        continue;
      }
      const buf = await fs.readFile(this.file(segName(n)));
      if (buf.length === 0) {
        await fs.rm(this.file(segName(n)), { force: true });
        continue;
      }
      this.segments.push(n);
      const start = !skip || n > skip.segment ? 0 : n === skip.segment ? Math.min(skip.offset, buf.length) : buf.length;
      const before = frames.length;
      for (const e of scanFrames(buf, start)) {
        if (e.kind === 'frame') {
          frames.push({ segment: n, offset: e.offset, end: e.end, length: e.length, messages: e.messages });
          continue;
        }
        corruptFrames++;
        const lost = buf.length - e.offset;
        if (e.kind === 'corrupt') {
          await fs.mkdir(this.file('quarantine'), { recursive: true, mode: 0o700 });
          const q = path.join('quarantine', `${segName(n)}.${Date.now()}`);
          await fs.copyFile(this.file(segName(n)), this.file(q));
          quarantinedSegments++;
          this.log.error(
            `[EMERGENCY_PERSISTENCE_SYSTEM] Spool segment ${segName(n)} is damaged at byte ${e.offset} (${e.reason}): ` +
              `${lost} bytes from there were not recovered, segment copied to ${q} and truncated`,
          );
        } else {
          this.log.error(
            `[EMERGENCY_PERSISTENCE_SYSTEM] Spool segment ${segName(n)} ends with a torn frame at byte ${e.offset} ` +
              `(${lost} bytes, an append interrupted by a crash, never acknowledged): truncated`,
          );
        }
        const h = await fs.open(this.file(segName(n)), 'r+');
        try {
          await h.truncate(e.offset);
          await h.sync();
        } finally {
          await h.close();
        }
      }
      // A crash can leave frames written but not yet fsynced (the page cache kept them), and the
      // delivery ledger then already counts their records as spooled: make them durable now.
      if (frames.length > before) await fsyncPath(this.file(segName(n)));
    }
    this.nextSegment = (all[all.length - 1] ?? 0) + 1;
    this.opened = true;
    await this.openSegment();
    return { frames, corruptFrames, quarantinedSegments, start: skip ?? { segment: 0, offset: 0 } };
  }

  /** Starts segment `nextSegment` (the number is used up even when this fails: never reused). */
  private async openSegment(): Promise<void> {
    const n = this.nextSegment++;
    this.rollBeforeWrite = false;
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.file(segName(n)), 'wx', 0o600);
    } catch (err) {
      throw this.writeError(err, `create ${segName(n)}`);
    }
    this.active = { n, handle, size: 0 };
    this.segments.push(n);
    try {
      await fsyncDir(this.dir);
    } catch (err) {
      throw this.writeError(err, `create ${segName(n)}`);
    }
  }

  private async closeActive(): Promise<void> {
    const a = this.active;
    this.active = null;
    if (!a) return;
    await a.handle.close().catch(() => undefined);
    // An empty segment (a roll right after a failure) holds nothing to recover.
    if (a.size === 0) {
      await fs.rm(this.file(segName(a.n)), { force: true }).catch(() => undefined);
      this.segments = this.segments.filter((x) => x !== a.n);
    }
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
    if (!this.opened) throw new Error('spool store is not open');
    if (this.diskFull) await this.checkHeadroom();
    let total = 0;
    for (const f of frames) total += FRAME_HEADER_BYTES + f.payload.length;
    if (this.active && (this.rollBeforeWrite || (this.active.size > 0 && this.active.size + total > this.segmentMaxBytes))) await this.closeActive();
    if (!this.active) await this.openSegment();
    const a = this.active as { n: number; handle: fs.FileHandle; size: number };
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
        this.log.error(`Spool segment ${segName(a.n)}: cannot truncate a failed write (${(e2 as Error).message}); continuing in a new segment`);
        this.rollBeforeWrite = true;
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') this.diskFull = true;
      throw this.writeError(err, 'write');
    }
    onWritten?.();
    a.size += total;
    try {
      await a.handle.sync();
    } catch (err) {
      this.rollBeforeWrite = true;
      throw this.writeError(err, `fsync ${segName(a.n)}`);
    }
    return out;
  }

  /**
   * After ENOSPC the spool writes again only once the filesystem has room for two segments (at
   * most a quarter of it): writing into the few KB the last deletion freed failed again at once,
   * and the spool flapped between blocked and writing (50 episodes in one drain on 8 MiB).
   */
  private async checkHeadroom(): Promise<void> {
    const st = await fs.statfs(this.dir);
    const free = st.bavail * st.bsize;
    const want = Math.min(2 * this.segmentMaxBytes, Math.floor(this.fsBytes / 4));
    if (free < want) {
      const e = Object.assign(new Error(`ENOSPC: no space left on device (${free} bytes free, waiting for ${want})`), { code: 'ENOSPC' });
      throw this.writeError(e, 'write');
    }
    this.diskFull = false;
  }

  async read(frames: readonly StoredFrame[]): Promise<Buffer[]> {
    const first = frames[0];
    const last = frames[frames.length - 1];
    if (!first || !last) return [];
    let h = this.readers.get(first.segment);
    if (!h) {
      h = fs.open(this.file(segName(first.segment)), 'r');
      this.readers.set(first.segment, h);
    }
    const handle = await h;
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
    // On a full disk a wholly sent active segment goes too (the next write starts a new one): a
    // disk smaller than two segments would otherwise never get space back. No write is under way
    // then: one would have moved the active segment's end past the settled position.
    const a = this.active;
    if (this.diskFull && a && base.segment === a.n && base.offset >= a.size) {
      this.active = null;
      await a.handle.close().catch(() => undefined);
      const r = this.readers.get(a.n);
      this.readers.delete(a.n);
      if (r) await r.then((h2) => h2.close()).catch(() => undefined);
      await fs.rm(this.file(segName(a.n)), { force: true });
      this.segments = this.segments.filter((x) => x !== a.n);
    }
    const old = this.segments.filter((n) => n < base.segment && n !== this.active?.n);
    for (const n of old) {
      const r = this.readers.get(n);
      this.readers.delete(n);
      if (r) await r.then((h2) => h2.close()).catch(() => undefined);
      await fs.rm(this.file(segName(n)), { force: true });
      this.segments = this.segments.filter((x) => x !== n);
    }
    const cp: Checkpoint = { version: 1, segment: base.segment, offset: base.offset };
    try {
      // A fixed temp name: open() removes a crash's leftover.
      await writeFileAtomic(this.file('checkpoint.json'), JSON.stringify(cp), { tmp: this.file('checkpoint.json.tmp') });
    } catch (err) {
      throw this.writeError(err, 'write the checkpoint');
    }
    this.settledPos = { segment: cp.segment, offset: cp.offset };
  }

  async close(): Promise<void> {
    for (const r of this.readers.values()) await r.then((h) => h.close()).catch(() => undefined);
    this.readers.clear();
    if (this.active) await this.active.handle.close().catch(() => undefined);
    this.active = null;
    await this.resume?.close();
    this.resume = null;
  }
}

/** RuntimeError(502): a spool checkpoint that exists but cannot be used; nothing is changed. */
export function spoolStateError(file: string, problem: string): RuntimeError {
  return new RuntimeError(
    502,
    `The spool checkpoint "${file}" ${problem}. Nothing was changed. Restore it from a backup, or remove it: ` +
      'the output then sends again from the oldest spool segment still on disk, past what its resume record shows as written ' +
      '(messages already delivered may arrive twice in Devo)',
  );
}
