/**
 * Development entry: `npx tsx packages/input/src/dev.ts [hoursOfHistory]` starts the Darktrace
 * simulator and runs every service against it over HTTP, printing records to stdout with a sink
 * that acknowledges at once. State goes to a temporary directory. Ctrl-C stops cleanly.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '@devo-collector/darktrace-sim';
import { configureLogging, createLogger, SERVICE_NAMES } from '@devo-collector/common';
import { makeCompiledConfig, makeServiceConfig } from '@devo-collector/testkit';
import { createConsoleSink } from './delivery/console-sink.js';
import { createInputRuntime } from './input-runtime.js';

async function main(): Promise<void> {
  configureLogging({ processName: 'InputProcess' });
  const log = createLogger('MainThread');
  const hours = Number(process.argv[2] ?? 6);
  const tokens = { publicToken: 'dev-public-token-0123456789', privateToken: 'dev-private-token-9876543210' };
  const now = Date.now();
  const sim = await startSimulator({ ...tokens, seed: 7, dataStartMs: now - hours * 3_600_000, order: 'shuffled', lateCreatedShare: 0.2 });
  const stateDir = await mkdtemp(join(tmpdir(), 'darktrace-input-dev-'));
  log.info(`Simulator at ${sim.url}, state in ${stateDir}`);
  const config = makeCompiledConfig({
    ...tokens,
    baseUrl: sim.url,
    stateDir,
    services: SERVICE_NAMES.map((name) =>
      makeServiceConfig(name, { startTimeMs: now - hours * 3_600_000, requestPeriodMs: 10_000, overlapMs: 60_000 }),
    ),
  });
  const runtime = createInputRuntime({ config, saveState: true, sink: createConsoleSink() });
  await runtime.open();
  runtime.start();
  const stop = async (): Promise<void> => {
    await runtime.stop(Date.now() + 5000);
    await sim.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

void main();
