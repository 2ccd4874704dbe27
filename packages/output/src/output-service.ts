/**
 * The OutputProcess's lifecycle, independent of process plumbing (worker.ts wires it to IPC):
 * init -> open spools, TLS material, the delivery ledger and the batch lane -> ready; a batch on
 * the lane goes to the intake (intake.ts: made durable, then acknowledged in arrival order);
 * shutdown -> stop accepting, flush senders until the deadline, checkpoint -> stopped.
 *
 * Lifecycle: 'idle' -> 'starting' -> 'running' -> 'draining' -> 'stopped' (or 'failed').
 */
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
  textRecords,
  type LaneAck,
} from '@devo-collector/common';
import { startBatchLane, type BatchLaneServer } from './batch-lane.js';
import { OUTPUT_ERROR } from './errors.js';
import { formatBatch } from './format.js';
import { BatchIntake, type OutputRuntime } from './intake.js';
import { InternalFeed } from './internal-feed.js';
import { checkOutput } from './output-check.js';
import { OutputHealthTracker, sameHealth } from './output-health.js';
import { SenderManager, usesTls, type PeriodStats, type SenderManagerOptions } from './sender-manager.js';
import type { BackoffPolicy } from './senders/delivery.js';
import { loadTlsMaterial } from './senders/tls-material.js';

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

const GROUPS: readonly SenderGroup[] = ['standard', 'lookup', 'internal'];
/** The supervisor kills after its grace period; we aim to be out well within 10 s. */
const MAX_SHUTDOWN_MS = 9_000;

export class OutputService {
  private state: OutputServiceState = 'idle';
  private outputs: OutputRuntime[] = [];
  private feed: InternalFeed | null = null;
  private lane: BatchLaneServer | null = null;
  private metricsTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private readonly healthTracker = new OutputHealthTracker();
  /** Health as last reported to the supervisor. */
  private reportedHealth: OutputMetrics['health'] = {};
  private readonly log = createLogger('MainThread');
  private readonly intake = new BatchIntake(this.log, () => this.state);

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
    configureLogging({ debug: config.globals.debug });
    try {
      for (const out of config.outputs) if (usesTls(out)) loadTlsMaterial(out.name, out);
      for (const out of config.outputs) this.outputs.push(await this.openOutput(config, out));
      this.intake.open(config, this.outputs);
      // Last: batches arrive only on the lane, and only once `ready` has named it.
      this.lane = await this.openLane(runDir);
    } catch (err) {
      const e =
        err instanceof CollectorError ? err : new OutputError(OUTPUT_ERROR.spoolOpen, `cannot open the output spool: ${(err as Error).message}`);
      this.state = 'failed';
      this.intake.close();
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
        onPeriodStats: group === 'standard' && out.type !== 'console' ? (s) => this.emitMetric(config, managers.internal, s) : undefined,
      });
    }
    return { config: out, managers };
  }

  /** `devo.collector.metric.message_sent`, shipped through the output's internal group. */
  private emitMetric(c: CompiledConfig, internal: SenderManager, s: PeriodStats): void {
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

  /** A batch from the lane (tests and dev.ts hand theirs over here too): see intake.ts. */
  acceptBatch(batch: EventBatch, reply: (m: LaneAck) => void | Promise<void>): void {
    this.intake.accept(batch, reply);
  }

  private sendMetrics(m: OutputMetrics = this.metrics()): void {
    this.reportedHealth = m.health;
    void this.o.send({ type: 'metrics', metrics: m });
  }

  metrics(): OutputMetrics {
    const m: OutputMetrics = {
      enqueued: structuredClone(this.intake.enqueued),
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
    await Promise.race([this.intake.answered(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now() - 1_000)).unref())]);
    // The internal spool may be full (Devo unreachable): never let it hold the shutdown.
    await Promise.race([this.feed?.stop(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now() - 500)).unref())]);
    await Promise.all(this.outputs.flatMap((r) => GROUPS.map((g) => r.managers[g].stop(deadline))));
    await this.intake.answered();
    for (const mgr of this.outputs.flatMap((r) => GROUPS.map((g) => r.managers[g]))) {
      const left = mgr.spool.stats().pendingMessages;
      if (left > 0) this.log.info(`${mgr.name} -> ${left} messages stay in the spool for the next start`);
    }
    this.intake.close();
    await this.lane?.close();
    this.state = 'stopped';
    await this.o.send({ type: 'metrics', metrics: this.metrics() });
    await this.o.send({ type: 'stopped' });
    this.o.onExit?.(0);
  }

  private async validate(config: CompiledConfig): Promise<void> {
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
