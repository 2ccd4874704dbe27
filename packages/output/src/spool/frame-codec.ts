/**
 * Spool frame layout (little endian); a batch is one or more consecutive frames (output-service.ts):
 *
 *   offset 0  u32 magic  0x31535644 ("DVS1")
 *   offset 4  u32 payload length in bytes
 *   offset 8  u32 number of messages (lines) in the payload
 *   offset 12 u32 CRC32 of bytes 4..11 followed by the payload
 *   offset 16 payload: the formatted Devo lines, ready to be written to the socket
 *
 * The CRC covers the length and count, so a torn header is caught as well as a torn payload.
 */
import { crc32 } from 'node:zlib';

const FRAME_MAGIC = 0x31535644;
export const FRAME_HEADER_BYTES = 16;

/**
 * Writes the 16-byte header of a frame carrying `payload` into `out` at `at`. The payload itself is
 * written next to it as is (writev), never copied into a frame buffer.
 */
export function writeFrameHeader(payload: Buffer, messages: number, out: Buffer, at = 0): void {
  out.writeUInt32LE(FRAME_MAGIC, at);
  out.writeUInt32LE(payload.length, at + 4);
  out.writeUInt32LE(messages, at + 8);
  out.writeUInt32LE(crc32(payload, crc32(out.subarray(at + 4, at + 12))) >>> 0, at + 12);
}

type ScanEntry =
  | { kind: 'frame'; offset: number; end: number; length: number; messages: number }
  /** Not enough bytes left for the declared frame: a write torn by a crash. */
  | { kind: 'truncated'; offset: number }
  /** Bad magic or CRC mismatch: the bytes are damaged. */
  | { kind: 'corrupt'; offset: number; reason: string };

/** Walks the frames of a segment's bytes from `start`; stops at the first damaged frame. */
export function* scanFrames(buf: Buffer, start: number): Generator<ScanEntry> {
  let pos = start;
  while (pos < buf.length) {
    if (buf.length - pos < FRAME_HEADER_BYTES) {
      yield { kind: 'truncated', offset: pos };
      return;
    }
    if (buf.readUInt32LE(pos) !== FRAME_MAGIC) {
      yield { kind: 'corrupt', offset: pos, reason: 'bad frame magic' };
      return;
    }
    const length = buf.readUInt32LE(pos + 4);
    const messages = buf.readUInt32LE(pos + 8);
    const end = pos + FRAME_HEADER_BYTES + length;
    if (end > buf.length) {
      yield { kind: 'truncated', offset: pos };
      return;
    }
    const expected = buf.readUInt32LE(pos + 12);
    const actual = crc32(buf.subarray(pos + FRAME_HEADER_BYTES, end), crc32(buf.subarray(pos + 4, pos + 12))) >>> 0;
    if (expected !== actual) {
      yield { kind: 'corrupt', offset: pos, reason: 'CRC32 mismatch' };
      return;
    }
    yield { kind: 'frame', offset: pos, end, length, messages };
    pos = end;
  }
}
