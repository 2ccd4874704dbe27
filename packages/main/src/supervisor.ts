/**
 * MainProcess: forks InputProcess and OutputProcess, runs the init -> ready handshake, tells the
 * input where the output's batch lane is (batches and acks never pass through here), restarts a
 * crashed worker with backoff, and runs the controlled stop. Only this process handles signals.
 *
 * Lifecycle: 'starting' -> 'running' -> 'stopping' -> 'stopped'.
 */
import {
  assertNever,
  createLogger,
  formatError,
  type CompiledConfig,
  startLogForwarder,
  type InputMetrics,
  type LogRecordsMessage,
  type InputToSupervisorMessage,
  type OutputMetrics,
  type OutputToSupervisorMessage,
  type SerializedError,
  type SupervisorToInputMessage,
  type SupervisorToOutputMessage,
} from '@devo-collector/common';
import { rmSync } from 'node:fs';
import { WorkerHandle, type WorkerRole } from './worker-handle.js';
import { createRunDir, removeStaleRunDirs } from './run-dir.js';
import type { CollectorMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';
import { ReadinessWatch, type ProcessStates } from './readiness-watch.js';
import { RestartPlan } from './restart-plan.js';

type InputHandle = WorkerHandle<SupervisorToInputMessage, InputToSupervisorMessage>;
type OutputHandle = WorkerHandle<SupervisorToOutputMessage, OutputToSupervisorMessage>;

export type SupervisorState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface SupervisorOptions {
  config: CompiledConfig;
  saveState: boolean;
  /** A worker that has run this long without crashing resets its restart backoff. */
  stableAfterMs?: number;
  metrics?: CollectorMetrics;
}

export interface SupervisorFigures {
  restarts: Record<WorkerRole, number>;
  inputMetrics: InputMetrics | null;
  outputMetrics: OutputMetrics | null;
}

export class StartupError extends Error {
  constructor(readonly error: SerializedError | null, message: string) {
    super(message);
  }
}

export class Supervisor {
  state: SupervisorState = 'starting';
  private readonly restarts: RestartPlan;
  readonly figures: SupervisorFigures;
  private input: InputHandle | undefined;
  private output: OutputHandle | undefined;
  private readonly log = createLogger('MainThread');
  private stopLogForwarder: (() => void) | null = null;
  private readyWaiters = new Map<WorkerRole, { resolve: () => void; reject: (e: StartupError) => void }>();
  /** Private (0700) directory for the batch lane's socket; the output's current lane. */
  private runDir: string | null = null;
  private outputLane: string | undefined;
  private readonly watch: ReadinessWatch;

  constructor(private readonly opts: SupervisorOptions) {
    this.watch = new ReadinessWatch(opts.config, this.log, opts.metrics);
    this.restarts = new RestartPlan(opts.stableAfterMs ?? 60_000);
    this.figures = { restarts: this.restarts.counts, inputMetrics: null, outputMetrics: null };
  }

  private processStates(): ProcessStates {
    return { supervisor: this.state, input: this.input?.state ?? 'none', output: this.output?.state ?? 'none' };
  }

  private refreshReadiness(): Readiness {
    return this.watch.refresh(this.processStates());
  }

  private setState(s: SupervisorState): void {
    this.state = s;
    this.watch.entered('supervisor');
    this.refreshReadiness();
  }

  /** For /ready: 200 only when readiness.ts says ready; the body lists every reason with its id. */
  readiness(): { ready: boolean; details: Record<string, unknown> } {
    const states = this.processStates();
    const r = this.watch.refresh(states);
    return {
      ready: r.ready,
      details: {
        reasons: r.reasons,
        services: r.services,
        outputs: r.outputs,
        ...states,
        outputs_connected: this.figures.outputMetrics?.connected ?? {},
        spool_bytes: this.figures.outputMetrics?.spoolBytes ?? {},
        restarts: this.figures.restarts,
      },
    };
  }

  /** Fork both workers and wait until both are ready; rejects with StartupError on init failure. */
  async start(): Promise<void> {
    if (this.state !== 'starting') throw new Error(`start() in state ${this.state}`);
    this.log.info('Initialized all object from "MainProcess" process');
    // A supervisor killed with -9 could not remove its run directory: clear those of dead ones.
    const stale = removeStaleRunDirs();
    if (stale.length > 0) this.log.info(`Removed ${stale.length} run directories left by stopped collector processes: ${stale.join(', ')}`);
    try {
      this.runDir = createRunDir();
    } catch (err) {
      // The output answers init-failed (OutputError 430) without one: the start stops there.
      this.log.warn(`Cannot create the run directory for the batch lane: ${(err as Error).message}`);
    }
    // The output first: it must be able to take batches before the input produces any.
    // The vendor's lines; executing_period is each process's periodic work (the [GC] line).
    const period = `executing_period=${Math.round(this.opts.config.globals.gcLogPeriodMs / 1000)}s`;
    this.log.info(`OutputProcess - Starting thread (${period})`);
    await this.spawn('output');
    this.log.info(`InputProcess - Starting thread (${period})`);
    await this.spawn('input');
    this.setState('running');
    this.stopLogForwarder = startLogForwarder((m) => this.forwardLogs(m));
    this.log.info('Started all objects from "MainProcess" process');
  }

  private spawn(role: WorkerRole): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => this.readyWaiters.set(role, { resolve, reject }));
    this.watch.entered(role);
    if (role === 'input') {
      const h: InputHandle = new WorkerHandle(role, (m) => this.onInputMessage(h, m));
      this.input = h;
      void h.exited.then((e) => this.onExit(h, e.code, e.signal));
    } else {
      const h: OutputHandle = new WorkerHandle(role, (m) => this.onOutputMessage(h, m));
      this.output = h;
      void h.exited.then((e) => this.onExit(h, e.code, e.signal));
    }
    return ready;
  }

  private settleReady(role: WorkerRole, error?: StartupError): void {
    const w = this.readyWaiters.get(role);
    if (!w) return;
    this.readyWaiters.delete(role);
    if (error) w.reject(error);
    else w.resolve();
  }

  /** A worker answered `ready` to its `init`: the start (or restart) waiting for it goes on. */
  private workerReady(h: InputHandle | OutputHandle): void {
    h.state = 'ready';
    this.watch.entered(h.role);
    this.settleReady(h.role);
    this.refreshReadiness();
  }

  private workerInitFailed(h: InputHandle | OutputHandle, error: SerializedError): void {
    const message = `${h.processName} failed to start: ${formatError(error)}`;
    // During the start the error travels to the one line the CLI prints; after a restart, say it here.
    if (!this.readyWaiters.has(h.role)) this.log.error(message);
    this.settleReady(h.role, new StartupError(error, message));
  }

  private onInputMessage(h: InputHandle, msg: InputToSupervisorMessage): void {
    if (h !== this.input) return; // a message from a worker already replaced
    switch (msg.type) {
      case 'started':
        void h.send({ type: 'init', config: this.opts.config, saveState: this.opts.saveState, validateOnly: false, outputLane: this.outputLane });
        break;
      case 'ready':
        this.workerReady(h);
        break;
      case 'init-failed':
        this.workerInitFailed(h, msg.error);
        break;
      case 'metrics':
        this.figures.inputMetrics = msg.metrics;
        this.watch.serviceHealth = msg.metrics.health;
        this.opts.metrics?.updateInput(msg.metrics);
        this.refreshReadiness();
        break;
      case 'setup-result':
        if (!msg.ok && msg.error) this.log.debug(`Setup of ${msg.service} failed: ${formatError(msg.error)}`);
        break;
      case 'stopped':
        break;
      case 'log-records':
        this.forwardLogs(msg);
        break;
      default:
        assertNever(msg);
    }
  }

  /** Log records of MainProcess and InputProcess go to the output's internal senders; dropped while it is down. */
  private forwardLogs(msg: LogRecordsMessage): void {
    if (this.output?.state === 'ready') void this.output.send(msg);
  }

  private onOutputMessage(h: OutputHandle, msg: OutputToSupervisorMessage): void {
    if (h !== this.output) return;
    switch (msg.type) {
      case 'started':
        void h.send({ type: 'init', config: this.opts.config, validateOnly: false, ...(this.runDir ? { runDir: this.runDir } : {}) });
        break;
      case 'ready': {
        const restarted = h.state === 'starting' && this.state === 'running';
        this.outputLane = msg.lane;
        this.workerReady(h);
        if (restarted) void this.input?.send({ type: 'output-restarted', outputLane: msg.lane });
        break;
      }
      case 'init-failed':
        this.workerInitFailed(h, msg.error);
        break;
      case 'metrics':
        this.figures.outputMetrics = msg.metrics;
        this.watch.outputHealth = msg.metrics.health;
        this.opts.metrics?.updateOutput(msg.metrics);
        this.refreshReadiness();
        break;
      case 'output-check':
      case 'stopped':
        break;
      default:
        assertNever(msg);
    }
  }

  private onExit(h: InputHandle | OutputHandle, code: number | null, signal: string | null): void {
    const role = h.role;
    const current = role === 'input' ? this.input : this.output;
    if (h !== current) return;
    this.watch.entered(role, true);
    this.refreshReadiness();
    const how = `code=${code ?? 'null'}, signal=${signal ?? 'null'}`;
    if (this.readyWaiters.has(role) && this.state === 'starting') {
      this.settleReady(role, new StartupError(null, `${h.processName} exited during start (${how})`));
      return;
    }
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const delay = this.restarts.schedule(role, Date.now() - h.startedAtMs, () => {
      if (this.state !== 'running') return;
      this.spawn(role).then(
        () => this.log.info(`${h.processName} restarted and ready`),
        (e: StartupError) => this.log.error(`${h.processName} restart failed: ${e.message}`),
      );
    });
    this.opts.metrics?.updateRestarts({ InputProcess: this.restarts.counts.input, OutputProcess: this.restarts.counts.output });
    this.log.error(`${h.processName} (pid=${h.pid ?? '?'}) exited unexpectedly (${how}); restart #${this.restarts.counts[role]} in ${(delay / 1000).toFixed(1)}s`);
  }

  /**
   * Controlled stop: the input stops pulling and commits what was acked (it needs the output alive
   * for the last acks), then the output flushes and checkpoints its spool. Each gets its share of
   * the grace period, then SIGKILL.
   */
  async stop(reason: string): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.setState('stopping');
    const started = Date.now();
    for (const role of [...this.readyWaiters.keys()]) this.settleReady(role, new StartupError(null, 'stopped during start'));
    this.restarts.cancel();
    this.log.info(reason);
    this.stopLogForwarder?.();
    const grace = this.opts.config.globals.shutdownGraceMs;
    const inputDeadline = started + Math.floor(grace * 0.6);
    const outputDeadline = started + grace;
    for (const h of [this.input, this.output]) if (h && h.state !== 'exited' && h.state !== 'stopped') h.state = 'stopping';
    for (const [h, deadlineMs] of [[this.input, inputDeadline], [this.output, outputDeadline]] as const) {
      if (h?.state !== 'stopping') continue;
      void h.send({ type: 'shutdown', deadlineMs });
      await h.waitOrKill(deadlineMs - Date.now() + 500);
    }
    this.setState('stopped');
    if (this.runDir) rmSync(this.runDir, { recursive: true, force: true });
    this.log.info(`[EXIT] Process "MainProcess" completely terminated (elapsed time since the system signal was received: ${((Date.now() - started) / 1000).toFixed(3)}s)`);
  }
}
