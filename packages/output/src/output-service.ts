/**
 * The OutputProcess's logic, independent of process plumbing (worker.ts wires it to IPC):
 * init -> open spools, TLS material and the batch lane -> ready; a batch on the lane -> format +
 * append to every output's spool of the batch's group -> batch-ack on the lane (in arrival order);
 * shutdown -> stop accepting,
 * flush senders until the deadline, checkpoint -> stopped.
 *
 * Lifecycle: 'idle' -> 'starting' -> 'running' -> 'draining' -> 'stopped' (or 'failed').
 */
import path from 'node:path';
import {
  assertNever,
  configureLogging,
  deserializeLogRecord,
  createLogger,
  CollectorError,
  OutputError,
  serializeError,
  type CompiledConfig,
  type EventBatch,
  type OutputConfig,
  type OutputMetrics,
  type OutputToSupervisorMessage,
  type SenderGroup,
  type SupervisorToOutputMessage,
  recordCount,
  textRecords,
  type LaneAck,
} from '@devo-collector/common';
import { startBatchLane, type BatchLaneServer } from './batch-lane.js';
import { OUTPUT_ERROR } from './errors.js';
import { formatBatch, formatFrames, type FormattedFrame } from './format.js';
import { InternalFeed } from './internal-feed.js';
import { formatLookupFrames } from './lookup-frames.js';
import { openDeliveryLedger, type DeliveryLedger } from './ledger/delivery-ledger.js';
import { checkOutput } from './output-check.js';
import { OutputHealthTracker, sameHealth } from './output-health.js';
import { SenderManager, type PeriodStats, type SenderManagerOptions } from './sender-manager.js';
import type { BackoffPolicy } from './senders/delivery.js';
import { loadTlsMaterial } from './senders/tls-material.js';
import { usesTls } from './sender-manager.js';

export type OutputServiceState = 'idle' | 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

export interface OutputServiceOptions {
  send: (m: OutputToSupervisorMessage) => void | Promise<void>;
  /** Called once the service is done (stopped, init failed, validate finished): exit with this code. */
  onExit?: (code: number) => void;
  metricsPeriodMs?: number;
  /** How often health is evaluated; a change is reported at once (default 1 s). */
  healthCheckPeriodMs?: number;
  /** Test knobs passed to every sender manager. */
  tuning?: Pick<SenderManagerOptions, 'quietMs' | 'checkpointIntervalMs' | 'consoleStream'> & { backoff?: BackoffPolicy };
}

const ledgerKey = (ns: string, key: string): string => `${ns}\u0000${key}`;
const GROUPS: readonly SenderGroup[] = ['standard', 'lookup', 'internal'];
/**
 * A batch is spooled as consecutive frames of at most this many bytes (a record larger than that
 * is a frame of its own). Why: a kill -9 of this process re-sends the frame whose write to the
 * socket had not completed (part of it may already be in the kernel, on its way to Devo), whole.
 * A frame per batch made that up to ~100 records (~600 KB); 32 KiB bounds it to a few records.
 * Smaller frames cost per frame (a spool entry, a resume-record pwrite, a socket write): at 32 KiB
 * the throughput bench's output CPU stays within its run-to-run noise (~+6 % on average).
 */
export const SPOOL_FRAME_MAX_BYTES = 32 * 1024;
/** The supervisor kills after its grace period; we aim to be out well within 10 s. */
const MAX_SHUTDOWN_MS = 9_000;

interface OutputRuntime {
  config: OutputConfig;
  managers: Record<SenderGroup, SenderManager>;
}

export class OutputService {
  private state: OutputServiceState = 'idle';
  private config: CompiledConfig | null = null;
  private outputs: OutputRuntime[] = [];
  private feed: InternalFeed | null = null;
  private ackChain: Promise<void> = Promise.resolve();
  private ledger: DeliveryLedger | null = null;
  private lane: BatchLaneServer | null = null;
  /** Ledger keys of batches accepted but not durable yet: a replayed batch waits for these first. */
  private readonly pendingKeys = new Map<string, Promise<unknown>>();
  private metricsTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private readonly healthTracker = new OutputHealthTracker();
  /** Health as last reported to the supervisor. */
  private reportedHealth: OutputMetrics['health'] = {};
  private readonly enqueued: OutputMetrics['enqueued'] = {
    standard: { count: 0, bytes: 0 },
    lookup: { count: 0, bytes: 0 },
    internal: { count: 0, bytes: 0 },
  };
  private readonly log = createLogger('MainThread');
  /** Refused batches are logged at most every 10 s, with the count of those not logged (a full disk refuses them all). */
  private failLog = { atMs: 0, more: 0 };

  constructor(private readonly o: OutputServiceOptions) {}

  getState(): OutputServiceState {
    return this.state;
  }

  handle(msg: SupervisorToOutputMessage): Promise<void> {
    switch (msg.type) {
      case 'init':
        return msg.validateOnly ? this.validate(msg.config) : this.init(msg.config, msg.runDir);
      case 'shutdown':
        return this.shutdown(msg.deadlineMs);
      case 'log-records':
        // Records of MainProcess and InputProcess, shipped like our own.
        for (const r of msg.records) this.feed?.ingest(deserializeLogRecord(r));
        return Promise.resolve();
      default:
        return assertNever(msg);
    }
  }

  private async init(config: CompiledConfig, runDir: string | undefined): Promise<void> {
    if (this.state !== 'idle') {
      this.log.warn(`Ignoring "init" in state ${this.state}`);
      return;
    }
    this.state = 'starting';
    this.config = config;
    configureLogging({ debug: config.globals.debug });
    try {
      for (const out of config.outputs) if (usesTls(out)) loadTlsMaterial(out.name, out);
      for (const out of config.outputs) this.outputs.push(await this.openOutput(config, out));
      const p = config.globals.persistence;
      this.ledger = openDeliveryLedger({ dir: p.type === 'filesystem' ? path.join(p.directory, 'ledger') : null, logger: this.log });
      // Last: batches arrive only on the lane, and only once `ready` has named it.
      this.lane = await this.openLane(runDir);
    } catch (err) {
      const e =
        err instanceof CollectorError ? err : new OutputError(OUTPUT_ERROR.spoolOpen, `cannot open the output spool: ${(err as Error).message}`);
      this.state = 'failed';
      this.ledger?.close();
      await Promise.all(this.outputs.flatMap((r) => GROUPS.map((g) => r.managers[g].stop(Date.now()))));
      await this.o.send({ type: 'init-failed', error: serializeError(e) });
      this.o.onExit?.(1);
      return;
    }
    const nonConsole = this.outputs.filter((r) => r.config.type !== 'console');
    this.feed = new InternalFeed({
      hostname: config.hostname,
      collectorName: config.globals.name,
      collectorVersion: config.collectorVersion,
      sinks: () => nonConsole.map((r) => r.managers.internal),
    });
    this.feed.start();
    for (const r of this.outputs) for (const g of GROUPS) r.managers[g].start();
    const metricsPeriodMs = this.o.metricsPeriodMs ?? 5_000;
    this.metricsTimer = setInterval(() => this.sendMetrics(), metricsPeriodMs);
    this.metricsTimer.unref();
    this.log.info(`OutputMetricsThread -> Started thread for updating metrics values (update_period=${(metricsPeriodMs / 1000).toFixed(1)})`);
    // Health has no events of its own (spool stats, sender clocks): look often, report changes at once.
    this.healthTimer = setInterval(() => {
      const m = this.metrics();
      if (!sameHealth(m.health, this.reportedHealth)) this.sendMetrics(m);
    }, this.o.healthCheckPeriodMs ?? 1_000);
    this.healthTimer.unref();
    this.state = 'running';
    await this.o.send({ type: 'ready', lane: (this.lane as BatchLaneServer).path });
    // The supervisor knows every output's health from the start, not a period later.
    this.sendMetrics();
  }

  /** The batch lane (batch-lane.ts) in the supervisor's run directory; without it no batch can arrive. */
  private async openLane(runDir: string | undefined): Promise<BatchLaneServer> {
    if (!runDir) throw new OutputError(OUTPUT_ERROR.laneOpen, 'cannot open the batch lane: the supervisor gave no run directory for its socket');
    try {
      return await startBatchLane(runDir, (batch, reply) => this.acceptBatch(batch, reply));
    } catch (err) {
      throw new OutputError(OUTPUT_ERROR.laneOpen, `cannot open the batch lane in ${runDir}: ${(err as Error).message}`);
    }
  }

  private async openOutput(config: CompiledConfig, out: OutputConfig): Promise<OutputRuntime> {
    const managers = {} as Record<SenderGroup, SenderManager>;
    for (const group of GROUPS) {
      managers[group] = await SenderManager.open({
        output: out,
        group,
        globals: config.globals,
        hostname: config.hostname,
        ...this.o.tuning,
        onPeriodStats: group === 'standard' && out.type !== 'console' ? (s) => this.emitMetric(managers.internal, s) : undefined,
      });
    }
    return { config: out, managers };
  }

  /** `devo.collector.metric.message_sent`, shipped through the output's internal group. */
  private emitMetric(internal: SenderManager, s: PeriodStats): void {
    const c = this.config;
    if (!c) return;
    const body = {
      col_id: c.globals.id,
      col_name: c.globals.name,
      col_version: c.collectorVersion,
      col_image: null,
      msg_sent: { part_counter: s.periodMessages, part_bytes: s.periodBytes, since_ts: s.sinceMs },
    };
    const payload = formatBatch({ tag: 'devo.collector.metric.message_sent', ...textRecords([JSON.stringify(body)]), createdAtMs: Date.now() }, c.hostname, false);
    internal.append(payload, 1).catch(() => undefined);
  }

  /**
   * A batch from the batch lane (the only way batches arrive): its answer goes back on `reply`
   * (the connection it came on), in arrival order.
   */
  acceptBatch(batch: EventBatch, reply: (m: LaneAck) => void | Promise<void>): void {
    const c = this.config;
    if (this.state !== 'running' || !c) {
      const e = new OutputError(OUTPUT_ERROR.lifecycle, `batch ${batch.batchId} refused: the output process is ${this.state}`);
      this.ackChain = this.ackChain.then(() => reply({ type: 'batch-rejected', batchId: batch.batchId, error: serializeError(e) }));
      return;
    }
    const ns = `${batch.inputName}/${batch.serviceName}`;
    // A replayed record may belong to a batch whose append is still running: decide after it.
    const prior = batch.replay && batch.keys ? this.pendingFor(ns, batch.keys) : [];
    const durable: Promise<OutputError | null> =
      prior.length === 0 ? this.appendBatch(c.hostname, ns, batch) : Promise.allSettled(prior).then(() => this.appendBatch(c.hostname, ns, batch));
    if (batch.keys) {
      for (const k of batch.keys) this.pendingKeys.set(ledgerKey(ns, k), durable);
      void durable.then(() => {
        for (const k of batch.keys ?? []) if (this.pendingKeys.get(ledgerKey(ns, k)) === durable) this.pendingKeys.delete(ledgerKey(ns, k));
      });
    }
    this.ackChain = this.ackChain.then(async () => {
      const err = await durable;
      if (err) {
        this.logFailed(err);
        await reply({ type: 'batch-rejected', batchId: batch.batchId, error: serializeError(err) });
      } else {
        await reply({ type: 'batch-ack', batchId: batch.batchId });
      }
    });
  }

  private logFailed(err: OutputError): void {
    const now = Date.now();
    if (now - this.failLog.atMs < 10_000) {
      this.failLog.more += 1;
      return;
    }
    const more = this.failLog.more > 0 ? ` (and ${this.failLog.more} more batches refused since the last such line)` : '';
    this.log.error(`${err.toString()}${more}`);
    this.failLog = { atMs: now, more: 0 };
  }

  private pendingFor(ns: string, keys: readonly string[]): Promise<unknown>[] {
    const out = new Set<Promise<unknown>>();
    for (const k of keys) {
      const p = this.pendingKeys.get(ledgerKey(ns, k));
      if (p) out.add(p);
    }
    return [...out];
  }

  /**
   * Appends the batch, as frames of at most SPOOL_FRAME_MAX_BYTES, to every output of its group
   * (concurrently; appends of the same tick share group commits), minus, for a replayed batch, the
   * records the ledger says are already durable. Its keys go into the ledger file once all frames
   * are written (pending) and into the ledger once durable, before the ack can leave. Resolves to
   * the error, if any.
   */
  private appendBatch(hostname: string, ns: string, batch: EventBatch): Promise<OutputError | null> {
    const ledger = this.ledger;
    const total = recordCount(batch);
    // A replayed batch drops the records the ledger says are already durable.
    let bounds = batch.bounds;
    let bytes = batch.bytes;
    let keys = batch.keys;
    if (batch.replay && keys && ledger) {
      const k = keys;
      const keep = k.map((key) => !ledger.has(ns, key));
      const skipped = keep.filter((x) => !x).length;
      if (skipped > 0) {
        const all = bounds;
        bounds = new Uint32Array(2 * (total - skipped));
        bytes = 0;
        for (let i = 0, o = 0; i < total; i++) {
          if (!keep[i]) continue;
          const [s, e] = [all[2 * i] as number, all[2 * i + 1] as number];
          bounds[o++] = s;
          bounds[o++] = e;
          bytes += e - s;
        }
        keys = k.filter((_, i) => keep[i]);
        this.log.info(`Batch ${batch.batchId} (${batch.serviceName}): ${skipped} of ${total} records were already spooled before a restart and are not sent again`);
      }
    }
    let count = bounds.length >> 1;
    if (count === 0) return Promise.resolve(null);
    const kept = { ...batch, bounds };
    // A lookup batch is one record (its job): kept whole or dropped whole by the replay filter.
    const frames = (octetCounting: boolean): FormattedFrame[] =>
      batch.group === 'lookup'
        ? formatLookupFrames(kept, hostname, octetCounting, SPOOL_FRAME_MAX_BYTES)
        : formatFrames(kept, hostname, octetCounting, SPOOL_FRAME_MAX_BYTES);
    if (batch.group === 'lookup') {
      // A job that does not parse is refused whole, before anything is spooled.
      // Counted as the lines it becomes (msg_enqueued_lookup_*).
      try {
        const all = formatLookupFrames(kept, hostname, false, Infinity)[0];
        count = all?.messages ?? 0;
        bytes = all?.payload.length ?? 0;
      } catch (err) {
        return Promise.resolve(new OutputError(OUTPUT_ERROR.lookupJob, `batch ${batch.batchId} (${batch.serviceName}) is not a lookup job: ${(err as Error).message}`));
      }
    }
    // Once every frame is in the spool files (before their fsync), a crash of this process no
    // longer loses them: a restart sends them, so the input's replay of this unacknowledged batch
    // must find its keys in the ledger already (see delivery-ledger.ts).
    const tracked = keys && ledger ? { keys, ledger } : null;
    let unwritten = 0;
    let failed = false;
    let pendingId: number | undefined;
    const onWritten = tracked
      ? (): void => {
          if (--unwritten === 0 && !failed) pendingId = tracked.ledger.pending(ns, tracked.keys);
        }
      : undefined;
    // Every frame of every output is appended in this tick, in order: they share the group commits.
    const appends: Promise<void>[] = [];
    for (const r of this.outputs) {
      // Lookups go to Devo (devo_platform, relay) and the console only, as the SDK routes them.
      if (batch.group === 'lookup' && r.config.type === 'syslog') continue;
      const manager = r.managers[batch.group];
      for (const f of frames(r.config.octetCounting)) {
        unwritten++;
        appends.push(manager.append(f.payload, f.messages, onWritten));
      }
    }
    return Promise.all(appends).then(
      () => {
        tracked?.ledger.add(ns, tracked.keys, pendingId);
        this.enqueued[batch.group].count += count;
        this.enqueued[batch.group].bytes += bytes;
        return null;
      },
      (err: unknown) => {
        failed = true;
        if (pendingId !== undefined) tracked?.ledger.revoke(pendingId);
        return new OutputError(OUTPUT_ERROR.spoolAppend, `batch ${batch.batchId} is not durable: ${(err as Error).message}`);
      },
    );
  }

  private sendMetrics(m: OutputMetrics = this.metrics()): void {
    this.reportedHealth = m.health;
    void this.o.send({ type: 'metrics', metrics: m });
  }

  metrics(): OutputMetrics {
    const m: OutputMetrics = {
      enqueued: structuredClone(this.enqueued),
      sent: {},
      spoolBytes: {},
      spoolMaxBytes: {},
      connected: {},
      quarantinedSegments: 0,
      health: {},
    };
    for (const r of this.outputs) {
      m.connected[r.config.name] = r.managers.standard.connected();
      const groups = [];
      for (const g of GROUPS) {
        const mgr = r.managers[g];
        const st = mgr.spool.stats();
        const sent = mgr.sent();
        m.sent[`${r.config.name}.${g}`] = { count: sent.count, bytes: sent.bytes };
        m.spoolBytes[`${r.config.name}.${g}`] = st.pendingBytes;
        m.spoolMaxBytes[`${r.config.name}.${g}`] = mgr.maxBytes;
        m.quarantinedSegments += st.quarantinedSegments;
        groups.push({ group: g, stats: st, maxBytes: mgr.maxBytes, senders: mgr.senderHealth() });
      }
      m.health[r.config.name] = this.healthTracker.evaluate(r.config.name, groups);
    }
    return m;
  }

  /** `deadlineMs`: an epoch-ms instant, or (if small) a duration from now; capped at 9 s. */
  private async shutdown(deadlineMs: number): Promise<void> {
    if (this.state === 'draining' || this.state === 'stopped') return;
    const now = Date.now();
    const deadline = Math.min(deadlineMs > 1e12 ? deadlineMs : now + deadlineMs, now + MAX_SHUTDOWN_MS);
    this.state = 'draining';
    this.log.info('Stopping the output: flushing senders');
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    // Batches already accepted get their answer (durable, or failed when the spool closes on them).
    await Promise.race([this.ackChain, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now() - 1_000)).unref())]);
    // The internal spool may be full (Devo unreachable): never let it hold the shutdown.
    await Promise.race([this.feed?.stop(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now() - 500)).unref())]);
    await Promise.all(this.outputs.flatMap((r) => GROUPS.map((g) => r.managers[g].stop(deadline))));
    await this.ackChain;
    for (const r of this.outputs) {
      for (const g of GROUPS) {
        const st = r.managers[g].spool.stats();
        if (st.pendingMessages > 0) this.log.info(`${r.managers[g].name} -> ${st.pendingMessages} messages stay in the spool for the next start`);
      }
    }
    this.ledger?.close();
    await this.lane?.close();
    this.state = 'stopped';
    await this.o.send({ type: 'metrics', metrics: this.metrics() });
    await this.o.send({ type: 'stopped' });
    this.o.onExit?.(0);
  }

  private async validate(config: CompiledConfig): Promise<void> {
    this.config = config;
    this.state = 'starting';
    let ok = true;
    for (const out of config.outputs) {
      const r = await checkOutput(out);
      ok &&= r.ok;
      if (r.ok) this.log.info(`Output "${out.name}" (${out.type}) is reachable`);
      else this.log.error(`Output "${out.name}" check failed: ${r.error?.name}(${r.error?.code}): ${r.error?.message}`);
      await this.o.send(r.ok ? { type: 'output-check', output: out.name, ok: true } : { type: 'output-check', output: out.name, ok: false, error: r.error });
    }
    this.state = 'stopped';
    await this.o.send({ type: 'stopped' });
    // The supervisor turns the output-check results into its own exit code.
    this.log.info(`Validation of ${config.outputs.length} outputs finished: ${ok ? "all reachable" : "some failed"}`);
    this.o.onExit?.(0);
  }
}
