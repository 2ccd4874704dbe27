/**
 * The resume record: where a restart after a crash of this process resumes sending, i.e. the end
 * of the longest prefix of settled frames (confirmed by the receiver, senders/confirm-rule.ts). The
 * checkpoint holds the same position but is written every 200 ms with two fsyncs; this record is
 * written in the very call that settles, so a kill -9 re-sends nothing already confirmed.
 *
 * It lives in `<spool dir>/resume.bin`, a fixed-size file of two slots, and is overwritten in place
 * with one synchronous `pwrite` each time the position moves (a few microseconds, in the same tick
 * the receiver confirmed the frame): no fsync, the page cache survives the death of the process.
 * Writes alternate between the two slots (slot = sequence % 2), so a torn or damaged write leaves
 * the other, older slot valid: recovery takes the valid slot with the highest sequence. The slots
 * sit in different 512-byte sectors so a torn sector spoils at most one.
 *
 * The record also carries the kernel's boot id. A record written before a reboot (power loss,
 * kernel crash) is ignored: it was never fsynced, so the page cache that held it may have kept an
 * older or partial state; recovery falls back to the fsynced checkpoint (a few duplicates at most).
 *
 * Slot layout (little endian, 48 bytes):
 *
 *   offset 0  u32 magic 0x32525644 ("DVR2")
 *   offset 4  u32 CRC32 of bytes 8..47
 *   offset 8  u64 sequence: +1 at every write; the newest valid slot wins
 *   offset 16 u64 segment number
 *   offset 24 u64 byte offset in that segment (end of the last frame of the prefix)
 *   offset 32 16 bytes: boot id (/proc/sys/kernel/random/boot_id; zeros where there is none)
 *
 * u64 values stay below 2^53 (they are JavaScript numbers).
 */
import { constants as fsc, readFileSync, unlinkSync, writeSync } from 'node:fs';
import fs from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { Logger } from '@devo-collector/common';

const RESUME_MAGIC = 0x32525644;
export const RESUME_SLOT_BYTES = 48;
const BOOT_ID_BYTES = 16;
/** Byte position of slot 1; slot 0 is at 0. */
export const RESUME_SLOT_STRIDE = 512;
export const RESUME_FILE_BYTES = 2 * RESUME_SLOT_STRIDE;

/** A position in the spool: byte `offset` of segment `segment` (segment 0 offset 0 = the very start). */
export interface SpoolPosition {
  segment: number;
  offset: number;
}

export interface ResumeRecord extends SpoolPosition {
  sequence: number;
  /** 16 bytes; all zeros when the platform has no boot id. */
  bootId: Buffer;
}

/** Where the slot for `sequence` starts in the file. */
export function resumeSlotOffset(sequence: number): number {
  return (sequence % 2) * RESUME_SLOT_STRIDE;
}

/** Encodes `r` into `out` (reused by the writer to avoid an allocation per write). */
export function encodeResumeRecord(r: ResumeRecord, out: Buffer = Buffer.alloc(RESUME_SLOT_BYTES)): Buffer {
  out.writeUInt32LE(RESUME_MAGIC, 0);
  out.writeBigUInt64LE(BigInt(r.sequence), 8);
  out.writeBigUInt64LE(BigInt(r.segment), 16);
  out.writeBigUInt64LE(BigInt(r.offset), 24);
  out.fill(0, 32, 32 + BOOT_ID_BYTES);
  r.bootId.copy(out, 32, 0, BOOT_ID_BYTES);
  out.writeUInt32LE(crc32(out.subarray(8, RESUME_SLOT_BYTES)) >>> 0, 4);
  return out;
}

/** The record in one slot, or null if the slot is empty, torn or damaged. */
export function decodeResumeSlot(slot: Buffer): ResumeRecord | null {
  if (slot.length < RESUME_SLOT_BYTES || slot.readUInt32LE(0) !== RESUME_MAGIC) return null;
  if (slot.readUInt32LE(4) !== crc32(slot.subarray(8, RESUME_SLOT_BYTES)) >>> 0) return null;
  return {
    sequence: Number(slot.readBigUInt64LE(8)),
    segment: Number(slot.readBigUInt64LE(16)),
    offset: Number(slot.readBigUInt64LE(24)),
    bootId: Buffer.from(slot.subarray(32, 32 + BOOT_ID_BYTES)),
  };
}

/** The newest valid record of a resume file's bytes (any length; missing slots count as empty). */
export function newestResumeRecord(file: Buffer): ResumeRecord | null {
  let best: ResumeRecord | null = null;
  for (const at of [0, RESUME_SLOT_STRIDE]) {
    const r = decodeResumeSlot(file.subarray(at, at + RESUME_SLOT_BYTES));
    if (r && (!best || r.sequence > best.sequence)) best = r;
  }
  return best;
}

export function comparePositions(a: SpoolPosition, b: SpoolPosition): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.offset - b.offset;
}

/** The 16 bytes of a boot id text (`66ac1295-cf91-4898-a42f-cb40ad9c32d3`); zeros if it is not one. */
export function parseBootId(text: string): Buffer {
  const hex = text.trim().replaceAll('-', '');
  return /^[0-9a-fA-F]{32}$/.test(hex) ? Buffer.from(hex, 'hex') : Buffer.alloc(BOOT_ID_BYTES);
}

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

export class ResumeFile {
  private readonly slot = Buffer.alloc(RESUME_SLOT_BYTES);
  private broken = false;
  private closed = false;

  private constructor(private readonly path: string, private readonly handle: fs.FileHandle, private sequence: number, private readonly bootId: Buffer, private readonly log: Logger) {}

  /** Opens the file (creates it zero-filled, 0600, when missing) and reads the newest valid record, of any boot. */
  static async open(path: string, log: Logger, bootId: Buffer = currentBootId()): Promise<{ file: ResumeFile; newest: ResumeRecord | null }> {
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
