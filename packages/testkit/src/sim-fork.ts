/**
 * The Darktrace simulator forked into its own process (sim-child.ts through tsx) on a free port,
 * with the simulator's options; `call(op, args)` drives it over IPC (expectedIds,
 * addModelBreaches, requestCount, injectFault, setLatency). The bench uses it so the simulator's
 * work never shares the measuring process's event loop.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SimulatorOptions } from '@devo-collector/darktrace-sim';
import { repoRoot } from './collector.js';

export interface ForkedSimulator {
  url: string;
  port: number;
  pid: number | undefined;
  call<T = unknown>(op: string, args?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

export async function forkSimulator(opts: SimulatorOptions, execArgv = ['--max-old-space-size=4096']): Promise<ForkedSimulator> {
  const child = fork(path.join(path.dirname(fileURLToPath(import.meta.url)), 'sim-child.ts'), [], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) p?.reject(new Error(m.error));
    else p?.resolve(m.result);
  });
  const call = <T>(op: string, args: Record<string, unknown> = {}): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: (v) => resolve(v as T), reject });
      child.send({ id, op, args });
    });
  const info = await call<{ url: string; port: number }>('start', { ...opts });
  return {
    ...info,
    pid: child.pid,
    call,
    async close() {
      await call('close').catch(() => undefined); // the child may already be gone
      child.disconnect();
    },
  };
}
