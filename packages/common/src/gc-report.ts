/**
 * The vendor's periodic memory line, logged by every process at start and every period:
 *   [GC] global: 24.6% -> 24.7%, process: RSS(62.17MiB -> 62.54MiB), VMS(522.05MiB -> 522.05MiB)
 * "global" is the machine's memory pressure (used / total). Measured with pidusage (RSS) and
 * /proc (VMS, where available) before and after a full collection, as the vendor's gc.collect():
 * the supervisor forks the workers with --expose-gc, so `globalThis.gc` exists there. Without it
 * (the MainProcess unless node was started with --expose-gc) the line is still logged, from two
 * samples with no collection between them, and a DEBUG line says so once.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pidusage from 'pidusage';
import type { Logger } from './logger.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(2)}${UNITS[i]}`;
}

export interface GcSample {
  globalPct: number;
  rss: number;
  vms: number;
}

function vmsBytes(): number {
  try {
    const m = /VmSize:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function sample(): Promise<GcSample> {
  const globalPct = ((os.totalmem() - os.freemem()) / os.totalmem()) * 100;
  let rss = process.memoryUsage.rss();
  try {
    rss = (await pidusage(process.pid)).memory;
  } catch {
    // pidusage can fail on exotic platforms; fall back to Node's own figure.
  }
  return { globalPct, rss, vms: vmsBytes() };
}

export function formatGcLine(before: GcSample, after: GcSample): string {
  return `[GC] global: ${before.globalPct.toFixed(1)}% -> ${after.globalPct.toFixed(1)}%, process: RSS(${formatBytes(before.rss)} -> ${formatBytes(after.rss)}), VMS(${formatBytes(before.vms)} -> ${formatBytes(after.vms)})`;
}

/** Seams for unit tests; production uses `globalThis.gc` and the real samples. */
export interface GcProbe {
  gc?: (() => void) | undefined;
  sample?: () => Promise<GcSample>;
}

let noGcReported = false;

/** Samples, collects (when gc is exposed), samples again: the "after" figures follow a real collection. */
export async function logGcLine(log: Logger, probe: GcProbe = {}): Promise<void> {
  const take = probe.sample ?? sample;
  const gc = 'gc' in probe ? probe.gc : (globalThis as { gc?: () => void }).gc;
  const before = await take();
  if (gc) gc();
  else if (!noGcReported) {
    noGcReported = true;
    log.debug('[GC] no collection: this process runs without --expose-gc, the after figures are a second sample');
  }
  const after = await take();
  log.info(formatGcLine(before, after));
}

/** Logs at start and every periodMs; returns a stop function. The timer never keeps the process alive. */
export function startGcReporter(log: Logger, periodMs: number): () => void {
  void logGcLine(log).catch(() => undefined);
  const t = setInterval(() => void logGcLine(log).catch(() => undefined), periodMs);
  t.unref();
  return () => {
    clearInterval(t);
    pidusage.clear();
  };
}
