/**
 * Runs the real built collector (dist/main.js) as a child process, as an operator would, and
 * exposes its output lines. The suite builds dist/ before running (scripts/test.sh).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const distMain = path.join(repoRoot, 'dist', 'main.js');

export const PUB = 'test-public-token-0123456789abcdef';
export const PRIV = 'test-private-token-fedcba9876543210';

type Dict = Record<string, any>;

export function makeWorkspace(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'collector-'));
  mkdirSync(path.join(dir, 'config'));
  mkdirSync(path.join(dir, 'certs'));
  return dir;
}

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

export function writeConfig(dir: string, config: unknown, name = 'config.yaml', sub = 'config'): string {
  const p = path.join(dir, sub, name);
  writeFileSync(p, typeof config === 'string' ? config : stringify(config));
  return p;
}

export interface RunningCollector {
  proc: ChildProcess;
  lines: string[];
  output(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runCollector(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): RunningCollector {
  const proc = spawn(process.execPath, [distMain, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const onData = (buf: Buffer, acc: { rest: string }) => {
    acc.rest += buf.toString('utf8');
    const parts = acc.rest.split('\n');
    acc.rest = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      for (const w of [...waiters]) if (w.re.test(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  const out = { rest: '' };
  const err = { rest: '' };
  proc.stdout!.on('data', (b: Buffer) => onData(b, out));
  proc.stderr!.on('data', (b: Buffer) => onData(b, err));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    lines,
    output: () => lines.join('\n'),
    exit,
    waitFor(re, timeoutMs = 30_000) {
      const found = lines.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}; output:\n${lines.slice(-40).join('\n')}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => { clearTimeout(t); resolve(l); } });
        void exit.then(() => setTimeout(() => reject(new Error(`collector exited while waiting for ${re}; output:\n${lines.slice(-40).join('\n')}`)), 200));
      });
    },
  };
}

/** true when a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function workerPid(lines: string[], processName: 'InputProcess' | 'OutputProcess', nth = 0): number | null {
  const matches = lines.filter((l) => l.includes(`${processName}::`) && /Process started \(pid=(\d+)/.test(l));
  const m = matches[nth] ? /pid=(\d+)/.exec(matches[nth]) : null;
  return m ? Number(m[1]) : null;
}

/** Base URL of the collector's web service, once it logged where it listens (config `web_service.port: 0`). */
export async function webBase(c: RunningCollector): Promise<string> {
  const line = await c.waitFor(/Starting WebServiceThread, ip-port: [\d.]+:(\d+)/);
  return `http://127.0.0.1:${/:(\d+)$/.exec(line)![1]}`;
}

/** Sum of the samples of `name` whose labels contain `labels` (all samples when empty). */
export function metricValue(text: string, name: string, labels = ''): number {
  const re = new RegExp(`^${name}${labels ? `\\{[^}]*${labels}[^}]*\\}` : '(\\{[^}]*\\})?'} (\\S+)$`, 'gm');
  let total = 0;
  for (const m of text.matchAll(re)) total += Number(m[m.length - 1]);
  return total;
}

/** Polls `fn` every 100 ms until it returns a value (not undefined), for at most `ms`. */
export async function until<T>(fn: () => Promise<T | undefined> | T | undefined, ms: number, what: string, diag: () => string = () => ''): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timeout after ${ms} ms: ${what} ${String(last ?? '')}\n${diag()}`);
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
