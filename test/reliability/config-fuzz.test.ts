/**
 * Config fuzzing: seeded random mutations of a valid configuration (delete keys, change types,
 * out-of-range numbers, garbage strings, nulls, unknown keys). In-process through compileConfig
 * (>= 2,000 cases): each compiles or throws an InitVariablesError with a numeric id, never
 * anything else. Then >= 50 of them through the real CLI: it starts (SIGTERM -> exit 0) or exits
 * 2 with an `InitVariablesError(<id>)` line and no stack trace.
 * FUZZ_SEED overrides the seed; FUZZ_CASES / FUZZ_CLI_CASES the counts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { compileConfig, InitVariablesError } from '@devo-collector/common';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { makeWorkspace, startTlsReceiver, type TestCerts, type TlsReceiver, writeConfig } from '@devo-collector/testkit';
import { artifactsRoot, makeCerts, PRIV, PUB, recordFigure, runCollector, scanArtifacts, seededRng, teardown } from './helpers.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20240611);
const CASES = Number(process.env['FUZZ_CASES'] ?? 2500);
const CLI_CASES = Number(process.env['FUZZ_CLI_CASES'] ?? 60);
const definitionsPath = path.join(import.meta.dirname, '../../packages/darktrace/collector_definitions.yaml');

type Json = unknown;
type Dict = Record<string, Json>;

let root: string;
let certs: TestCerts;
let sim: Simulator;
let relay: TlsReceiver;
let tlsRx: TlsReceiver;
const texts: Array<{ name: string; text: string }> = [];

beforeAll(async () => {
  root = artifactsRoot('config-fuzz');
  certs = makeCerts(root);
  sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 3, modelBreachesPerHour: 2 });
  relay = await startTlsReceiver(null);
  tlsRx = await startTlsReceiver(certs);
});

afterAll(async () => {
  await teardown(sim, relay, tlsRx);
  scanArtifacts('config-fuzz', root, texts, certs);
});

function validConfig(): Dict {
  const start = new Date(Date.now() - 2 * 3600_000).toISOString().slice(0, 19);
  return {
    globals: {
      id: '7', name: 'fuzz', debug: false,
      persistence: { type: 'filesystem', config: { directory_name: 'state' } },
      queue_max_size_in_mb: 64, queue_max_size_in_messages: 10000, queue_max_elapsed_time_in_sec: 60,
      queue_wrap_max_size_in_messages: 100, queue_generate_metrics: false, generate_collector_details: false,
      sender_stats_period_in_sec: 300, gc_log_period_in_sec: 300, shutdown_grace_period_in_sec: 5,
      web_service: { enabled: false, host: '127.0.0.1', port: 0 },
    },
    outputs: {
      devo_1: { type: 'devo_platform', config: { address: '127.0.0.1', port: tlsRx.port, chain: certs.caPath, cert: certs.clientCertPath, key: certs.clientKeyPath, check_hostname: false, octet_counting: false, concurrent_connections: 1 } },
      relay_1: { type: 'relay', config: { address: '127.0.0.1', port: relay.port } },
    },
    inputs: {
      darktrace: {
        id: '40001', enabled: true,
        credentials: { public_token: PUB, private_token: PRIV, instance: sim.url },
        allow_insecure_http: false, tls_verify: true, requests_per_second: 20,
        services: {
          modelbreaches: { request_period_in_seconds: 60, start_time_in_utc_format: start, override_time_window_interval_in_minutes: 60 },
          aianalyst_incidentevents: { request_period_in_seconds: 60, override_devo_tag: 'edr.darktrace.respond.incident_event' },
          antigena: {},
          summarystatistics: { request_period_in_seconds: 300 },
          status: {},
        },
      },
    },
  };
}

/** Every path to a node of the tree (objects and arrays), root excluded. */
function paths(v: Json, pre: string[] = [], out: string[][] = []): string[][] {
  if (v && typeof v === 'object') {
    for (const k of Object.keys(v as Dict)) {
      out.push([...pre, k]);
      paths((v as Dict)[k], [...pre, k], out);
    }
  }
  return out;
}

const GARBAGE = [
  '', ' ', 'null', 'true', '0', '-1', '1e309', 'NaN', '💥', '\u0000', 'a'.repeat(5000), '../../etc/passwd', '${HOME}', '{{x}}',
  'http://example.com', 'ftp://127.0.0.1', 'https://127.0.0.1:99999', '2999-01-01T00:00:00', '2024-13-45T25:61:61', 'yes', 'off',
  'edr.darktrace.respond', 'EDR.UPPER.case.tag', 'collector-eu.devo.io', '/nonexistent/file.pem', 'state/../..', '%s%s%n',
];
const NUMBERS = [0, -1, 1, 2, 65535, 65536, 1.5, -0.5, 1e9, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 600, 601, 5120, 5121, 86400, 100001, 17];

function randomValue(rng: () => number): Json {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rng() * a.length)] as T;
  switch (Math.floor(rng() * 8)) {
    case 0: return null;
    case 1: return pick(NUMBERS);
    case 2: return pick(GARBAGE);
    case 3: return rng() < 0.5;
    case 4: return [];
    case 5: return {};
    case 6: return [pick(GARBAGE), pick(NUMBERS)];
    default: return { [pick(GARBAGE) || 'k']: pick(NUMBERS) };
  }
}

const OPS = ['delete', 'null', 'type', 'number', 'garbage', 'unknown-key', 'empty-container', 'replace-parent'] as const;

/** Applies 1-3 random mutations; `avoid` filters paths (the CLI run keeps web_service off). */
function mutate(cfg: Dict, rng: () => number, avoid: (p: string[]) => boolean = () => false): { cfg: Dict; ops: string[] } {
  const ops: string[] = [];
  const n = 1 + Math.floor(rng() * 3);
  for (let i = 0; i < n; i++) {
    const ps = paths(cfg).filter((p) => !avoid(p));
    if (!ps.length) break;
    const p = ps[Math.floor(rng() * ps.length)] as string[];
    const op = OPS[Math.floor(rng() * OPS.length)] as (typeof OPS)[number];
    let parent: any = cfg;
    for (const k of p.slice(0, -1)) parent = parent[k];
    const key = p[p.length - 1] as string;
    switch (op) {
      case 'delete': delete parent[key]; break;
      case 'null': parent[key] = null; break;
      case 'type': parent[key] = randomValue(rng); break;
      case 'number': parent[key] = NUMBERS[Math.floor(rng() * NUMBERS.length)]; break;
      case 'garbage': parent[key] = GARBAGE[Math.floor(rng() * GARBAGE.length)]; break;
      case 'unknown-key': {
        const target = parent[key];
        if (target && typeof target === 'object' && !Array.isArray(target)) target[`x_${Math.floor(rng() * 1000)}`] = randomValue(rng);
        else parent[`${key}_typo`] = randomValue(rng);
        break;
      }
      case 'empty-container': parent[key] = Array.isArray(parent[key]) ? [] : {}; break;
      case 'replace-parent': {
        if (p.length >= 2) {
          let gp: any = cfg;
          for (const k of p.slice(0, -2)) gp = gp[k];
          gp[p[p.length - 2] as string] = randomValue(rng);
        }
        break;
      }
    }
    ops.push(`${op}:${p.join('.')}`);
  }
  return { cfg, ops };
}

const defsRaw = (): unknown => parseYaml(readFileSync(definitionsPath, 'utf8'), { schema: 'core' });

describe('config fuzzing', () => {
  it(`compileConfig: ${CASES} seeded mutations compile or throw InitVariablesError(<id>) (seed ${SEED})`, () => {
    const rng = seededRng(SEED);
    const defs = defsRaw();
    const byId = new Map<string, number>();
    const others: string[] = [];
    let compiled = 0;
    for (let i = 0; i < CASES; i++) {
      // Round-trip through YAML like the CLI (NaN/Infinity survive as .nan/.inf).
      const { cfg, ops } = mutate(validConfig(), rng);
      const raw = parseYaml(stringify(cfg), { schema: 'core' });
      try {
        compileConfig(raw, defs, { cwd: root, configPath: path.join(root, 'config.yaml'), definitionsPath, mode: 'file' });
        compiled++;
      } catch (err) {
        if (err instanceof InitVariablesError && Number.isInteger(err.code) && err.code > 0) {
          byId.set(String(err.code), (byId.get(String(err.code)) ?? 0) + 1);
          texts.push({ name: `compile error ${i}`, text: err.message });
        } else {
          others.push(`case ${i} [${ops.join(', ')}]: ${(err as Error)?.name}: ${(err as Error)?.message}`);
        }
      }
    }
    recordFigure('config-fuzz in-process', { seed: SEED, cases: CASES, compiled, rejected: CASES - compiled - others.length, otherExceptions: others.length, byId: Object.fromEntries([...byId].sort((a, b) => Number(a[0]) - Number(b[0]))) });
    expect(others.slice(0, 10)).toEqual([]);
  }, 120_000);

  it(`CLI: ${CLI_CASES} mutations through node dist/main.js: start then SIGTERM -> 0, or exit 2 with InitVariablesError(<id>) (seed ${SEED + 1})`, async () => {
    const rng = seededRng(SEED + 1);
    const avoid = (p: string[]): boolean => p[0] === 'globals' && (p.length === 1 || p[1] === 'web_service' || p[1] === 'persistence');
    const results = { started: 0, exit2: 0, byId: {} as Record<string, number> };
    const failures: string[] = [];
    const runOne = async (i: number): Promise<void> => {
      const mutated = mutate(validConfig(), rng, avoid);
      const ops = mutated.ops;
      let cfg = mutated.cfg;
      if (!cfg['globals'] || typeof cfg['globals'] !== 'object') cfg = { ...cfg, globals: validConfig()['globals'] };
      const ws = makeWorkspace(path.join(root, `cli-${i}`));
      writeConfig(ws, stringify(cfg));
      const c = runCollector(ws);
      const started = c.waitFor(/Started all objects from "MainProcess" process/, 20_000).then(() => 'started', () => 'no');
      const first = await Promise.race([started, c.exit.then(() => 'exited')]);
      let exit: { code: number | null; signal: NodeJS.Signals | null };
      if (first === 'started') {
        exit = await c.stop(20_000);
        results.started++;
        if (exit.code !== 0) failures.push(`case ${i} [${ops.join(', ')}]: started, SIGTERM -> exit ${exit.code}/${exit.signal}`);
      } else {
        exit = await c.exit;
        const out = c.lines.join('\n');
        const id = /InitVariablesError\((\d+)\)/.exec(out)?.[1];
        if (exit.code === 2 && id) {
          results.exit2++;
          results.byId[id] = (results.byId[id] ?? 0) + 1;
        } else failures.push(`case ${i} [${ops.join(', ')}]: exit ${exit.code}/${exit.signal}: ${c.lines.slice(-3).join(' | ')}`);
        if (/^\s+at .+:\d+:\d+\)?$/m.test(out)) failures.push(`case ${i}: stack trace in the output`);
      }
    };
    // Two at a time (2 cores).
    for (let i = 0; i < CLI_CASES; i += 2) await Promise.all([runOne(i), ...(i + 1 < CLI_CASES ? [runOne(i + 1)] : [])]);
    recordFigure('config-fuzz CLI', { seed: SEED + 1, cases: CLI_CASES, ...results, failures: failures.length, failureSamples: failures.slice(0, 5) });
    expect(failures).toEqual([]);
  }, 600_000);
});
