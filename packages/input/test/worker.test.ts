/**
 * The real worker in a forked child (tsx loader) against the simulator: init -> ready -> batches
 * -> ack -> shutdown -> stopped, exit 0; validate-only; init-failed on an unusable state directory.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchCount, batchTexts, unpackBatch, type InputToSupervisorMessage, type SupervisorToInputMessage, type CompiledConfig } from '@devo-collector/common';
import type { Simulator } from '@devo-collector/darktrace-sim';
import { makeCompiledConfig, makeServiceConfig } from '../src/test-config.js';
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
    const child = startWorker();
    // Ack every batch, as the supervisor does once the output made it durable.
    child.proc.on('message', (m) => {
      const msg = m as InputToSupervisorMessage;
      if (msg.type === 'packed-batch') child.send({ type: 'batch-ack', batchId: msg.batchId });
    });
    child.send({ type: 'init', config: config(stateDir), saveState: true, validateOnly: false });
    await waitFor(() => child.messages.some((m) => m.type === 'ready'), 30_000, 'ready');
    const expected = sim.expectedIds('modelbreaches', now - 60_000);
    const pbids = (): Set<string> =>
      new Set(
        child.messages.flatMap((m) =>
          m.type === 'packed-batch' && unpackBatch(m).serviceName === 'modelbreaches' ? batchTexts(unpackBatch(m)).map((r) => String((JSON.parse(r) as { pbid: number }).pbid)) : [],
        ),
      );
    await waitFor(() => expected.every((id) => pbids().has(id)), 20_000, 'breaches');
    await waitFor(() => child.messages.some((m) => m.type === 'metrics'), 10_000, 'metrics');
    const setup = child.messages.filter((m) => m.type === 'setup-result');
    expect(setup.map((m) => m.type === 'setup-result' && m.service).sort()).toEqual(['modelbreaches', 'status']);
    expect(setup.every((m) => m.type === 'setup-result' && m.ok)).toBe(true);
    // Batches travel packed (serialized once, the supervisor forwards bytes).
    const packed = child.messages.find((m) => m.type === 'packed-batch');
    const batch = packed?.type === 'packed-batch' ? unpackBatch(packed) : null;
    expect(batch?.batchId).toMatch(/^(modelbreaches|status):\d+$/);
    expect(packed?.type === 'packed-batch' && packed.batchId).toBe(batch?.batchId);
    expect(batch ? batchCount(batch) : 0).toBeGreaterThan(0);
    expect(batch ? batchCount(batch) : 99).toBeLessThanOrEqual(5);

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
  });

  it('validate-only runs each setup once, reports, exits 0', async () => {
    const child = startWorker();
    child.send({ type: 'init', config: config(await tempDir()), saveState: false, validateOnly: true });
    expect(await child.exit).toBe(0);
    const results = child.messages.filter((m) => m.type === 'setup-result');
    expect(results).toHaveLength(2);
    expect(results.every((m) => m.type === 'setup-result' && m.ok)).toBe(true);
    expect(child.messages.some((m) => m.type === 'batch' || m.type === 'packed-batch')).toBe(false);
  });

  it('answers init-failed and exits non-zero when the state directory is unusable', async () => {
    const dir = await tempDir();
    const notADir = join(dir, 'file');
    await writeFile(notADir, 'x');
    const child = startWorker();
    child.send({ type: 'init', config: config(join(notADir, 'state')), saveState: true, validateOnly: false });
    const code = await child.exit;
    expect(code).not.toBe(0);
    const failed = child.messages.find((m) => m.type === 'init-failed');
    expect(failed?.type === 'init-failed' && failed.error.name).toBe('RuntimeError');
    expect(child.messages.some((m) => m.type === 'ready')).toBe(false);
  });
});
