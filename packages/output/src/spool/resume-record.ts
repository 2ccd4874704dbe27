/**
 * The resume record: where a restart after a crash of this process resumes sending, i.e. the end
 * of the longest prefix of settled frames (confirmed by the receiver, stream-sender.ts). The
 * checkpoint holds the same position but is written every 200 ms with two fsyncs; this record is
 * written in the very call that settles, so a kill -9 re-sends nothing already confirmed.
 *
 * It lives in `<spool dir>/resume.bin`, a fixed-size file of two slots, and is overwritten in place
 * with one synchronous `pwrite` each time the position moves: no fsync, the page cache survives
 * the death of the process. Writes alternate between the two slots (slot = sequence % 2), so a
 * torn or damaged write leaves the other, older slot valid: recovery takes the valid slot with the
 * highest sequence. The slots sit in different 512-byte sectors so a torn sector spoils at most one.
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
 * u64 fields are written as two u32 halves; values stay below 2^53.
 */
import { crc32 } from 'node:zlib';

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

const TWO_32 = 2 ** 32;

function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32LE(value % TWO_32, at);
  buf.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * TWO_32;
}

/** Where the slot for `sequence` starts in the file. */
export function resumeSlotOffset(sequence: number): number {
  return (sequence % 2) * RESUME_SLOT_STRIDE;
}

/** Encodes `r` into `out` (reused by the writer to avoid an allocation per write). */
export function encodeResumeRecord(r: ResumeRecord, out: Buffer = Buffer.alloc(RESUME_SLOT_BYTES)): Buffer {
  out.writeUInt32LE(RESUME_MAGIC, 0);
  writeU64(out, r.sequence, 8);
  writeU64(out, r.segment, 16);
  writeU64(out, r.offset, 24);
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
    sequence: readU64(slot, 8),
    segment: readU64(slot, 16),
    offset: readU64(slot, 24),
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
