import { inspect } from 'node:util';
import { createDarktraceClient, type DarktraceClientOptions } from '@devo-collector/darktrace';
import { expect } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../src/index.js';

export const PUB = 'sim-public-token-0123456789abcdef';
export const PRIV = 'sim-private-token-fedcba9876543210';
export const NOW = Date.UTC(2024, 2, 1, 0, 0, 0);
export const HOUR = 3_600_000;

export function startSim(extra: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  return startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 7, nowMs: () => NOW, dataStartMs: NOW - 3 * 24 * HOUR, ...extra });
}

export function clientFor(sim: Simulator, extra: Partial<DarktraceClientOptions> = {}) {
  return createDarktraceClient({
    baseUrl: sim.url,
    publicToken: PUB,
    privateToken: PRIV,
    now: () => new Date(NOW),
    requestsPerSecond: 0,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    ...extra,
  });
}

/** Awaits the rejection and checks no secret appears anywhere in it, however it gets printed. */
export async function rejection(p: Promise<unknown>, secrets: string[] = [PUB, PRIV]): Promise<Error & { code: number; name: string }> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error & { code: number; name: string },
  );
  const printed = [err.message, String(err), inspect(err, { depth: 10, showHidden: true }), JSON.stringify(err)].join('\n');
  for (const s of secrets) expect(printed).not.toContain(s);
  return err;
}
