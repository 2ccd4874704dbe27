/**
 * The real worker in a forked child (tsx loader) against the simulator: init -> ready -> batches
 * -> ack -> shutdown -> stopped, exit 0; validate-only; init-failed on an unusable state directory.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recordCount, recordTexts, type EventBatch, type InputToSupervisorMessage, type SupervisorToInputMessage, type CompiledConfig } from '@devo-collector/common';
import { startBatchLane } from '../../output/src/batch-lane.js';
import type { Simulator } from '@devo-collector/darktrace-sim';
import { makeCompiledConfig, makeServiceConfig } from '@devo-collector/testkit';
import { HOUR, TOKENS, startSim, tempDir, waitFor } from './helpers.js';

const ENTRY = fileURLToPath(new URL('./fixtures/worker-entry.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Child {
  proc: ChildProcess;
  messages: InputToSupervisorMessage[];
  stdout: string[];
  exit: Promise<number | null>;
  send(m: SupervisorToInputMessage): void;
}

function startWorker(): Child {
  const proc = fork(ENTRY, [], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
  const messages: InputToSupervisorMessage[] = [];
  const stdout: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => stdout.push(...d.toString().split('\n').filter(Boolean)));
  proc.stderr?.on('data', (d: Buffer) => stdout.push(...d.toString().split('\n').filter(Boolean)));
  proc.on('message', (m) => messages.push(m as InputToSupervisorMessage));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, messages, stdout, exit, send: (m) => void proc.send(m) };
}

describe('forked input worker', () => {
  let sim: Simulator;
  const now = Date.now();
  beforeAll(async () => {
    sim = await startSim({ dataStartMs: now - 3 * HOUR, modelBreachesPerHour: 20 });
  });
  afterAll(async () => sim.close());

  function config(stateDir: string): CompiledConfig {
    return makeCompiledConfig({
      ...TOKENS,
      baseUrl: sim.url,
      stateDir,
      queueWrapMaxMessages: 5,
      services: [
        makeServiceConfig('modelbreaches', { startTimeMs: now - 3 * HOUR, windowMs: HOUR, requestPeriodMs: 200 }),
        makeServiceConfig('status', { startTimeMs: now, requestPeriodMs: 200 }),
      ],
    });
  }

  it('init -> ready -> batches -> ack -> shutdown -> stopped, exit 0, cursor committed', async () => {
    const stateDir = await tempDir();
    // The output's lane, acking every batch as the output does once it is durable.
    const batches: EventBatch[] = [];
    const lane = await startBatchLane(mkdtempSync(path.join(os.tmpdir(), 'input-lane-')), (b, reply) => {
      batches.push(b);
      reply({ type: 'batch-ack', batchId: b.batchId });
    });
    const child = startWorker();
    child.send({ type: 'init', config: config(stateDir), saveState: true, validateOnly: false, outputLane: lane.path });
    await waitFor(() => child.messages.some((m) => m.type === 'ready'), 30_000, 'ready');
    const expected = sim.expectedIds('modelbreaches', now - 60_000);
    const pbids = (): Set<string> =>
      new Set(
        batches.flatMap((b) => (b.serviceName === 'modelbreaches' ? recordTexts(b).map((r) => String((JSON.parse(r) as { pbid: number }).pbid)) : [])),
      );
    await waitFor(() => expected.every((id) => pbids().has(id)), 20_000, 'breaches');
    await waitFor(() => child.messages.some((m) => m.type === 'metrics'), 10_000, 'metrics');
    const setup = child.messages.filter((m) => m.type === 'setup-result');
    expect(setup.map((m) => m.type === 'setup-result' && m.service).sort()).toEqual(['modelbreaches', 'status']);
    expect(setup.every((m) => m.type === 'setup-result' && m.ok)).toBe(true);
    // Batches travel on the lane only, at most queue_wrap_max_messages records each.
    const batch = batches[0];
    expect(batch?.batchId).toMatch(/^(modelbreaches|status):\d+$/);
    expect(batch ? recordCount(batch) : 0).toBeGreaterThan(0);
    expect(batches.every((b) => recordCount(b) <= 5)).toBe(true);
    expect(child.messages.map((m) => m.type)).not.toContain('batch');

    child.send({ type: 'shutdown', deadlineMs: Date.now() + 3000 });
    expect(await child.exit).toBe(0);
    expect(child.messages.at(-1)?.type).toBe('stopped');
    const metrics = child.messages.filter((m) => m.type === 'metrics').at(-1);
    expect(metrics?.type === 'metrics' && (metrics.metrics.vendorRequests['/modelbreaches'] ?? 0) > 0).toBe(true);
    expect(metrics?.type === 'metrics' && metrics.metrics.received['modelbreaches']).toBeGreaterThan(0);
    const state = JSON.parse(await readFile(join(stateDir, 'darktrace;122312;modelbreaches.json'), 'utf8')) as { cursor_ms: number };
    expect(state.cursor_ms).toBeGreaterThan(now - 60_000);
    expect(child.stdout.some((l) => /INFO InputProcess::MainThread -> Process started \(pid=\d+, ppid=\d+, multiprocessing.start_method="fork"\)/.test(l))).toBe(true);
    expect(child.stdout.join('\n')).not.toContain(TOKENS.privateToken);
    await lane.close();
  });

  it('answers init-failed (RuntimeError 530) when the batch lane is missing or not reachable', async () => {
    for (const outputLane of [undefined, path.join(await tempDir(), 'nobody.sock')]) {
      const child = startWorker();
      child.send({ type: 'init', config: config(await tempDir()), saveState: false, validateOnly: false, ...(outputLane ? { outputLane } : {}) });
      expect(await child.exit).not.toBe(0);
      const failed = child.messages.find((m) => m.type === 'init-failed');
      expect(failed?.type === 'init-failed' && failed.error).toMatchObject({ name: 'RuntimeError', code: 530 });
      expect(child.messages.some((m) => m.type === 'ready')).toBe(false);
    }
  });

  it('validate-only runs each setup once, reports, exits 0', async () => {
    const child = startWorker();
    child.send({ type: 'init', config: config(await tempDir()), saveState: false, validateOnly: true });
    expect(await child.exit).toBe(0);
    const results = child.messages.filter((m) => m.type === 'setup-result');
    expect(results).toHaveLength(2);
    expect(results.every((m) => m.type === 'setup-result' && m.ok)).toBe(true);
    expect(child.messages.map((m) => m.type).sort()).toEqual(['ready', 'setup-result', 'setup-result', 'started']);
  });

  it('answers init-failed and exits non-zero when the state directory is unusable', async () => {
    const dir = await tempDir();
    const notADir = join(dir, 'file');
    await writeFile(notADir, 'x');
    const child = startWorker();
    const lane = await startBatchLane(await tempDir(), () => undefined);
    child.send({ type: 'init', config: config(join(notADir, 'state')), saveState: true, validateOnly: false, outputLane: lane.path });
    const code = await child.exit;
    expect(code).not.toBe(0);
    const failed = child.messages.find((m) => m.type === 'init-failed');
    expect(failed?.type === 'init-failed' && failed.error.name).toBe('RuntimeError');
    expect(child.messages.some((m) => m.type === 'ready')).toBe(false);
    await lane.close();
  });
});
