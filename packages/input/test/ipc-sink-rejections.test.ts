import { afterEach, describe, expect, it, vi } from 'vitest';
import { configureLogging, onLogRecord, type EventBatch, type LogRecord } from '@devo-collector/common';
import { buildBatches } from '../src/delivery/batch-sink.js';
import { IpcBatchSink } from '../src/delivery/ipc-sink.js';

afterEach(() => void vi.useRealTimers());

describe('IpcBatchSink on a full disk', () => {
  it('re-sends every refused batch within the 5 s cap, and logs the rejections at most every 10 s with the count of the others', async () => {
    vi.useFakeTimers();
    configureLogging({ silent: true });
    const records: LogRecord[] = [];
    const off = onLogRecord((r) => records.push(r));
    let sends = 0;
    const sink = new IpcBatchSink({ send: (_m: unknown, cb?: (e: Error | null) => void) => (sends++, cb?.(null), true) });
    const batches = buildBatches(Array.from({ length: 20 }, (_, i) => `{"i":${i}}`), { inputName: 'd', serviceName: 'modelbreaches', tag: 't', maxMessages: 1 });
    for (const b of batches) void sink.send(b as EventBatch);
    const refuse = { name: 'OutputError' as const, code: 402, message: 'batch is not durable: ENOSPC: no space left on device, write' };
    // Each batch refused 6 times in a row: its backoff reaches the cap.
    for (let round = 0; round < 6; round++) {
      for (const b of batches) sink.reject((b as EventBatch).batchId, refuse);
      await vi.advanceTimersByTimeAsync(5_000);
    }
    expect(sends).toBe(20 + 6 * 20); // every rejection was re-sent within 5 s
    const lines = records.filter((r) => r.message.includes('rejected by the output (OutputError(402)'));
    expect(lines.length).toBeLessThanOrEqual(4); // 30 s of rejections: one line per 10 s
    const counted = lines.reduce((n, r) => n + 1 + Number(/and (\d+) more rejections/.exec(r.message)?.[1] ?? 0), 0);
    // The counts account for the rejections not logged (those of the last 10 s wait for the next line).
    expect(counted).toBeGreaterThanOrEqual(120 - 40);
    expect(counted).toBeLessThanOrEqual(120);
    sink.close();
    off();
  });
});
