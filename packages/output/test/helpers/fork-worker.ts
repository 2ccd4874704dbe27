/**
 * Forks the real OutputProcess (tsx loader) and gives a typed, awaitable view of its IPC, and of
 * its batch lane: `sendBatch` writes a batch frame on the lane `ready` named, its answer joins `acks`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { decodeLaneAck, LaneReader, laneFrame, type EventBatch, type LaneAck, type OutputToSupervisorMessage, type SupervisorToOutputMessage } from '@devo-collector/common';
import { packageRoot, repoRoot } from './paths.js';

export interface ForkedWorker {
  child: ChildProcess;
  messages: OutputToSupervisorMessage[];
  stdout: () => string;
  /** `init` gets a run directory for the lane, as the supervisor gives one. */
  send(m: SupervisorToOutputMessage): void;
  sendBatch(b: EventBatch): void;
  acks: LaneAck[];
  waitForAck(batchId: string, timeoutMs?: number): Promise<LaneAck>;
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
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'outw-run-'));
  const acks: LaneAck[] = [];
  let lane: net.Socket | null = null;
  const sendBatch = (b: EventBatch): void => {
    if (!lane) {
      const ready = messages.find((m) => m.type === 'ready');
      if (ready?.type !== 'ready') throw new Error('sendBatch before ready');
      const s = net.createConnection(ready.lane);
      const reader = new LaneReader();
      s.on('data', (c: Buffer) => reader.push(c, (body) => acks.push(decodeLaneAck(body))));
      s.on('error', () => undefined);
      lane = s;
    }
    // Written before the connection completes, the frames wait in the socket's buffer.
    for (const part of laneFrame(b)) lane.write(part);
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    messages,
    stdout: () => out,
    send: (m) => child.send(m.type === 'init' && !m.validateOnly && !m.runDir ? { ...m, runDir } : m),
    sendBatch,
    acks,
    async waitForAck(batchId, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const a = acks.find((x) => x.batchId === batchId);
        if (a) return a;
        if (Date.now() > end) throw new Error(`timed out waiting for the answer to ${batchId}; got ${acks.length} answers\n${out}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
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
