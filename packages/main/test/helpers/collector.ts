/**
 * The main package's end-to-end tests run the real built collector (dist/main.js, through
 * testkit's runner) with a console output: their tokens, base configuration and bundled definitions.
 * The suite builds dist/ before running (scripts/test.sh).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, type Collector } from '@devo-collector/testkit';

export { alive, makeWorkspace, metricValue, repoRoot, runCollector, until, webBase, workerPid, writeConfig } from '@devo-collector/testkit';
export type RunningCollector = Collector;

export const PUB = 'test-public-token-0123456789abcdef';
export const PRIV = 'test-private-token-fedcba9876543210';

type Dict = Record<string, any>;

export function baseConfig(simUrl: string, stateDir = 'state'): Dict {
  const start = new Date(Date.now() - 3 * 3600_000).toISOString().slice(0, 13) + ':00:00';
  return {
    globals: {
      id: '1', name: 'test', persistence: { type: 'filesystem', config: { directory_name: stateDir } },
      sender_stats_period_in_sec: 60, shutdown_grace_period_in_sec: 10, web_service: { enabled: false },
    },
    outputs: { console_1: { type: 'console' } },
    inputs: {
      darktrace: {
        id: '10001', enabled: true,
        credentials: { public_token: PUB, private_token: PRIV, instance: simUrl },
        services: {
          modelbreaches: { start_time_in_utc_format: start, request_period_in_seconds: 2 },
          summarystatistics: { request_period_in_seconds: 2 },
        },
      },
    },
  };
}

/** The bundled collector_definitions.yaml with some module_globals changed (e.g. a short setup retry period), written to `dir/config`. */
export function writeDefinitions(dir: string, moduleGlobals: Record<string, number>): string {
  let text = readFileSync(path.join(repoRoot, 'packages', 'darktrace', 'collector_definitions.yaml'), 'utf8');
  for (const [k, v] of Object.entries(moduleGlobals)) {
    const re = new RegExp(`^(\\s+${k}:).*$`, 'm');
    if (!re.test(text)) throw new Error(`module_globals.${k} is not in the bundled definitions`);
    text = text.replace(re, `$1 ${v}`);
  }
  const p = path.join(dir, 'config', 'collector_definitions.yaml');
  writeFileSync(p, text);
  return p;
}
