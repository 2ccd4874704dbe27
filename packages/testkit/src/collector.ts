/**
 * The real built collector (`dist/main.js`) as a child process, as an operator runs it: every
 * output line kept (and appended to `logFile` when given), `waitFor` a line, the worker pids it
 * logged, `stop()` (SIGTERM, SIGKILL after a bound) and `kill9()`. Used by packages/main/test,
 * test/ and bench/ (through tsx). Also the workspace / config writers and the /metrics helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

/** The repository root: the nearest directory above this file holding pnpm-workspace.yaml. */
export const repoRoot = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'pnpm-workspace.yaml')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();
export const distMain = path.join(repoRoot, 'dist', 'main.js');

type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface Collector {
  proc: ChildProcess;
  lines: string[];
  /** performance.now() when it was spawned. */
  startedAt: number;
  output(): string;
  /** The first line from `fromIndex` on matching `re`; rejects on timeout or when the collector exits first. */
  waitFor(re: RegExp, timeoutMs?: number, fromIndex?: number): Promise<string>;
  exit: Promise<Exit>;
  /** SIGTERM, then SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<Exit>;
  kill9(): Promise<Exit>;
  /** The latest logged pid of each worker. */
  pids(): { input: number | null; output: number | null };
}

export interface RunOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  logFile?: string;
  /** Node flags before the script (the supervisor's workers inherit them). */
  nodeArgs?: string[];
  /** Another build's main.js to run instead of dist/main.js. */
  main?: string;
}

export function runCollector(cwd: string, o: RunOptions = {}): Collector {
  const args = o.args ?? ['--config', 'config.yaml'];
  const proc = spawn(process.execPath, [...(o.nodeArgs ?? []), o.main ?? distMain, ...args], {
    cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { re: RegExp; from: number; resolve: (l: string) => void }[] = [];
  const feed = (acc: { rest: string }) => (buf: Buffer) => {
    acc.rest += buf.toString('utf8');
    const parts = acc.rest.split('\n');
    acc.rest = parts.pop() ?? '';
    if (o.logFile && parts.length) appendFileSync(o.logFile, parts.join('\n') + '\n');
    for (const l of parts) {
      lines.push(l);
      for (const w of [...waiters]) if (lines.length - 1 >= w.from && w.re.test(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  proc.stdout!.on('data', feed({ rest: '' }));
  proc.stderr!.on('data', feed({ rest: '' }));
  const exit = new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const gone = (): boolean => proc.exitCode !== null || proc.signalCode !== null;
  const tail = (): string => lines.slice(-40).join('\n');
  return {
    proc,
    lines,
    startedAt: performance.now(),
    output: () => lines.join('\n'),
    exit,
    pids: () => ({ input: workerPid(lines, 'InputProcess', -1), output: workerPid(lines, 'OutputProcess', -1) }),
    waitFor(re, timeoutMs = 60_000, fromIndex = 0) {
      const found = lines.slice(fromIndex).find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}; output:\n${tail()}`)), timeoutMs);
        waiters.push({ re, from: fromIndex, resolve: (l) => { clearTimeout(t); resolve(l); } });
        // Its last lines may still be in the pipe when 'exit' fires.
        void exit.then(() => setTimeout(() => { clearTimeout(t); reject(new Error(`collector exited while waiting for ${re}; output:\n${tail()}`)); }, 200));
      });
    },
    async stop(timeoutMs = 30_000) {
      if (gone()) return exit;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const e = await exit;
      clearTimeout(t);
      return e;
    },
    async kill9() {
      if (!gone()) proc.kill('SIGKILL');
      return exit;
    },
  };
}

/** The pid the nth (-1: the latest) "Process started" line of a worker names. */
export function workerPid(lines: string[], processName: 'InputProcess' | 'OutputProcess', nth = 0): number | null {
  const matches = lines.filter((l) => l.includes(`${processName}::`) && /Process started \(pid=(\d+)/.test(l));
  const m = /pid=(\d+)/.exec(matches.at(nth) ?? '');
  return m ? Number(m[1]) : null;
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

/** A workspace (config/ and certs/ inside): `dir`, or a fresh temporary directory. */
export function makeWorkspace(dir = mkdtempSync(path.join(os.tmpdir(), 'collector-'))): string {
  mkdirSync(path.join(dir, 'config'), { recursive: true });
  mkdirSync(path.join(dir, 'certs'), { recursive: true });
  return dir;
}

/** Writes `config` (YAML-stringified unless a string) to `dir/sub/name`. */
export function writeConfig(dir: string, config: unknown, name = 'config.yaml', sub = 'config'): string {
  const p = path.join(dir, sub, name);
  writeFileSync(p, typeof config === 'string' ? config : stringify(config));
  return p;
}

/** Bytes of the files under `dir` (a spool, a state directory). */
export function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

/** Base URL of the collector's web service, once it logged where it listens (config `web_service.port: 0`). */
export async function webBase(c: Collector): Promise<string> {
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

/** The text of `base`/metrics (base: `webBase(c)` or `http://127.0.0.1:<port>`). */
export async function scrape(base: string): Promise<string> {
  return (await fetch(`${base}/metrics`)).text();
}
