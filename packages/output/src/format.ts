/**
 * Devo wire format (devo-sdk `Sender`, see reference/devo.md §1.3-1.4):
 *   <14>YYYY-MM-DD HH:MM:SS.mmm <hostname> <tag>: <message>\n
 * optionally framed with RFC 6587 octet counting (`<len> <line>`, len counts the trailing LF).
 * Messages are never split, truncated or escaped: the record text goes on the wire as given.
 */
import { asBuffer, type EventBatch } from '@devo-collector/common';

/** facility 1 (user) * 8 + severity 6 (info), devo-sdk's default. */
export const DEVO_DEFAULT_PRI = 14;
/** devo-sdk's constant date when the caller passes none (two spaces before the day). */
export const DEVO_DEFAULT_DATE = 'Jan  1 00:00:00';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `2024-05-01 12:34:56.789` in UTC, as devo-collector-sdk passes the event time. */
export function formatDevoDate(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

export interface DevoLineParts {
  hostname: string;
  tag: string;
  message: string;
  /** Header date text; `formatDevoDate(ms)` or `DEVO_DEFAULT_DATE`. */
  date: string;
  pri?: number;
}

/**
 * One syslog line. Like devo-sdk, a LF is appended only when the message does not already end
 * with one; embedded LFs are left as they are (records are compact JSON and contain none).
 */
export function formatDevoLine(p: DevoLineParts): string {
  const line = `<${p.pri ?? DEVO_DEFAULT_PRI}>${p.date} ${p.hostname} ${p.tag}: ${p.message}`;
  return line.endsWith('\n') ? line : `${line}\n`;
}

/** RFC 6587 octet counting: `<byte length of line> <line>`; the length includes the LF. */
export function frameOctetCounted(line: string | Buffer): Buffer {
  const body = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/** The bytes of one message on the stream, in the output's framing. */
export function encodeDevoLine(p: DevoLineParts, octetCounting: boolean): Buffer {
  const line = formatDevoLine(p);
  return octetCounting ? frameOctetCounted(line) : Buffer.from(line, 'utf8');
}

/** One spool frame's worth of formatted messages. */
export interface FormattedFrame {
  payload: Buffer;
  messages: number;
}

/**
 * Where the frame that starts at message `from` ends (exclusive): as many consecutive messages as
 * fit in `maxBytes` (`sizes` = each message's bytes on the wire), and always at least one.
 */
function frameEnd(sizes: ArrayLike<number>, from: number, maxBytes: number): { end: number; bytes: number } {
  let bytes = sizes[from] as number;
  let end = from + 1;
  while (end < sizes.length && bytes + (sizes[end] as number) <= maxBytes) bytes += sizes[end++] as number;
  return { end, bytes };
}

/** The syslog header every line of a batch shares (date = the batch's creation time), encoded once. */
function batchHeader(batch: Pick<EventBatch, 'tag' | 'createdAtMs'>, hostname: string): Buffer {
  return Buffer.from(`<${DEVO_DEFAULT_PRI}>${formatDevoDate(batch.createdAtMs)} ${hostname} ${batch.tag}: `, 'utf8');
}

/**
 * Writes every message (`put` writes message `j`, exactly `sizes[j]` bytes, at `off` and returns
 * the offset after it) into one buffer, then cuts it into frames of at most `maxFrameBytes`. One
 * allocation per batch, its frames views into it: thousands of separate 32 KiB buffers per burst
 * each cost an ArrayBuffer the GC tracks and sweeps, and a batch's frames are sent one after the
 * other, so the shared buffer outlives its first frames only briefly.
 */
export function cutFrames(sizes: readonly number[], maxFrameBytes: number, put: (all: Buffer, off: number, j: number) => number): FormattedFrame[] {
  let total = 0;
  for (const x of sizes) total += x;
  const all = Buffer.allocUnsafe(total);
  for (let j = 0, off = 0; j < sizes.length; j++) off = put(all, off, j);
  const frames: FormattedFrame[] = [];
  for (let i = 0, at = 0; i < sizes.length; ) {
    const { end, bytes } = frameEnd(sizes, i, maxFrameBytes);
    frames.push({ payload: all.subarray(at, (at += bytes)), messages: end - i });
    i = end;
  }
  return frames;
}

/**
 * All records of a batch (`data` + `bounds`: every record, or the ones a replay filter kept), header
 * date = batch creation time (UTC), in order: the bytes of `encodeDevoLine` for each record, cut
 * into consecutive frames of at most `maxFrameBytes` (a record larger than that is a frame of its
 * own). The header is the same for every record of a batch, so it is encoded once and copied; the
 * records are copied from their bytes, never decoded to strings. Like devo-sdk, a LF is appended
 * only when a record does not already end with one.
 */
export function formatFrames(
  batch: Pick<EventBatch, 'tag' | 'createdAtMs' | 'data' | 'bounds'>,
  hostname: string,
  octetCounting: boolean,
  maxFrameBytes: number,
): FormattedFrame[] {
  const header = batchHeader(batch, hostname);
  const data = asBuffer(batch.data);
  const b = batch.bounds;
  const n = b.length >> 1;
  const sizes = new Array<number>(n);
  const lf = (s: number, e: number): number => (e > s && data[e - 1] === 0x0a ? 0 : 1);
  for (let i = 0; i < n; i++) {
    const s = b[2 * i] as number;
    const e = b[2 * i + 1] as number;
    const lineBytes = header.length + (e - s) + lf(s, e);
    sizes[i] = lineBytes + (octetCounting ? String(lineBytes).length + 1 : 0);
  }
  return cutFrames(sizes, maxFrameBytes, (out, off, j) => {
    const s = b[2 * j] as number;
    const e = b[2 * j + 1] as number;
    const end = lf(s, e);
    if (octetCounting) off += out.write(`${header.length + (e - s) + end} `, off, 'latin1');
    off += header.copy(out, off);
    off += data.copy(out, off, s, e);
    if (end) out[off++] = 0x0a;
    return off;
  });
}

/** `formatFrames` as a single buffer (one allocation). */
export function formatBatch(batch: Pick<EventBatch, 'tag' | 'createdAtMs' | 'data' | 'bounds'>, hostname: string, octetCounting: boolean): Buffer {
  return formatFrames(batch, hostname, octetCounting, Infinity)[0]?.payload ?? Buffer.alloc(0);
}

/** Splits a stream of lines back into `{tag, message}` (tests and the console sender). */
export interface ParsedDevoLine {
  pri: number;
  date: string;
  hostname: string;
  tag: string;
  message: string;
}

const HEADER = /^<(\d+)>(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^:\s]+): /;

export function parseDevoLine(line: string): ParsedDevoLine | null {
  const m = HEADER.exec(line);
  if (!m) return null;
  const body = line.slice(m[0].length);
  return {
    pri: Number(m[1]),
    date: m[2] ?? '',
    hostname: m[3] ?? '',
    tag: m[4] ?? '',
    message: body.endsWith('\n') ? body.slice(0, -1) : body,
  };
}

/**
 * Parses a frame payload (LF- or octet-count-framed lines) back into lines. Octet-counted lines are
 * recognised by their first byte being a digit (syslog lines start with `<`), like rsyslog does.
 */
export function splitFrameLines(payload: Buffer): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < payload.length) {
    const first = payload[pos] ?? 0;
    if (first >= 0x30 && first <= 0x39) {
      const sp = payload.indexOf(0x20, pos);
      const len = Number(payload.subarray(pos, sp).toString('ascii'));
      out.push(payload.subarray(sp + 1, sp + 1 + len).toString('utf8'));
      pos = sp + 1 + len;
    } else {
      const lf = payload.indexOf(0x0a, pos);
      const end = lf < 0 ? payload.length : lf + 1;
      out.push(payload.subarray(pos, end).toString('utf8'));
      pos = end;
    }
  }
  return out;
}
