/**
 * Gzip transport (`compression: gzip`): a spool frame's formatted lines become one gzip member,
 * the unit devo-sdk's zip mode writes in-band on the syslog stream (devo.md §1.4; capture
 * fixtures/04_zip_gzip_member.bin). zlib with the gzip wrapper, like the SDK's
 * `zlib.compressobj(level, DEFLATED, 31)`, writes the same 10-byte header: 1f 8b 08, no flags,
 * MTIME 0, XFL 0 at levels 2-8 (2 at 9, 4 at 0-1), OS 03; then the raw deflate data, CRC-32 and
 * ISIZE. Inside: the full syslog lines, each with its header and LF, as they would be sent plain.
 *
 * Why per frame: the spool then holds exactly the bytes that go on the wire, so its checkpoints,
 * resume points and settle rules keep meaning what they say, byte for byte; a member is never
 * split across frames, and a kill -9 re-sends at most the one member whose write was incomplete.
 * Why gzipSync: a frame is ≤ 32 KiB (SPOOL_FRAME_MAX_BYTES); deflating it costs ~0.1-0.3 ms, and a
 * synchronous call keeps the frames of a batch appended in order in one tick (their group commit).
 */
import { gzipSync } from 'node:zlib';

/** One gzip member holding `payload` (zlib level 0-9). */
export function gzipMember(payload: Buffer, level: number): Buffer {
  return gzipSync(payload, { level });
}
