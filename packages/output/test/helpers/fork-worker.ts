/** Forks the real OutputProcess (tsx loader) and gives a typed, awaitable view of its IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { OutputToSupervisorMessage, SupervisorToOutputMessage } from '@devo-collector/common';
import { packageRoot, repoRoot } from './paths.js';

export interface ForkedWorker {
  child: ChildProcess;
  messages: OutputToSupervisorMessage[];
  stdout: () => string;
  send(m: SupervisorToOutputMessage): void;
  waitFor<T extends OutputToSupervisorMessage['type']>(
    type: T,
    pred?: (m: Extract<OutputToSupervisorMessage, { type: T }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<OutputToSupervisorMessage, { type: T }>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function forkOutputWorker(tuning?: unknown): ForkedWorker {
  const entry = path.join(packageRoot, 'test', 'fixtures', 'output-worker-entry.ts');
  const child = fork(entry, tuning ? [JSON.stringify(tuning)] : [], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const messages: OutputToSupervisorMessage[] = [];
  const listeners = new Set<() => void>();
  child.on('message', (m) => {
    messages.push(m as OutputToSupervisorMessage);
    for (const l of listeners) l();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    messages,
    stdout: () => out,
    send: (m) => child.send(m),
    waitFor(type, pred, timeoutMs = 30_000) {
      type M = Extract<OutputToSupervisorMessage, { type: typeof type }>;
      const find = (): M | undefined => messages.find((m): m is M => m.type === type && (!pred || pred(m as M)));
      return new Promise<M>((resolve, reject) => {
        const check = (): void => {
          const m = find();
          if (m) {
            listeners.delete(check);
            clearTimeout(t);
            resolve(m);
          }
        };
        const t = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for "${type}"; got ${messages.map((m) => m.type).join(',')}\n${out}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    exited,
  };
}
