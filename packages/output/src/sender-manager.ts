/**
 * One sender group of one output (standard_senders, lookup_senders, internal_senders): its spool,
 * `output.concurrency` senders draining it, and a monitor that logs the vendor's statistics lines
 * every `globals.senderStatsPeriodMs`. Names follow the vendor's log lines:
 *   DevoSenderManager(standard_senders,manager,devo_1), DevoSender(standard_senders,devo_sender_0),
 *   DevoSenderManagerMonitor(standard_senders,devo_1).
 */
import type { Writable } from 'node:stream';
import { createLogger, type GlobalsConfig, type OutputConfig, type SenderGroup } from '@devo-collector/common';
import { gzipMember } from './gzip-member.js';
import { openSpool, spoolDir, type Spool } from './spool.js';
import { createConsoleSender } from './senders/console-sender.js';
import type { BackoffPolicy } from './senders/delivery.js';
import { createSocketSender } from './senders/socket-connect.js';
import type { Sender, SenderHealth } from './senders/types.js';
import { enqueuedStatsLine, groupTotalsLine, internalTotalsLine, pyJson, type GroupPeriod } from './monitor-lines.js';

type GroupName = 'standard_senders' | 'lookup_senders' | 'internal_senders';
export const GROUP_NAME: Record<SenderGroup, GroupName> = {
  standard: 'standard_senders',
  lookup: 'lookup_senders',
  internal: 'internal_senders',
};

/** Vendor-style component prefix per output type. */
function componentPrefix(type: OutputConfig['type']): string {
  switch (type) {
    case 'devo_platform':
    case 'relay':
      return 'Devo';
    case 'syslog':
      return 'Syslog';
    case 'console':
      return 'Console';
  }
}

/** A relay with all three TLS files is reached over TLS; otherwise relay/syslog are plain TCP. */
export function usesTls(o: OutputConfig): boolean {
  return o.type === 'devo_platform' || (o.type === 'relay' && !!o.chainPath && !!o.certPath && !!o.keyPath);
}

export interface PeriodStats {
  group: SenderGroup;
  totalMessages: number;
  periodMessages: number;
  periodBytes: number;
  sinceMs: number;
}

export interface SenderManagerOptions {
  output: OutputConfig;
  group: SenderGroup;
  globals: GlobalsConfig;
  /** The syslog hostname, for the "Created a sender" line. */
  hostname?: string;
  /** Test knobs; production uses the defaults. */
  quietMs?: number;
  backoff?: BackoffPolicy;
  checkpointIntervalMs?: number;
  consoleStream?: Writable;
  onPeriodStats?: (s: PeriodStats) => void;
}

export class SenderManager {
  readonly group: SenderGroup;
  readonly name: string;
  private senders: Sender[] = [];
  private monitor: NodeJS.Timeout | null = null;
  private last = { messages: 0, bytes: 0, writeMs: 0, atMs: Date.now() };
  readonly enqueued = { count: 0, bytes: 0 };

  private constructor(
    private readonly o: SenderManagerOptions,
    readonly spool: Spool,
  ) {
    this.group = o.group;
    this.name = `${componentPrefix(o.output.type)}SenderManager(${GROUP_NAME[o.group]},manager,${o.output.name})`;
  }

  static async open(o: SenderManagerOptions): Promise<SenderManager> {
    const prefix = componentPrefix(o.output.type);
    const group = GROUP_NAME[o.group];
    const logger = createLogger(`${prefix}SenderManager(${group},manager,${o.output.name})`);
    const p = o.globals.persistence;
    const { spool } = await openSpool({
      type: p.type,
      dir: p.type === 'filesystem' ? spoolDir(p.directory, o.output.name, o.group) : undefined,
      name: `${o.output.name}/${o.group}`,
      maxBytes: o.globals.queueMaxSizeBytes,
      checkpointIntervalMs: o.checkpointIntervalMs,
      logger,
    });
    const m = new SenderManager(o, spool);
    // One sender for lookups: a lookup's START, rows and END must reach Devo in order, and two
    // connections would not keep it.
    const n = o.output.type === 'console' || o.group === 'lookup' ? 1 : Math.max(1, o.output.concurrency);
    for (let i = 0; i < n; i++) m.senders.push(m.createSender(`${prefix}Sender(${group},${prefix.toLowerCase()}_sender_${i})`));
    return m;
  }

  private createSender(name: string): Sender {
    const { output, quietMs, backoff, hostname } = this.o;
    const logger = createLogger(name);
    const common = { name, output, spool: this.spool, logger, quietMs, backoff, hostname };
    if (output.type === 'console') return createConsoleSender({ name, spool: this.spool, logger, stream: this.o.consoleStream });
    return createSocketSender(common, usesTls(output));
  }

  /** The vendor's start lines come from the starting thread: `MainThread -> DevoSender(…) -> Starting thread`. */
  start(): void {
    const mainLog = createLogger('MainThread');
    for (const s of this.senders) {
      mainLog.info(`${s.name} -> Starting thread`);
      s.start();
    }
    const monitorLog = createLogger(this.monitorName);
    const period = this.o.globals.senderStatsPeriodMs;
    mainLog.info(`${this.monitorName} -> Starting thread (every ${Math.round(period / 1000)} seconds)`);
    mainLog.info(`${this.name} -> Starting thread`);
    if (this.group === 'standard' && this.o.output.compression === 'gzip') {
      createLogger(this.name).info(`Frames are sent as gzip members (zlib level ${this.o.output.compressionLevel}), every sender group of this output`);
    }
    this.last.atMs = Date.now();
    this.monitor = setInterval(() => this.report(monitorLog), period);
    this.monitor.unref();
  }

  /**
   * Every frame of every group of this output enters its spool here: with `compression: gzip` as
   * one gzip member (gzip-member.ts), so the spool holds what goes on the wire. `enqueued.bytes`
   * counts those (wire) bytes.
   */
  async append(payload: Buffer, messages: number, onWritten?: () => void): Promise<void> {
    const out = this.o.output;
    const frame = out.compression === 'gzip' ? gzipMember(payload, out.compressionLevel) : payload;
    await this.spool.append(frame, messages, onWritten);
    this.enqueued.count += messages;
    this.enqueued.bytes += frame.length;
  }

  /** Totals since start over all senders of the group. */
  sent(): { count: number; bytes: number; writeMs: number } {
    let count = 0;
    let bytes = 0;
    let writeMs = 0;
    for (const s of this.senders) {
      const c = s.counters();
      count += c.messages;
      bytes += c.bytes;
      writeMs += c.writeMs;
    }
    return { count, bytes, writeMs };
  }

  connected(): boolean {
    return this.senders.some((s) => s.status().is_connection_open);
  }

  /** What each sender knows about its peer (readiness: stalled or ok). */
  senderHealth(): SenderHealth[] {
    return this.senders.map((s) => s.health());
  }

  /** The spool's byte bound (`queue_max_size_in_mb`). */
  get maxBytes(): number {
    return this.o.globals.queueMaxSizeBytes;
  }

  private get monitorName(): string {
    return `${componentPrefix(this.o.output.type)}SenderManagerMonitor(${GROUP_NAME[this.group]},${this.o.output.name})`;
  }

  /** The monitor's documented lines, in the vendor's order; also hands the period figures to `onPeriodStats`. */
  report(log = createLogger(this.monitorName)): PeriodStats {
    const st = this.spool.stats();
    log.info(`Number of available senders: ${this.senders.length}, sender manager internal queue size: ${st.pendingFrames}`);
    log.info(enqueuedStatsLine());
    for (const s of this.senders) log.info(`Sender: ${s.name}, status: ${pyJson(s.status())}`);
    const now = this.sent();
    const atMs = Date.now();
    const period: GroupPeriod = {
      totalMessages: now.count,
      periodMessages: now.count - this.last.messages,
      periodBytes: now.bytes - this.last.bytes,
      sinceMs: this.last.atMs,
      toMs: atMs,
      elapsedMs: now.writeMs - this.last.writeMs,
    };
    const stats: PeriodStats = {
      group: this.group,
      totalMessages: period.totalMessages,
      periodMessages: period.periodMessages,
      periodBytes: period.periodBytes,
      sinceMs: period.sinceMs,
    };
    log.info(this.group === 'internal' ? internalTotalsLine(period) : groupTotalsLine(this.group === 'standard' ? 'Standard' : 'Lookup', period));
    this.last = { messages: now.count, bytes: now.bytes, writeMs: now.writeMs, atMs };
    this.o.onPeriodStats?.(stats);
    return stats;
  }

  /** Stop the senders (flush until the deadline), then checkpoint and close the spool. */
  async stop(deadlineAtMs: number): Promise<void> {
    if (this.monitor) clearInterval(this.monitor);
    this.monitor = null;
    await Promise.all(this.senders.map((s) => s.stop(deadlineAtMs)));
    await this.spool.close();
  }
}
