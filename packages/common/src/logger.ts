/**
 * Logging in the vendor's documented shape, one line per record:
 *   2024-11-19T11:32:18.861    INFO InputProcess::StatelessServicePuller(darktrace#122312,summarystatistics#predefined) -> Pull Started
 * `<UTC timestamp ms> <LEVEL padded to 7> <ProcessName>::<Component> -> <message>`.
 * Every line passes through secret redaction. Listeners (the internal senders) can subscribe to
 * records to ship the collector's own logs to Devo.
 */
import winston from 'winston';
import { redact } from './secrets.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type ProcessName = 'MainProcess' | 'InputProcess' | 'OutputProcess' | 'SimulatorProcess';

export interface LogRecord {
  time: Date;
  level: LogLevel;
  processName: ProcessName;
  component: string;
  message: string;
}

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  child(component: string): Logger;
  readonly component: string;
}

const LEVEL_LABEL: Record<LogLevel, string> = {
  error: 'ERROR',
  warn: 'WARNING',
  info: 'INFO',
  debug: 'DEBUG',
};

/** `2024-11-19T11:32:18.861` in UTC, as the vendor prints it. */
export function formatLogTime(d: Date): string {
  return d.toISOString().slice(0, 23);
}

export function formatLogLine(r: LogRecord): string {
  return `${formatLogTime(r.time)} ${LEVEL_LABEL[r.level].padStart(7)} ${r.processName}::${r.component} -> ${redact(r.message)}`;
}

let processName: ProcessName = 'MainProcess';
let winstonLogger: winston.Logger | undefined;
const listeners = new Set<(r: LogRecord) => void>();

function backend(): winston.Logger {
  if (!winstonLogger) {
    winstonLogger = winston.createLogger({
      level: 'info',
      format: winston.format.printf((info) => String(info.message)),
      transports: [new winston.transports.Console()],
    });
  }
  return winstonLogger;
}

export function configureLogging(opts: { processName?: ProcessName; debug?: boolean; silent?: boolean }): void {
  if (opts.processName) processName = opts.processName;
  const b = backend();
  if (opts.debug !== undefined) b.level = opts.debug ? 'debug' : 'info';
  if (opts.silent !== undefined) b.silent = opts.silent;
}

export function getProcessName(): ProcessName {
  return processName;
}

export function onLogRecord(fn: (r: LogRecord) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(level: LogLevel, component: string, message: string): void {
  const b = backend();
  if (!b.isLevelEnabled(level)) return;
  const record: LogRecord = { time: new Date(), level, processName, component, message: redact(message) };
  b.log(level, formatLogLine(record));
  for (const l of listeners) {
    try {
      l(record);
    } catch {
      // A failing listener must never break logging.
    }
  }
}

export function createLogger(component = 'MainThread'): Logger {
  return {
    component,
    error: (m) => emit('error', component, m),
    warn: (m) => emit('warn', component, m),
    info: (m) => emit('info', component, m),
    debug: (m) => emit('debug', component, m),
    child: (c) => createLogger(c),
  };
}

/** Flush stdout before exit so the last lines (the error that caused it) are not lost. */
export async function flushLogs(): Promise<void> {
  await new Promise<void>((resolve) => {
    if (process.stdout.writableLength === 0) return resolve();
    process.stdout.once('drain', () => resolve());
    setTimeout(resolve, 500).unref();
  });
}
