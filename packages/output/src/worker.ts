/**
 * OutputProcess entry: wires OutputService to the IPC channel of a forked child. Only the
 * supervisor handles signals; this process stops on the `shutdown` message (or when the channel to
 * the supervisor goes away, which means it died: then flush and leave on our own).
 */
import {
  configureLogging,
  createLogger,
  flushLogs,
  sendTo,
  startGcReporter,
  type OutputToSupervisorMessage,
  type SupervisorToOutputMessage,
} from '@devo-collector/common';
import { OutputService, type OutputServiceOptions } from './output-service.js';

export function runOutputWorker(tuning?: OutputServiceOptions['tuning']): void {
  configureLogging({ processName: 'OutputProcess', debug: false });
  const log = createLogger('MainThread');
  log.info(`Process started (pid=${process.pid}, ppid=${process.ppid}, multiprocessing.start_method="fork")`);

  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    void flushLogs().then(() => {
      process.disconnect?.();
      process.exit(code);
    });
  };
  const service: OutputService = new OutputService({
    send: (m: OutputToSupervisorMessage) => sendTo(process, m),
    onExit: exit,
    tuning,
  });

  // Signals belong to the supervisor: a Ctrl-C reaches the whole process group, so SIGINT is ignored
  // here and the supervisor's shutdown message drives the stop. A SIGTERM, though, is the
  // supervisor's escalation after its grace period: flush what we can in 2 s and leave.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => {
    log.warn('Received SIGTERM from the supervisor: stopping now');
    void service.handle({ type: 'shutdown', deadlineMs: 2_000 }).then(() => exit(0));
  });

  process.on('message', (raw: unknown) => {
    const msg = raw as SupervisorToOutputMessage;
    // The vendor's periodic memory line, in every process.
    if (msg.type === 'init' && !msg.validateOnly) {
      startGcReporter(log, msg.config.globals.gcLogPeriodMs);
    }
    service.handle(msg).catch((err: unknown) => {
      log.error(`Unexpected error while handling "${msg.type}": ${(err as Error).stack ?? String(err)}`);
      exit(1);
    });
  });
  process.on('disconnect', () => {
    if (exiting || service.getState() === 'stopped') return;
    log.warn('The supervisor went away: flushing and stopping');
    void service.handle({ type: 'shutdown', deadlineMs: 5_000 });
  });
  process.on('uncaughtException', (err) => {
    log.error(`Uncaught exception: ${err.stack ?? err.message}`);
    exit(1);
  });
  // Tell the supervisor the listener is in place: only now may it send `init`.
  void sendTo(process, { type: 'started', pid: process.pid } satisfies OutputToSupervisorMessage);
}
