import { configureLogging, createLogger, onLogRecord, type LogRecord, type Logger } from '@devo-collector/common';

/** Silences the console and collects every log record until `stop()`. */
export function captureLogs(): { records: LogRecord[]; lines: () => string[]; stop: () => void } {
  configureLogging({ silent: true });
  const records: LogRecord[] = [];
  const off = onLogRecord((r) => records.push(r));
  return {
    records,
    lines: () => records.map((r) => `${r.level.toUpperCase()} ${r.component} -> ${r.message}`),
    stop: () => {
      off();
    },
  };
}

export const testLogger = (component = 'Test'): Logger => createLogger(component);
