/** The [GC] line: the vendor's shape, and "after" figures taken after a real collection. */
import { describe, expect, it, vi } from 'vitest';
import { configureLogging, createLogger, formatBytes, formatGcLine, logGcLine, onLogRecord, type GcSample, type LogRecord } from '../src/index.js';

function capture(): { records: LogRecord[]; stop: () => void } {
  configureLogging({ silent: true, debug: true });
  const records: LogRecord[] = [];
  const off = onLogRecord((r) => records.push(r));
  return {
    records,
    stop: () => {
      off();
      configureLogging({ debug: false });
    },
  };
}

describe('[GC] line', () => {
  it('formats like the vendor: one decimal percentages, two-decimal binary units', () => {
    const before: GcSample = { globalPct: 24.64, rss: 62.17 * 1024 ** 2, vms: 522.05 * 1024 ** 2 };
    const after: GcSample = { globalPct: 24.7, rss: 62.54 * 1024 ** 2, vms: 1.07 * 1024 ** 3 };
    expect(formatGcLine(before, after)).toBe('[GC] global: 24.6% -> 24.7%, process: RSS(62.17MiB -> 62.54MiB), VMS(522.05MiB -> 1.07GiB)');
    expect(formatBytes(512)).toBe('512.00B');
    expect(formatBytes(32.8 * 1024 ** 4)).toBe('32.80TiB');
  });

  it('samples, runs gc, then samples the "after" figures', async () => {
    const c = capture();
    const order: string[] = [];
    let n = 0;
    const sample = vi.fn(async (): Promise<GcSample> => {
      order.push(`sample${++n}`);
      return { globalPct: 50, rss: n === 1 ? 200 * 1024 ** 2 : 150 * 1024 ** 2, vms: 1024 ** 3 };
    });
    const gc = vi.fn(() => void order.push('gc'));
    await logGcLine(createLogger('MainThread'), { gc, sample });
    c.stop();
    expect(order).toEqual(['sample1', 'gc', 'sample2']);
    expect(gc).toHaveBeenCalledTimes(1);
    expect(c.records.map((r) => r.message)).toEqual(['[GC] global: 50.0% -> 50.0%, process: RSS(200.00MiB -> 150.00MiB), VMS(1.00GiB -> 1.00GiB)']);
  });

  it('without --expose-gc: still logs the line, says once at DEBUG that no collection ran', async () => {
    const c = capture();
    const sample = async (): Promise<GcSample> => ({ globalPct: 10, rss: 1024, vms: 2048 });
    await logGcLine(createLogger('MainThread'), { gc: undefined, sample });
    await logGcLine(createLogger('MainThread'), { gc: undefined, sample });
    c.stop();
    expect(c.records.filter((r) => r.level === 'debug').map((r) => r.message)).toEqual([
      '[GC] no collection: this process runs without --expose-gc, the after figures are a second sample',
    ]);
    expect(c.records.filter((r) => r.level === 'info')).toHaveLength(2);
  });

  it('really frees memory when node exposes gc (a forked worker runs with --expose-gc)', async () => {
    // The same flag the supervisor passes to its workers, set here so `gc` exists in this process.
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const heap = (): number => process.memoryUsage().heapUsed;
    let garbage: unknown[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
    const withGarbage = heap();
    garbage = null;
    const c = capture();
    let afterHeap = 0;
    let calls = 0;
    await logGcLine(createLogger('MainThread'), {
      gc: () => {
        calls++;
        gc();
      },
      sample: async () => {
        afterHeap = heap();
        return { globalPct: 1, rss: process.memoryUsage.rss(), vms: 0 };
      },
    });
    c.stop();
    expect(garbage).toBeNull();
    expect(calls).toBe(1);
    // The "after" sample saw the collected heap: megabytes of garbage are gone.
    expect(withGarbage - afterHeap).toBeGreaterThan(5 * 1024 * 1024);
  });
});
