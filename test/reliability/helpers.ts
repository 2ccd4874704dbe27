/**
 * Shared helpers of the reliability suite: distinctive tokens, throwaway certificates, a
 * line-recording receiver (plain TCP relay or mutual TLS, restartable on the same port), the real
 * collector (dist/main.js) as a child process with its log lines saved to a file, a seeded RNG,
 * and the secret scan run at the end of every file over everything that file produced.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { mulberry32 } from '@devo-collector/darktrace-sim';
import { generateTestCerts, WireDecoder } from '@devo-collector/testkit';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const distMain = path.join(repoRoot, 'dist', 'main.js');
/** Distinctive tokens: any occurrence outside the config file is a leak. */
export const PUB = 'RELTEST-PUBLIC-9d41c7ab2e83';
export const PRIV = 'RELTEST-PRIVATE-5e08f3b61c27';
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const HOUR = 3_600_000;
export const RECORD_TAG = 'edr.darktrace.respond.model_breach';

/** Root of everything one test file writes (workspaces, logs, certs); scanned for secrets. */
export function artifactsRoot(name: string): string {
  const dir = path.join(os.tmpdir(), 'devo-reliability', `${name}-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** mulberry32, shared with the simulator (a seed replays a run). */
export const seededRng = mulberry32;

export interface Certs {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** The shared test CA and certificates (packages/testkit) under `root`/certs-gen, in the reliability tests' shape. */
export function makeCerts(root: string): Certs {
  const c = generateTestCerts({ dir: path.join(root, 'certs-gen') });
  return { dir: c.dir, ca: c.caPath, serverCert: c.serverCertPath, serverKey: c.serverKeyPath, clientCert: c.clientCertPath, clientKey: c.clientKeyPath };
}

export interface Receiver {
  port: number;
  lines: string[];
  connections: number;
  /** pbid -> times received */
  ids: Map<string, number>;
  arrivals: Map<string, number>;
  /** Bytes received (on the wire, before any gzip member is inflated). */
  wireBytes: number;
  /** Whole gzip members received, and lines that came plain. */
  members: number;
  plainLines: number;
  /** Corrupt gzip members (one per connection at most: decoding of that connection stops). */
  decodeErrors: string[];
  /** Every whole gzip member in arrival order: its bytes on the wire and the record ids it carried. */
  memberLog: Array<{ wireBytes: number; ids: string[] }>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A `neverRead` receiver starts reading (its live connections too): a stalled endpoint that recovers. */
  startReading(): void;
}

const HEADER = /^<\d+>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+ (\S+): /;

/**
 * Records every line; `certs` makes it a mutual-TLS server, otherwise plain TCP (relay). Reads the
 * stream as Devo does: plain lines and gzip members (`compression: gzip`) alike (packages/testkit/src/wire-decoder.ts).
 * `neverRead`: accepts (completes the TLS handshake) and never reads, like a Devo endpoint that
 * stalled; its kernel still acknowledges what fits in its receive buffer, and `stop()` (a reset)
 * loses that.
 */
export async function startReceiver(certs: Certs | null, port = 0, opts: { neverRead?: boolean } = {}): Promise<Receiver> {
  let server: net.Server | null = null;
  const sockets = new Set<net.Socket>();
  let neverRead = !!opts.neverRead;
  const paused: Array<() => void> = [];
  const r: Receiver = {
    port,
    lines: [],
    connections: 0,
    ids: new Map(),
    arrivals: new Map(),
    wireBytes: 0,
    members: 0,
    plainLines: 0,
    decodeErrors: [],
    memberLog: [],
    startReading() {
      neverRead = false;
      for (const go of paused.splice(0)) go();
    },
    async start() {
      const onConn = (socket: net.Socket): void => {
        r.connections++;
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => sockets.delete(socket));
        if (neverRead) {
          socket.pause();
          paused.push(() => read(socket));
          return;
        }
        read(socket);
      };
      const read = (socket: net.Socket): void => {
        const decoder = new WireDecoder({
          onMember: (wireBytes, lines) => {
            const ids = lines.filter((l) => HEADER.exec(l.slice(0, 300))?.[1] === RECORD_TAG).map((l) => /"pbid":(\d+)/.exec(l)?.[1] ?? l);
            r.memberLog.push({ wireBytes, ids });
          },
        });
        socket.on('data', (d: Buffer) => {
          r.wireBytes += d.length;
          const [members, plain] = [decoder.members, decoder.plainLines];
          const lines = decoder.push(d);
          r.members += decoder.members - members;
          r.plainLines += decoder.plainLines - plain;
          if (decoder.error && !r.decodeErrors.includes(decoder.error)) r.decodeErrors.push(decoder.error);
          for (const l of lines) {
            r.lines.push(l);
            const m = HEADER.exec(l.slice(0, 300));
            if (m?.[1] !== RECORD_TAG) continue;
            const id = /"pbid":(\d+)/.exec(l)?.[1];
            if (id) {
              r.ids.set(id, (r.ids.get(id) ?? 0) + 1);
              if (!r.arrivals.has(id)) r.arrivals.set(id, Date.now());
            }
          }
        });
        socket.resume();
      };
      server = certs
        ? tls.createServer(
            { key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert), ca: readFileSync(certs.ca), requestCert: true, rejectUnauthorized: true },
            onConn,
          )
        : net.createServer(onConn);
      server.on('tlsClientError', () => undefined);
      await new Promise<void>((res, rej) => {
        server!.once('error', rej);
        server!.listen(r.port, '127.0.0.1', () => res());
      });
      r.port = (server.address() as net.AddressInfo).port;
    },
    async stop() {
      const s = server;
      server = null;
      for (const so of sockets) so.destroy();
      sockets.clear();
      if (s) await new Promise<void>((res) => s.close(() => res()));
    },
  };
  await r.start();
  return r;
}

export function makeWorkspace(root: string, name: string): string {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, 'config'), { recursive: true });
  mkdirSync(path.join(dir, 'certs'), { recursive: true });
  return dir;
}

type Dict = Record<string, any>;

export function collectorConfig(o: { simUrl: string; services: Dict; outputs: Dict; globals?: Dict; input?: Dict }): Dict {
  return {
    globals: {
      id: '1', name: 'reliability', persistence: { type: 'filesystem', config: { directory_name: 'state' } },
      sender_stats_period_in_sec: 30, shutdown_grace_period_in_sec: 10, web_service: { enabled: false }, ...o.globals,
    },
    outputs: o.outputs,
    inputs: {
      darktrace: {
        id: '30001', enabled: true,
        credentials: { public_token: PUB, private_token: PRIV, instance: o.simUrl },
        services: o.services,
        ...o.input,
      },
    },
  };
}

export function relayOutput(port: number): Dict {
  return { relay_1: { type: 'relay', config: { address: '127.0.0.1', port } } };
}

export function tlsOutput(port: number, c: Certs): Dict {
  return { devo_1: { type: 'devo_platform', config: { address: '127.0.0.1', port, chain: c.ca, cert: c.clientCert, key: c.clientKey } } };
}

export function writeConfig(dir: string, config: unknown, name = 'config.yaml'): string {
  const p = path.join(dir, 'config', name);
  writeFileSync(p, typeof config === 'string' ? config : stringify(config));
  return p;
}

export interface Collector {
  proc: ChildProcess;
  lines: string[];
  waitFor(re: RegExp, timeoutMs?: number, fromIndex?: number): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  pids(): { input: number | null; output: number | null };
}

/** Runs dist/main.js in `cwd`; every line is kept and appended to `<cwd>/collector.log`. */
export function runCollector(cwd: string, args: string[] = ['--config', 'config.yaml']): Collector {
  const proc = spawn(process.execPath, [distMain, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const logFile = path.join(cwd, 'collector.log');
  const lines: string[] = [];
  const waiters: { re: RegExp; from: number; resolve: (l: string) => void }[] = [];
  const feed = (acc: { rest: string }) => (buf: Buffer) => {
    acc.rest += buf.toString('utf8');
    const parts = acc.rest.split('\n');
    acc.rest = parts.pop() ?? '';
    if (parts.length) appendFileSync(logFile, parts.join('\n') + '\n');
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
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const pid = (name: string): number | null => {
    const ls = lines.filter((l) => l.includes(`${name}::`) && /Process started \(pid=(\d+)/.test(l));
    const m = ls.length ? /pid=(\d+)/.exec(ls[ls.length - 1]!) : null;
    return m ? Number(m[1]) : null;
  };
  return {
    proc,
    lines,
    exit,
    pids: () => ({ input: pid('InputProcess'), output: pid('OutputProcess') }),
    waitFor(re, timeoutMs = 60_000, fromIndex = 0) {
      const found = lines.slice(fromIndex).find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}; last lines:\n${lines.slice(-30).join('\n')}`)), timeoutMs);
        waiters.push({ re, from: fromIndex, resolve: (l) => { clearTimeout(t); resolve(l); } });
      });
    },
    async stop(timeoutMs = 30_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exit;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const e = await exit;
      clearTimeout(t);
      return e;
    },
  };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitGone(pid: number, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await sleep(50);
  }
  return !alive(pid);
}

/** The persisted state document of one service (cursor_ms, seen ...). */
export function readState(workspace: string, service: string): Dict | null {
  const dir = path.join(workspace, 'state');
  if (!existsSync(dir)) return null;
  const f = readdirSync(dir).find((n) => n.endsWith(`;${service}.json`));
  return f ? (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Dict) : null;
}

export async function waitUntil(pred: () => boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) return false;
    await sleep(stepMs);
  }
  return true;
}

export function duplicates(ids: Map<string, number>): number {
  let d = 0;
  for (const n of ids.values()) d += n - 1;
  return d;
}

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

interface ScanResult {
  filesScanned: number;
  bytesScanned: number;
  textsScanned: number;
  leaks: string[];
}

/**
 * Looks for either token and for any private key material (PEM marker or any 40-char run of the
 * base64 body of `keyFiles`) in every file under `roots` (except the generated certs directory
 * and the config files, which legitimately hold them) and in `texts` (e.g. /metrics scrapes).
 */
export function secretScan(roots: string[], texts: Array<{ name: string; text: string }>, keyFiles: string[] = []): ScanResult {
  const needles: Array<{ what: string; s: string }> = [
    { what: 'public token', s: PUB },
    { what: 'private token', s: PRIV },
    { what: 'PEM private key marker', s: 'PRIVATE KEY' },
  ];
  for (const k of keyFiles) {
    const body = readFileSync(k, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
    for (const l of body) if (l.length >= 40) needles.push({ what: `key material of ${path.basename(k)}`, s: l.slice(0, 40) });
  }
  const leaks: string[] = [];
  let files = 0;
  let bytes = 0;
  const check = (name: string, text: string): void => {
    for (const n of needles) if (text.includes(n.s)) leaks.push(`${n.what} in ${name}`);
  };
  for (const root of roots) {
    for (const f of walk(root)) {
      if (f.includes(`${path.sep}certs-gen${path.sep}`) || f.includes(`${path.sep}config${path.sep}`)) continue;
      const buf = readFileSync(f);
      files++;
      bytes += buf.length;
      check(f, buf.toString('latin1'));
    }
  }
  for (const t of texts) check(t.name, t.text);
  return { filesScanned: files, bytesScanned: bytes, textsScanned: texts.length, leaks };
}

/** Appends one JSON line of figures to the shared results file (read when writing RELIABILITY.md). */
export function recordFigure(name: string, data: unknown): void {
  const dir = path.join(os.tmpdir(), 'devo-reliability');
  mkdirSync(dir, { recursive: true });
  appendFileSync(path.join(dir, 'figures.jsonl'), JSON.stringify({ name, at: new Date().toISOString(), ...(data as object) }) + '\n');
  console.log(`[reliability] ${name}: ${JSON.stringify(data)}`);
}

export { freePort } from '@devo-collector/testkit';

