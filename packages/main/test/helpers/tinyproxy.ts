/**
 * A real forward proxy for tests: Debian's tinyproxy (installed by scripts/setup.sh), started in
 * the foreground with its own config file in a temp dir, basic auth on, CONNECT limited to the
 * given ports, logging every request to a file the test can read. tinyproxy has no "port 0", so a
 * free port is picked first (and another one if it was taken in between).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@devo-collector/testkit';

const TINYPROXY = '/usr/bin/tinyproxy';

interface TinyproxyOptions {
  /** Basic auth; both or neither. */
  user?: string;
  password?: string;
  /** Ports CONNECT may reach; empty: tinyproxy allows any. */
  connectPorts?: number[];
}

export interface Tinyproxy {
  host: string;
  port: number;
  /** `http://127.0.0.1:<port>` without credentials. */
  url: string;
  /** `http://user:password@127.0.0.1:<port>` (the configured credentials unless others are given). */
  urlWith(user?: string, password?: string): string;
  logPath: string;
  log(): string;
  /** `CONNECT host:port` request lines seen so far. */
  connectRequests(): string[];
  stop(): Promise<void>;
}


function readLog(p: string): string {
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

async function startOnce(dir: string, opts: TinyproxyOptions): Promise<{ child: ChildProcess; port: number } | null> {
  const port = await freePort();
  const logPath = path.join(dir, 'tinyproxy.log');
  writeFileSync(logPath, '');
  const lines = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 60',
    `LogFile "${logPath}"`,
    'LogLevel Info',
    `PidFile "${path.join(dir, 'tinyproxy.pid')}"`,
    'MaxClients 50',
    'Allow 127.0.0.1',
    'DisableViaHeader Yes',
    ...(opts.user !== undefined ? [`BasicAuth ${opts.user} ${opts.password ?? ''}`] : []),
    ...(opts.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
  ];
  const conf = path.join(dir, 'tinyproxy.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child = spawn(TINYPROXY, ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const until = Date.now() + 10_000;
  // Polling the log (not the port) keeps stray probe connections out of what tests assert on.
  while (Date.now() < until) {
    if (readLog(logPath).includes('Accepting connections')) return { child, port };
    if (exited) {
      if (/Address already in use|Could not create listening sockets/i.test(output + readLog(logPath))) return null;
      throw new Error(`tinyproxy exited at start: ${output}${readLog(logPath)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`tinyproxy did not start within 10 s: ${output}${readLog(logPath)}`);
}

export async function startTinyproxy(opts: TinyproxyOptions = {}): Promise<Tinyproxy> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyproxy-'));
  let started: { child: ChildProcess; port: number } | null = null;
  for (let i = 0; i < 3 && !started; i++) started = await startOnce(dir, opts);
  if (!started) throw new Error('tinyproxy found no free port in 3 tries');
  const { child, port } = started;
  const logPath = path.join(dir, 'tinyproxy.log');
  const host = '127.0.0.1';
  return {
    host,
    port,
    url: `http://${host}:${port}`,
    urlWith: (user = opts.user ?? '', password = opts.password ?? '') =>
      `http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}`,
    logPath,
    log: () => readLog(logPath),
    connectRequests: () => [...readLog(logPath).matchAll(/Request \(file descriptor \d+\): (CONNECT \S+)/g)].map((m) => m[1]!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(t);
    },
  };
}
