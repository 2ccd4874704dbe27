/**
 * The InputProcess worker: speaks the SupervisorToInput / InputToSupervisor unions over IPC.
 * init -> (connect the batch lane, open stores) -> ready | init-failed; then setups and pullers
 * run, their batches going on the lane (lane-client.ts); output-restarted names the new lane;
 * shutdown stops pulling, waits for acks until the deadline, commits, answers `stopped`, exits 0.
 */
import {
  assertNever,
  configureLogging,
  createLogger,
  flushLogs,
  registerSecret,
  RuntimeError,
  proxySecrets,
  sendTo,
  startGcReporter,
  startLogForwarder,
  serializeError,
  type InputToSupervisorMessage,
  type SupervisorToInputMessage,
} from '@devo-collector/common';
import { LaneClient } from './delivery/lane-client.js';
import { createInputRuntime, type InputRuntime, type InputRuntimeOptions } from './input-runtime.js';

export const METRICS_PERIOD_MS = 5000;

type WorkerState = 'waiting-init' | 'initializing' | 'running' | 'validating' | 'draining' | 'stopped';

/** Test hooks (the forked test entry may pass them); production uses the defaults. */
export type InputWorkerOverrides = Pick<InputRuntimeOptions, 'createClient' | 'maxInFlightBytes' | 'setupTransientRetry' | 'pullRetry'> & {
  metricsPeriodMs?: number;
};

/** `deadlineMs` is an epoch time; a small value is taken as a duration from now. */
function absoluteDeadline(deadlineMs: number): number {
  return deadlineMs < 1e12 ? Date.now() + deadlineMs : deadlineMs;
}

export function runInputWorker(overrides: InputWorkerOverrides = {}): void {
  configureLogging({ processName: 'InputProcess' });
  const log = createLogger('MainThread');
  log.info(`Process started (pid=${process.pid}, ppid=${process.ppid}, multiprocessing.start_method="fork")`);
  const peer = process;
  const send = (m: InputToSupervisorMessage): Promise<void> => sendTo(peer, m);
  // Batches go straight to the output on its lane, never through the supervisor.
  const sink = new LaneClient();
  let state: WorkerState = 'waiting-init';
  let runtime: InputRuntime | null = null;
  let metricsTimer: NodeJS.Timeout | null = null;

  const exit = async (code: number): Promise<void> => {
    state = 'stopped';
    if (metricsTimer) clearInterval(metricsTimer);
    sink.close();
    await flushLogs();
    process.exit(code);
  };

  async function onInit(msg: Extract<SupervisorToInputMessage, { type: 'init' }>): Promise<void> {
    if (state !== 'waiting-init') {
      log.warn(`Ignoring a second init message (state ${state})`);
      return;
    }
    state = 'initializing';
    configureLogging({ debug: msg.config.globals.debug });
    for (const input of msg.config.inputs) {
      registerSecret(input.credentials.publicToken);
      registerSecret(input.credentials.privateToken);
      for (const url of [input.proxy?.httpsProxy ?? null, input.proxy?.httpProxy ?? null]) for (const p of proxySecrets(url)) registerSecret(p);
    }
    try {
      if (!msg.validateOnly) {
        if (!msg.outputLane) throw new RuntimeError(530, 'The supervisor named no batch lane to the output: batches have no way to travel');
        await sink.connect(msg.outputLane).catch((err: unknown) => {
          throw new RuntimeError(530, `The batch lane to the output (${msg.outputLane}) is not reachable: ${(err as Error).message}`);
        });
      }
      runtime = createInputRuntime({
        config: msg.config,
        saveState: msg.saveState,
        sink,
        ...overrides,
        // Health changes go out at once, as a metrics message (the one path health takes).
        onHealthChange: () => {
          if (state === 'running' && runtime) void send({ type: 'metrics', metrics: runtime.metrics.snapshot() });
        },
      });
      await runtime.open();
    } catch (err) {
      // The supervisor reports it (one line, with the error's id): no second copy from here.
      await send({ type: 'init-failed', error: serializeError(err) });
      await exit(1);
      return;
    }
    await send({ type: 'ready' });
    // The vendor's periodic memory line, in every process.
    startGcReporter(log, msg.config.globals.gcLogPeriodMs);
    // Our log records travel to the output's internal senders (devo.collectors.out.local.*).
    if (!msg.validateOnly) startLogForwarder((m) => void send(m));
    if (msg.validateOnly) {
      state = 'validating';
      for (const r of await runtime.validate()) await send({ type: 'setup-result', ...r });
      await runtime.stop(Date.now());
      await exit(0);
      return;
    }
    state = 'running';
    const rt = runtime;
    const metricsPeriodMs = overrides.metricsPeriodMs ?? METRICS_PERIOD_MS;
    metricsTimer = setInterval(() => void send({ type: 'metrics', metrics: rt.metrics.snapshot() }), metricsPeriodMs);
    metricsTimer.unref();
    log.info(`InputMetricsThread -> Started thread for updating metrics values (update_period=${(metricsPeriodMs / 1000).toFixed(1)})`);
    // The supervisor learns the services (all 'starting') now, not a period later.
    void send({ type: 'metrics', metrics: rt.metrics.snapshot() });
    rt.start((r) => void send({ type: 'setup-result', ...r }));
  }

  async function onShutdown(deadlineMs: number): Promise<void> {
    if (state === 'draining' || state === 'stopped') return;
    const wasRunning = runtime !== null;
    state = 'draining';
    log.info('Shutdown requested: stopping the pullers and committing acknowledged data');
    if (wasRunning && runtime) {
      await runtime.stop(absoluteDeadline(deadlineMs));
      await send({ type: 'metrics', metrics: runtime.metrics.snapshot() });
    }
    log.info(`Input process stopped (${sink.pendingCount} batches left unacknowledged; they will be pulled again)`);
    await send({ type: 'stopped' });
    await exit(0);
  }

  function handle(msg: SupervisorToInputMessage): void {
    switch (msg.type) {
      case 'init':
        void onInit(msg).catch(async (err: unknown) => {
          log.error(`Input process failed: ${String(err)}`);
          await exit(1);
        });
        return;
      case 'output-restarted':
        // What was in flight on the old lane goes again on the new one (marked replay).
        if (sink.pendingCount > 0) log.info(`Output restarted: re-sending ${sink.pendingCount} unacknowledged batches`);
        sink.connect(msg.outputLane).catch((err: unknown) => log.warn(`The new batch lane ${msg.outputLane} is not reachable yet (${(err as Error).message}); dialling again every second`));
        return;
      case 'shutdown':
        void onShutdown(msg.deadlineMs);
        return;
      default:
        assertNever(msg);
    }
  }

  process.on('message', (m) => {
    try {
      handle(m as SupervisorToInputMessage);
    } catch (err) {
      log.error(`Unexpected IPC message: ${String(err)}`);
    }
  });
  // Tell the supervisor the listener is in place: only now may it send `init`.
  void send({ type: 'started', pid: process.pid });
  // Only the supervisor handles signals; if it goes away, so do we (nothing acked is lost).
  process.on('disconnect', () => {
    if (state !== 'stopped') {
      log.warn('Supervisor disconnected: exiting');
      void exit(1);
    }
  });
  process.on('SIGINT', () => undefined);
}
