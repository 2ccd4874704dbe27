/**
 * One forked worker (InputProcess or OutputProcess) and its lifecycle:
 *   'starting' -> 'ready' -> 'stopping' -> 'stopped', or 'starting'|'ready' -> 'exited'.
 * Wraps cluster.fork so the supervisor deals in typed messages and one exit promise.
 */
import cluster, { type Worker } from 'node:cluster';
import { sendTo } from '@devo-collector/common';

export type WorkerRole = 'input' | 'output';
type WorkerState = 'starting' | 'ready' | 'stopping' | 'stopped' | 'exited';

import { ROLE_ENV } from './role-env.js';

/** The supervisor's alone (the image's lite mode): the workers need the JIT and WebAssembly. */
const SUPERVISOR_ONLY = new Set(['--lite-mode', '--lite_mode', '--jitless', '--no-expose-wasm', '--no-expose_wasm']);

/**
 * The supervisor's own node flags (a loader in tests, say), less SUPERVISOR_ONLY, plus once each:
 * - --expose-gc (the [GC] line, below);
 * - --max-semi-space-size=2 (MiB): V8 grows each young semi-space up to 16 MiB under allocation;
 *   the workers' young objects are small (records stay in Buffers), so a larger young generation
 *   only holds garbage longer (docs/BENCHMARKS.md, "Memory");
 * - --optimize-for-size: V8 favours a small heap over speed (less eager heap growth, smaller
 *   compiled code). The 60k-breach day's peak falls ~45 MB (the three processes 290 -> 245 MB)
 *   for ~2 CPU-seconds more per 60k breaches (18k -> 13k events/s on two cores): memory is what
 *   an MSSP running dozens of collectors pays for, and 13k/s is far beyond an appliance's output.
 * An operator's flag (NODE_OPTIONS or the command line, `--no-optimize-for-size` too) wins.
 */
export function workerExecArgv(parent: readonly string[], nodeOptions = ''): string[] {
  const given = [...parent, ...nodeOptions.split(/\s+/).filter(Boolean)];
  const has = (...names: string[]) => given.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`)));
  const out = parent.filter((a) => !SUPERVISOR_ONLY.has(a));
  if (!has('--expose-gc', '--expose_gc')) out.push('--expose-gc');
  if (!has('--max-semi-space-size', '--max_semi_space_size')) out.push('--max-semi-space-size=2');
  if (!has('--optimize-for-size', '--optimize_for_size', '--no-optimize-for-size', '--no-optimize_for_size')) out.push('--optimize-for-size');
  return out;
}

/**
 * Environment added to a worker's: glibc's malloc serves a large block (a response body, a batch,
 * a spool read) from an mmap of its own only below a threshold it raises after every such free, so
 * after the first burst the big buffers come from the heap and their pages stay resident when they
 * are freed. A fixed 128 KiB threshold gives them back on free (burst RSS, docs/BENCHMARKS.md).
 * An operator's own MALLOC_* setting wins; other C libraries ignore the variable.
 */
export function workerEnv(parent: NodeJS.ProcessEnv): Record<string, string> {
  return parent.MALLOC_MMAP_THRESHOLD_ === undefined ? { MALLOC_MMAP_THRESHOLD_: '131072' } : {};
}

type WorkerExit = { code: number | null; signal: string | null };

export class WorkerHandle<In extends { type: string }, Out extends { type: string }> {
  state: WorkerState = 'starting';
  readonly worker: Worker;
  readonly exited: Promise<WorkerExit>;
  readonly startedAtMs = Date.now();

  constructor(readonly role: WorkerRole, onMessage: (msg: Out) => void) {
    // 'advanced' (structured clone) IPC: batches of ~6 KB JSON records cross two hops, and the
    // default JSON serialization escapes every record twice (measured 1.8x throughput).
    // --expose-gc: each worker's periodic [GC] line runs a real full collection before its "after"
    // figures, as the vendor's gc.collect() does (common/gc-report.ts).
    cluster.setupPrimary({ serialization: 'advanced', execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
    this.worker = cluster.fork({ ...workerEnv(process.env), [ROLE_ENV]: role });
    this.worker.on('message', (msg: Out) => onMessage(msg));
    // An IPC error (peer gone) is followed by 'exit'; nothing to do here but not crash.
    this.worker.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code, signal) => {
        if (this.state === 'stopping') this.state = 'stopped';
        else if (this.state !== 'stopped') this.state = 'exited';
        resolve({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.worker.process.pid;
  }

  get processName(): string {
    return this.role === 'input' ? 'InputProcess' : 'OutputProcess';
  }

  send(msg: In): Promise<void> {
    return sendTo(this.worker, msg);
  }

  /** Wait for exit up to `ms`, then SIGKILL and wait for good. */
  async waitOrKill(ms: number): Promise<WorkerExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
    });
    const first = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (first !== 'timeout') return first;
    this.worker.process.kill('SIGKILL');
    return this.exited;
  }
}
