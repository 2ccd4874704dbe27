/**
 * Ships the collector's own log records through every output's internal_senders group, tag
 * `devo.collectors.out.local.<level>`, body {msg,time,level,collector_name,collector_version}.
 * Records already passed redact() in the logger. Recursion guard: records logged by the internal
 * group's own components, and anything logged while this feed is appending, are not shipped, so
 * sending internal records can never generate an unbounded stream of internal records.
 * The in-memory buffer is bounded (maxBuffered records); overflow is counted and reported once per
 * flush, never silently.
 */
import { createLogger, onLogRecord, type LogLevel, type LogRecord } from '@devo-collector/common';
import { formatDevoDate, formatDevoLine } from './format.js';

const LEVEL_NAME: Record<LogLevel, string> = { error: 'error', warn: 'warning', info: 'info', debug: 'debug' };
const SHIPPED: ReadonlySet<LogLevel> = new Set<LogLevel>(['error', 'warn', 'info']);

interface InternalSink {
  append(payload: Buffer, messages: number): Promise<void>;
}

interface InternalFeedOptions {
  hostname: string;
  collectorName: string;
  collectorVersion: string;
  sinks: () => InternalSink[];
  flushIntervalMs?: number;
  maxBuffered?: number;
}

/** `2024-11-19T11:32:18.861000Z` (Python `%Y-%m-%dT%H:%M:%S.%fZ`). */
const pyTime = (d: Date): string => `${d.toISOString().slice(0, 23)}000Z`;

function internalRecordLine(r: LogRecord, o: Pick<InternalFeedOptions, 'hostname' | 'collectorName' | 'collectorVersion'>): string {
  const body = {
    msg: `${r.component} -> ${r.message}`,
    time: pyTime(r.time),
    level: LEVEL_NAME[r.level].toUpperCase(),
    collector_name: o.collectorName,
    collector_version: o.collectorVersion,
  };
  return formatDevoLine({
    hostname: o.hostname,
    tag: `devo.collectors.out.local.${LEVEL_NAME[r.level]}`,
    message: JSON.stringify(body),
    date: formatDevoDate(r.time.getTime()),
  });
}

export class InternalFeed {
  private buffer: string[] = [];
  private dropped = 0;
  private busy = false;
  private queued = false;
  private off: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly log = createLogger('InternalSenderFeed(internal_senders)');

  constructor(private readonly o: InternalFeedOptions) {}

  start(): void {
    this.off = onLogRecord((r) => this.onRecord(r));
    this.timer = setInterval(() => void this.flush(), this.o.flushIntervalMs ?? 1_000);
    this.timer.unref();
  }

  /** A record from another process (already redacted there). */
  ingest(r: LogRecord): void {
    this.onRecord(r);
  }

  private onRecord(r: LogRecord): void {
    if (this.busy || !SHIPPED.has(r.level) || r.component.includes('internal_senders')) return;
    if (this.buffer.length >= (this.o.maxBuffered ?? 10_000)) {
      this.dropped++;
      return;
    }
    this.buffer.push(internalRecordLine(r, this.o));
  }

  /** Appends what is buffered to every internal spool (one frame each). */
  flush(): Promise<void> {
    // One flush queued at a time: while a spool is full, ticks do not pile up behind it.
    if (this.queued) return this.flushing;
    this.queued = true;
    this.flushing = this.flushing.then(async () => {
      this.queued = false;
      if (this.buffer.length === 0 && this.dropped === 0) return;
      const lines = this.buffer;
      this.buffer = [];
      const dropped = this.dropped;
      this.dropped = 0;
      // Only the synchronous part is guarded: whatever it logs is not fed back in.
      let appends: Promise<unknown>[] = [];
      this.busy = true;
      try {
        if (dropped > 0) this.log.warn(`Internal log buffer full: ${dropped} internal records were not shipped`);
        if (lines.length > 0) {
          const payload = Buffer.from(lines.join(''), 'utf8');
          appends = this.o.sinks().map((s) => s.append(payload, lines.length).catch(() => undefined));
        }
      } finally {
        this.busy = false;
      }
      await Promise.all(appends);
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    this.off?.();
    this.off = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
