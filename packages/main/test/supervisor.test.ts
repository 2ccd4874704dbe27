/**
 * The supervisor with real forks (dist/main.js), the real simulator over HTTP and a console output:
 * start, deliver, crash and restart of each worker, failed init, SIGTERM with exit 0 and no orphan.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { PRIV, PUB, alive, baseConfig, makeWorkspace, runCollector, workerPid, writeConfig } from './helpers/collector.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 7, modelBreachesPerHour: 6 });
});
afterAll(async () => {
  await sim.close();
});

async function waitGone(pid: number, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

describe('supervisor', () => {
  it('starts, delivers events, and stops on SIGTERM with exit 0 and no orphan process', async () => {
    const dir = makeWorkspace();
    writeConfig(dir, baseConfig(sim.url));
    const c = runCollector(dir);
    await c.waitFor(/Started all objects from "MainProcess" process/);
    await c.waitFor(/"message_tag":"edr\.darktrace\.respond\.model_breach"/);
    const inputPid = workerPid(c.lines, 'InputProcess');
    const outputPid = workerPid(c.lines, 'OutputProcess');
    expect(inputPid).toBeGreaterThan(0);
    expect(outputPid).toBeGreaterThan(0);
    c.proc.kill('SIGTERM');
    const exit = await c.exit;
    expect(exit.code).toBe(0);
    expect(c.output()).toContain('Received the "SIGTERM" system signal (code: 15), all the processes will be gracefully stopped');
    expect(c.output()).toMatch(/\[EXIT\] Process "MainProcess" completely terminated/);
    expect(await waitGone(inputPid!)).toBe(true);
    expect(await waitGone(outputPid!)).toBe(true);
    expect(c.output()).not.toContain(PRIV);
    expect(c.output()).not.toContain(PUB);
  });

  it('restarts a worker killed with SIGKILL and keeps running', async () => {
    const dir = makeWorkspace();
    writeConfig(dir, baseConfig(sim.url));
    const c = runCollector(dir);
    await c.waitFor(/Started all objects from "MainProcess" process/);
    const input1 = workerPid(c.lines, 'InputProcess')!;
    process.kill(input1, 'SIGKILL');
    await c.waitFor(/ERROR MainProcess::MainThread -> InputProcess \(pid=\d+\) exited unexpectedly \(code=null, signal=SIGKILL\); restart #1/);
    await c.waitFor(/InputProcess restarted and ready/);
    const input2 = workerPid(c.lines, 'InputProcess', 1)!;
    expect(input2).not.toBe(input1);
    expect(alive(input2)).toBe(true);

    const output1 = workerPid(c.lines, 'OutputProcess')!;
    process.kill(output1, 'SIGKILL');
    await c.waitFor(/OutputProcess \(pid=\d+\) exited unexpectedly .*restart #1/);
    await c.waitFor(/OutputProcess restarted and ready/);
    const output2 = workerPid(c.lines, 'OutputProcess', 1)!;
    expect(alive(output2)).toBe(true);
    c.proc.kill('SIGTERM');
    expect((await c.exit).code).toBe(0);
    expect(await waitGone(input2)).toBe(true);
    expect(await waitGone(output2)).toBe(true);
  });

  it('stops with a clear error and exit 3 when a worker fails to initialise', async () => {
    const dir = makeWorkspace();
    // The persistence directory is a regular file: no state store or spool can be opened there.
    writeFileSync(path.join(dir, 'not-a-dir'), 'x');
    writeConfig(dir, baseConfig(sim.url, 'not-a-dir'));
    const c = runCollector(dir);
    const exit = await c.exit;
    expect(exit.code).toBe(3);
    // One line says it all: the worker's error, with its id.
    expect(c.lines.filter((l) => /ERROR MainProcess::MainThread -> The collector cannot start: (Input|Output)Process failed to start: \w+Error\(\d+\)/.test(l))).toHaveLength(1);
    expect(c.lines.filter((l) => / ERROR /.test(l))).toHaveLength(1);
    expect(c.output()).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  });

  it('no batch lane, no start: without a run directory the output answers init-failed (OutputError 430), exit 3', async () => {
    const dir = makeWorkspace();
    writeConfig(dir, baseConfig(sim.url));
    // The run directory (and the lane's socket in it) goes under $TMPDIR: one that does not exist.
    const c = runCollector(dir, { env: { TMPDIR: path.join(dir, 'no-such-tmp') } });
    const exit = await c.exit;
    expect(exit.code).toBe(3);
    expect(c.lines.filter((l) => /WARNING MainProcess::MainThread -> Cannot create the run directory for the batch lane: .*ENOENT/.test(l))).toHaveLength(1);
    expect(c.lines.filter((l) => / ERROR /.test(l))).toEqual([
      expect.stringMatching(/ERROR MainProcess::MainThread -> The collector cannot start: OutputProcess failed to start: OutputError\(430\): cannot open the batch lane: the supervisor gave no run directory for its socket/),
    ]);
    expect(c.output()).not.toMatch(/InputProcess - Starting thread/);
  });

  it('exits 0 when stopped by SIGINT', async () => {
    const dir = makeWorkspace();
    writeConfig(dir, baseConfig(sim.url));
    const c = runCollector(dir);
    await c.waitFor(/Started all objects from "MainProcess" process/);
    c.proc.kill('SIGINT');
    expect((await c.exit).code).toBe(0);
    expect(c.output()).toContain('Received the "SIGINT" system signal (code: 2)');
  });
});
