/**
 * What a Devo receiver makes of one connection's bytes: LF-terminated syslog lines and, in-band,
 * gzip members (devo-sdk's zip mode, our `compression: gzip`), told apart at each unit's first
 * bytes (1f 8b vs `<`); devo-sdk itself mixes both on one stream. Incremental: a line or a member
 * may span reads. A member counts only once whole (inflated, CRC-32 and ISIZE checked); what is
 * incomplete when the connection ends (a crash cut it) is dropped, like a plain line without LF.
 */
import { crc32, inflateRawSync } from 'node:zlib';

const GZIP_HEADER_BYTES = 10;
const GZIP_TRAILER_BYTES = 8;

export class WireDecoder {
  /** `onMember`: each whole member's size on the wire and the complete lines it finished. */
  constructor(private readonly o: { onMember?: (wireBytes: number, lines: string[]) => void } = {}) {}

  private buf: Buffer = Buffer.alloc(0);
  /** Inflated text of the members not yet ended by an LF (a member normally ends with one). */
  private text: Buffer = Buffer.alloc(0);
  /** Whole gzip members decoded. */
  members = 0;
  /** Lines that came plain (not inside a member). */
  plainLines = 0;
  /** A corrupt member (bad header, deflate data, CRC or size): decoding of this connection stops. */
  error: string | null = null;

  /** The complete lines (UTF-8, without their LF) the bytes so far finish. */
  push(chunk: Buffer): string[] {
    if (this.error) return [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: string[] = [];
    for (;;) {
      if (this.buf.length === 0) break;
      if (this.buf[0] === 0x1f) {
        if (this.buf.length < 2) break;
        if (this.buf[1] === 0x8b) {
          if (!this.member(out)) break;
          continue;
        }
      }
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) break;
      out.push(this.buf.subarray(0, nl).toString('utf8'));
      this.plainLines++;
      this.buf = this.buf.subarray(nl + 1);
    }
    return out;
  }

  /** Bytes left undecoded (an incomplete line or member); call when the connection ends. */
  pendingBytes(): number {
    return this.buf.length + this.text.length;
  }

  /** Decodes the member at the start of `buf` if it is whole; false: wait for more bytes. */
  private member(out: string[]): boolean {
    const b = this.buf;
    if (b.length < GZIP_HEADER_BYTES) return false;
    // Neither devo-sdk nor we set FLG bits (no name, comment, extra field or header CRC).
    if (b[2] !== 8 || b[3] !== 0) return this.fail(`unexpected gzip header ${b.subarray(0, GZIP_HEADER_BYTES).toString('hex')}`);
    let inflated: Buffer;
    let used: number;
    try {
      const r = inflateRawSync(b.subarray(GZIP_HEADER_BYTES), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      inflated = r.buffer;
      used = r.engine.bytesWritten;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') return false; // truncated so far
      return this.fail(`corrupt deflate data: ${(e as Error).message}`);
    }
    const end = GZIP_HEADER_BYTES + used + GZIP_TRAILER_BYTES;
    if (b.length < end) return false;
    const crc = b.readUInt32LE(end - 8);
    const size = b.readUInt32LE(end - 4);
    if (crc !== crc32(inflated) >>> 0 || size !== (inflated.length >>> 0)) return this.fail('gzip trailer does not match the inflated data');
    this.members++;
    this.buf = b.subarray(end);
    this.text = this.text.length === 0 ? inflated : Buffer.concat([this.text, inflated]);
    let start = 0;
    const lines: string[] = [];
    for (let nl = this.text.indexOf(0x0a); nl >= 0; nl = this.text.indexOf(0x0a, start)) {
      lines.push(this.text.subarray(start, nl).toString('utf8'));
      start = nl + 1;
    }
    this.text = this.text.subarray(start);
    out.push(...lines);
    this.o.onMember?.(end, lines);
    return true;
  }

  private fail(why: string): false {
    this.error = why;
    this.buf = Buffer.alloc(0);
    return false;
  }
}
