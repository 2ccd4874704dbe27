/**
 * The segment files of a disk spool, `<dir>/seg-<n>.log` (0600, n never reused): their names and
 * size, the active one appended to and its rotation, the read handles, and deletion. A new segment
 * is started at every open, so a recovered (possibly truncated) file is never appended to; when a
 * segment may go (everything in it settled) is file-store.ts's decision.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '@devo-collector/common';

const DEFAULT_SEGMENT_MAX_BYTES = 16 * 1024 * 1024;
/** The smallest segment size chosen for a small filesystem (see segmentSizeFor). */
const MIN_SEGMENT_MAX_BYTES = 1024 * 1024;

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
export const segName = (n: number): string => `seg-${String(n).padStart(12, '0')}.log`;

/** The segment files in `dir` and their sizes, any order. */
export async function listSegments(dir: string): Promise<Array<{ n: number; bytes: number }>> {
  const found = (await fs.readdir(dir)).flatMap((name) => SEGMENT.exec(name)?.[1] ?? []).map(Number);
  return Promise.all(found.map(async (n) => ({ n, bytes: (await fs.stat(path.join(dir, segName(n)))).size })));
}

/** A failed write's error, naming the directory; the errno code (ENOSPC, EIO) is kept. */
export function spoolWriteError(dir: string, err: unknown, what: string): Error {
  const e = err as NodeJS.ErrnoException;
  const out = new Error(`cannot ${what} in the spool directory ${dir}: ${e.message}`, { cause: err }) as NodeJS.ErrnoException;
  if (e.code) out.code = e.code;
  return out;
}

/** The segment being appended to: its number, handle and size in bytes. */
interface ActiveSegment { n: number; handle: fs.FileHandle; size: number }

export class SegmentFiles {
  /** null between a failed roll and the next write (which opens the next segment). */
  active: ActiveSegment | null = null;
  /** The active segment is not to be appended to any more (a failed fsync or truncation): roll first. */
  rollBeforeWrite = false;
  private readonly readers = new Map<number, Promise<fs.FileHandle>>();

  /** `onDisk`: the segments recovery kept, oldest first; `next`: the number of the next one. */
  constructor(private readonly dir: string, readonly maxBytes: number, private onDisk: number[], private next: number) {}

  file(n: number): string {
    return path.join(this.dir, segName(n));
  }

  /** The segment to append `bytes` to: the active one, or a new one when it is full or spoiled. */
  async forAppend(bytes: number): Promise<ActiveSegment> {
    const a = this.active;
    if (a && (this.rollBeforeWrite || (a.size > 0 && a.size + bytes > this.maxBytes))) {
      this.active = null;
      await a.handle.close().catch(() => undefined);
      // An empty segment (a roll right after a failure) holds nothing to recover.
      if (a.size === 0) await this.delete(a.n).catch(() => undefined);
    }
    if (!this.active) await this.open();
    return this.active as ActiveSegment;
  }

  /** Starts the next segment (its number is used up even when this fails: never reused). */
  async open(): Promise<void> {
    const n = this.next++;
    this.rollBeforeWrite = false;
    try {
      this.active = { n, handle: await fs.open(this.file(n), 'wx', 0o600), size: 0 };
      this.onDisk.push(n);
      await fsyncDir(this.dir);
    } catch (err) {
      throw spoolWriteError(this.dir, err, `create ${segName(n)}`);
    }
  }

  /** A read handle of segment `n`, opened once. */
  reader(n: number): Promise<fs.FileHandle> {
    const h = this.readers.get(n) ?? fs.open(this.file(n), 'r');
    this.readers.set(n, h);
    return h;
  }

  /** Deletes segment `n`, closing its handles first (the active one's too). */
  async delete(n: number): Promise<void> {
    const a = this.active;
    if (a?.n === n) {
      this.active = null;
      await a.handle.close().catch(() => undefined);
    }
    const r = this.readers.get(n);
    this.readers.delete(n);
    if (r) await r.then((h) => h.close()).catch(() => undefined);
    await fs.rm(this.file(n), { force: true });
    this.onDisk = this.onDisk.filter((x) => x !== n);
  }

  /** Deletes the segments numbered below `n`, except the active one. */
  async deleteBefore(n: number): Promise<void> {
    for (const x of this.onDisk.filter((x) => x < n && x !== this.active?.n)) await this.delete(x);
  }

  async close(): Promise<void> {
    for (const r of this.readers.values()) await r.then((h) => h.close()).catch(() => undefined);
    this.readers.clear();
    await this.active?.handle.close().catch(() => undefined);
    this.active = null;
  }
}
