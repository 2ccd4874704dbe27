/**
 * MainProcess: forks InputProcess and OutputProcess, runs the init -> ready handshake, tells the
 * input where the output's batch lane is (batches and acks never pass through here), restarts a
 * crashed worker with backoff, and runs the controlled stop. Only this process handles signals.
 *
 * Lifecycle: 'starting' -> 'running' -> 'stopping' -> 'stopped'.
 */
import {
  backoffDelayMs,
  type BackoffPolicy,
  assertNever,
  createLogger,
  formatError,
  type CompiledConfig,
  startLogForwarder,
  type InputMetrics,
  type LogRecordsMessage,
  type InputToSupervisorMessage,
  type OutputHealth,
  type OutputMetrics,
  type OutputToSupervisorMessage,
  type ServiceHealth,
  type SerializedError,
  type SupervisorToInputMessage,
  type SupervisorToOutputMessage,
} from '@devo-collector/common';
import { rmSync } from 'node:fs';
import { WorkerHandle, type WorkerRole } from './worker-handle.js';
import { createRunDir, removeStaleRunDirs } from './run-dir.js';
import type { CollectorMetrics } from './metrics.js';
import { computeReadiness, READINESS_ID, type Readiness } from './readiness.js';

/** Restart waits: ~1 s doubling to 30 s, jittered so two crashing workers do not restart in lockstep. */
const RESTART_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 30_000 };

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
  readonly figures: SupervisorFigures = {
    restarts: { input: 0, output: 0 },
    inputMetrics: null,
    outputMetrics: null,
  };
  private input: InputHandle | undefined;
  private output: OutputHandle | undefined;
  private readonly attempts: Record<WorkerRole, number> = { input: 0, output: 0 };
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly log = createLogger('MainThread');
  private stopLogForwarder: (() => void) | null = null;
  private readyWaiters = new Map<WorkerRole, { resolve: () => void; reject: (e: StartupError) => void }>();
  /** Private (0700) directory for the batch lane's socket; the output's current lane. */
  private runDir: string | null = null;
  private outputLane: string | undefined;
  /** Health the current workers reported (cleared when a worker goes: a new one reports afresh). */
  private serviceHealth: Record<string, ServiceHealth> = {};
  private outputHealth: Record<string, OutputHealth> = {};
  /** When each worker / MainProcess entered its current state, for the readiness reasons. */
  private readonly since: Record<WorkerRole | 'supervisor', number> = { input: Date.now(), output: Date.now(), supervisor: Date.now() };
  private readonly enabledServices: string[];
  /** The last readiness, to log each change once. */
  private lastReadiness: string | null = null;

  constructor(private readonly opts: SupervisorOptions) {
    this.enabledServices = opts.config.inputs.filter((i) => i.enabled).flatMap((i) => i.services.map((s) => s.name));
  }

  get inputReady(): boolean {
    return this.input?.state === 'ready';
  }

  get outputReady(): boolean {
    return this.output?.state === 'ready';
  }

  /** The readiness model (readiness.ts) over what the workers last reported. */
  health(): Readiness {
    return computeReadiness({
      supervisor: this.state,
      input: this.input?.state ?? 'none',
      output: this.output?.state ?? 'none',
      inputSinceMs: this.since.input,
      outputSinceMs: this.since.output,
      supervisorSinceMs: this.since.supervisor,
      enabledServices: this.enabledServices,
      outputs: this.opts.config.outputs.map((o) => o.name),
      serviceHealth: this.serviceHealth,
      outputHealth: this.outputHealth,
    });
  }

  /**
   * Recomputes readiness on every event that can change it (health/metrics message, worker
   * ready/exit, start/stop), so module_global_status and the state gauges follow it continuously;
   * logs each change once.
   */
  private refreshReadiness(): Readiness {
    const r = this.health();
    this.opts.metrics?.updateReadiness(r);
    const key = r.ready ? 'ready' : r.reasons.map((x) => `${x.component} ${x.state} ${x.id}`).join('; ');
    if (key !== this.lastReadiness && this.state === 'running') {
      if (r.ready) this.log.info('Ready: every enabled service and every output is ok');
      // Starting services and restarting workers are routine (INFO); anything else is a problem.
      else if (r.reasons.every((x) => x.id === READINESS_ID.serviceStarting || x.id === READINESS_ID.workerNotReady)) this.log.info(`Not ready: ${key}`);
      else this.log.warn(`Not ready: ${key}`);
    }
    if (this.state === 'running') this.lastReadiness = key;
    return r;
  }

  private setState(s: SupervisorState): void {
    this.state = s;
    this.since.supervisor = Date.now();
    this.refreshReadiness();
  }

  /** For /ready: 200 only when readiness.ts says ready; the body lists every reason with its id. */
  readiness(): { ready: boolean; details: Record<string, unknown> } {
    const r = this.refreshReadiness();
    return {
      ready: r.ready,
      details: {
        reasons: r.reasons,
        services: r.services,
        outputs: r.outputs,
        supervisor: this.state,
        input: this.input?.state ?? 'none',
        output: this.output?.state ?? 'none',
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
    this.since[role] = Date.now();
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

  private onInputMessage(h: InputHandle, msg: InputToSupervisorMessage): void {
    if (h !== this.input) return; // a message from a worker already replaced
    switch (msg.type) {
      case 'started':
        void h.send({ type: 'init', config: this.opts.config, saveState: this.opts.saveState, validateOnly: false, outputLane: this.outputLane });
        break;
      case 'ready':
        h.state = 'ready';
        this.since.input = Date.now();
        this.settleReady('input');
        this.refreshReadiness();
        break;
      case 'init-failed':
        // During the start the error travels to the one line the CLI prints; after a restart, say it here.
        if (!this.readyWaiters.has('input')) this.log.error(`InputProcess failed to start: ${formatError(msg.error)}`);
        this.settleReady('input', new StartupError(msg.error, `InputProcess failed to start: ${formatError(msg.error)}`));
        break;
      case 'metrics':
        this.figures.inputMetrics = msg.metrics;
        this.serviceHealth = msg.metrics.health;
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
        h.state = 'ready';
        this.since.output = Date.now();
        this.outputLane = msg.lane;
        this.settleReady('output');
        this.refreshReadiness();
        if (restarted) void this.input?.send({ type: 'output-restarted', outputLane: msg.lane });
        break;
      }
      case 'init-failed':
        // During the start the error travels to the one line the CLI prints; after a restart, say it here.
        if (!this.readyWaiters.has('output')) this.log.error(`OutputProcess failed to start: ${formatError(msg.error)}`);
        this.settleReady('output', new StartupError(msg.error, `OutputProcess failed to start: ${formatError(msg.error)}`));
        break;
      case 'metrics':
        this.figures.outputMetrics = msg.metrics;
        this.outputHealth = msg.metrics.health;
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
    this.since[role] = Date.now();
    if (role === 'input') this.serviceHealth = {};
    else this.outputHealth = {};
    this.refreshReadiness();
    const how = `code=${code ?? 'null'}, signal=${signal ?? 'null'}`;
    if (this.readyWaiters.has(role) && this.state === 'starting') {
      this.settleReady(role, new StartupError(null, `${h.processName} exited during start (${how})`));
      return;
    }
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const ranMs = Date.now() - h.startedAtMs;
    if (ranMs > (this.opts.stableAfterMs ?? 60_000)) this.attempts[role] = 0;
    this.attempts[role]++;
    this.figures.restarts[role]++;
    this.opts.metrics?.updateRestarts({ InputProcess: this.figures.restarts.input, OutputProcess: this.figures.restarts.output });
    const delay = backoffDelayMs(this.attempts[role] - 1, RESTART_BACKOFF);
    this.log.error(`${h.processName} (pid=${h.pid ?? '?'}) exited unexpectedly (${how}); restart #${this.figures.restarts[role]} in ${(delay / 1000).toFixed(1)}s`);
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.state !== 'running') return;
      this.spawn(role).then(
        () => this.log.info(`${h.processName} restarted and ready`),
        (e: StartupError) => this.log.error(`${h.processName} restart failed: ${e.message}`),
      );
    }, delay);
    this.restartTimers.add(timer);
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
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    this.log.info(reason);
    this.stopLogForwarder?.();
    const grace = this.opts.config.globals.shutdownGraceMs;
    const inputDeadline = started + Math.floor(grace * 0.6);
    const outputDeadline = started + grace;
    for (const h of [this.input, this.output]) if (h && h.state !== 'exited' && h.state !== 'stopped') h.state = 'stopping';
    if (this.input && this.input.state === 'stopping') {
      void this.input.send({ type: 'shutdown', deadlineMs: inputDeadline });
      await this.input.waitOrKill(inputDeadline - Date.now() + 500);
    }
    if (this.output && this.output.state === 'stopping') {
      void this.output.send({ type: 'shutdown', deadlineMs: outputDeadline });
      await this.output.waitOrKill(outputDeadline - Date.now() + 500);
    }
    this.setState('stopped');
    if (this.runDir) rmSync(this.runDir, { recursive: true, force: true });
    this.log.info(`[EXIT] Process "MainProcess" completely terminated (elapsed time since the system signal was received: ${((Date.now() - started) / 1000).toFixed(3)}s)`);
  }
}
