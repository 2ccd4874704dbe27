/**
 * `<spool dir>/resume.bin`: the file of the resume record (see resume-record.ts for the layout and
 * for why it is written without fsync and carries the boot id). One synchronous `pwrite` of one
 * slot per move: a few microseconds, so the position is recorded in the same tick the receiver
 * confirmed the frame and a kill -9 of this process re-sends nothing already confirmed.
 */
import { constants as fsc, readFileSync, unlinkSync, writeSync } from 'node:fs';
import fs from 'node:fs/promises';
import type { Logger } from '@devo-collector/common';
import {
  encodeResumeRecord,
  newestResumeRecord,
  parseBootId,
  RESUME_FILE_BYTES,
  RESUME_SLOT_BYTES,
  resumeSlotOffset,
  type ResumeRecord,
  type SpoolPosition,
} from './resume-record.js';

let bootIdCache: Buffer | null = null;

/** This kernel's boot id (Linux); zeros elsewhere, where every record then counts as this boot's. */
export function currentBootId(): Buffer {
  if (!bootIdCache) {
    try {
      bootIdCache = parseBootId(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
    } catch {
      bootIdCache = parseBootId('');
    }
  }
  return bootIdCache;
}

interface OpenedResumeFile {
  file: ResumeFile;
  /** The newest valid record, of any boot (resume-point.ts judges it). */
  newest: ResumeRecord | null;
}

export class ResumeFile {
  private readonly slot = Buffer.alloc(RESUME_SLOT_BYTES);
  private broken = false;
  private closed = false;

  private constructor(
    private readonly path: string,
    private readonly handle: fs.FileHandle,
    private sequence: number,
    private readonly bootId: Buffer,
    private readonly log: Logger,
  ) {}

  /** Opens the file (creates it zero-filled, 0600, when missing) and reads the newest valid record. */
  static async open(path: string, log: Logger, bootId: Buffer = currentBootId()): Promise<OpenedResumeFile> {
    const handle = await fs.open(path, fsc.O_RDWR | fsc.O_CREAT, 0o600);
    try {
      const bytes = Buffer.alloc(RESUME_FILE_BYTES);
      const { bytesRead } = await handle.read(bytes, 0, RESUME_FILE_BYTES, 0);
      const newest = newestResumeRecord(bytes.subarray(0, bytesRead));
      if (bytesRead < RESUME_FILE_BYTES) {
        // Allocate the whole file now (zeros), so a later in-place write never needs a new block.
        await handle.write(bytes, 0, RESUME_FILE_BYTES, 0);
        await handle.sync();
      }
      return { file: new ResumeFile(path, handle, newest?.sequence ?? 0, bootId, log), newest };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /** Records `pos` now, synchronously (the position only moves forward: no fsync needed). */
  write(pos: SpoolPosition): void {
    if (this.broken || this.closed) return;
    const sequence = this.sequence + 1;
    encodeResumeRecord({ sequence, segment: pos.segment, offset: pos.offset, bootId: this.bootId }, this.slot);
    try {
      const n = writeSync(this.handle.fd, this.slot, 0, RESUME_SLOT_BYTES, resumeSlotOffset(sequence));
      if (n !== RESUME_SLOT_BYTES) throw new Error(`short write (${n} of ${RESUME_SLOT_BYTES} bytes)`);
      this.sequence = sequence;
    } catch (err) {
      // A record we cannot update would hold an old position while the checkpoint moves on: remove
      // the file, so that recovery uses the checkpoint alone (duplicates, never a loss).
      this.broken = true;
      let removed = true;
      try {
        unlinkSync(this.path);
      } catch {
        removed = false;
      }
      this.log.error(
        `[EMERGENCY_PERSISTENCE_SYSTEM] Cannot write the spool resume record (${(err as Error).message}); ` +
          (removed ? 'file removed, a restart after a crash re-sends from the last checkpoint' : 'and cannot remove it'),
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close().catch(() => undefined);
  }
}
