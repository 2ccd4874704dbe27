import { onLogRecord, type LogLevel, type LogRecord, type ProcessName } from '../logger.js';

/**
 * A log record on its way from MainProcess or InputProcess to the OutputProcess, whose
 * internal_senders ship it to Devo (`devo.collectors.out.local.<level>`). Already redacted.
 */
export interface SerializedLogRecord {
  timeMs: number;
  level: LogLevel;
  processName: ProcessName;
  component: string;
  message: string;
}

export interface LogRecordsMessage {
  type: 'log-records';
  records: SerializedLogRecord[];
}

export function serializeLogRecord(r: LogRecord): SerializedLogRecord {
  return { timeMs: r.time.getTime(), level: r.level, processName: r.processName, component: r.component, message: r.message };
}

export function deserializeLogRecord(r: SerializedLogRecord): LogRecord {
  return { time: new Date(r.timeMs), level: r.level, processName: r.processName, component: r.component, message: r.message };
}

/**
 * Collects this process's info/warn/error records and hands them to `send` in batches every
 * `periodMs`; bounded (`max` records per period, the excess counted and reported in one record).
 */
export function startLogForwarder(send: (m: LogRecordsMessage) => void, periodMs = 1000, max = 2000): () => void {
  let buffer: SerializedLogRecord[] = [];
  let dropped = 0;
  const off = onLogRecord((r) => {
    if (r.level === 'debug') return;
    if (buffer.length >= max) dropped++;
    else buffer.push(serializeLogRecord(r));
  });
  const flush = (): void => {
    if (dropped > 0) {
      buffer.push({ timeMs: Date.now(), level: 'warn', processName: buffer[0]?.processName ?? 'MainProcess', component: 'LogForwarder', message: `${dropped} log records were not forwarded to the internal senders (over ${max} per ${periodMs} ms)` });
      dropped = 0;
    }
    if (buffer.length === 0) return;
    const records = buffer;
    buffer = [];
    send({ type: 'log-records', records });
  };
  const t = setInterval(flush, periodMs);
  t.unref();
  return () => {
    clearInterval(t);
    flush();
    off();
  };
}
