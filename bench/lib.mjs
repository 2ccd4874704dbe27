// Shared helpers of the benchmark scripts (plain ESM, no build step): the simulator forked into its
// own process, throwaway certificates, the real collector (dist/main.js) as a child process and
// polling all come from packages/testkit (TypeScript, loaded through tsx); here: the bench's
// tokens and configuration, a line-parsing receiver (plain TCP or mutual TLS) and an RSS sampler over /proc.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createGunzip } from 'node:zlib';
import { tsImport } from 'tsx/esm/api';

const tk = await tsImport('../packages/testkit/src/index.ts', import.meta.url);
export const { generateTestCerts: makeCerts, repoRoot, settles, sleep, writeConfig } = tk;
// BENCH_DIST: another build (e.g. a scratch copy with a prototype fix) to measure instead of dist/.
export const distMain = process.env.BENCH_DIST ? path.resolve(process.env.BENCH_DIST, 'main.js') : tk.distMain;
const PUB = 'BENCH-PUBLIC-TOKEN-5f1c2e9a7d';
const PRIV = 'BENCH-PRIVATE-TOKEN-c3b8e14f60';

/** The simulator in a child process; `call(op, args)` -> result. */
export const forkSim = (opts) => tk.forkSimulator({ publicToken: PUB, privateToken: PRIV, ...opts });

const HEADER = /^<\d+>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+ (\S+): /;

/**
 * A receiver that splits the stream into lines and, per line, takes the Devo tag; for
 * `recordTag` lines it counts arrivals (first/last time, per-pbid counts). `keepLines` keeps every
 * line (reliability tests); `keepRaw` keeps every received byte (the raw-writer comparison).
 */
// `gzip`: the stream is gzip members (`compression: gzip`), inflated per connection as they arrive;
// `bytes` stays the bytes on the wire, `lineBytes` counts the lines they carry.
export async function startReceiver({ certs = null, port = 0, recordTag = 'edr.darktrace.respond.model_breach', keepLines = false, keepRaw = false, gzip = false, onRecord } = {}) {
  const r = {
    port,
    bytes: 0,
    lineBytes: 0,
    lines: 0,
    records: 0,
    connections: 0,
    firstRecordAt: 0,
    lastRecordAt: 0,
    lastByteAt: 0,
    tags: new Map(),
    ids: new Map(),
    kept: [],
    raw: [],
    recordBytes: 0,
    decodeError: null,
  };
  const sockets = new Set();
  let server = null;
  const onConn = (socket) => {
    r.connections++;
    sockets.add(socket);
    let rest = '';
    const onText = (buf) => {
      const now = performance.now();
      r.lineBytes += buf.length;
      const text = rest + buf.toString('latin1');
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        line(text.slice(start, nl), now);
        start = nl + 1;
      }
      rest = text.slice(start);
    };
    const gunzip = gzip ? createGunzip() : null;
    gunzip?.on('data', onText);
    gunzip?.on('error', (e) => (r.decodeError ??= e.message));
    socket.on('data', (buf) => {
      r.bytes += buf.length;
      r.lastByteAt = performance.now();
      if (keepRaw) r.raw.push(buf);
      if (gunzip) gunzip.write(buf);
      else onText(buf);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };
  function line(l, now) {
    r.lines++;
    if (keepLines) r.kept.push(Buffer.from(l, 'latin1').toString('utf8'));
    const m = HEADER.exec(l.slice(0, 300));
    const tag = m ? m[1] : '(unparsed)';
    r.tags.set(tag, (r.tags.get(tag) ?? 0) + 1);
    if (tag !== recordTag) return;
    r.records++;
    r.recordBytes += l.length + 1;
    if (!r.firstRecordAt) r.firstRecordAt = now;
    r.lastRecordAt = now;
    const i = l.indexOf('"pbid":');
    if (i >= 0) {
      const id = /^\d+/.exec(l.slice(i + 7, i + 30))?.[0];
      if (id) {
        r.ids.set(id, (r.ids.get(id) ?? 0) + 1);
        onRecord?.(id, now, l);
      }
    }
  }
  r.start = async () => {
    server = certs
      ? tls.createServer({ key: readFileSync(certs.serverKeyPath), cert: readFileSync(certs.serverCertPath), ca: readFileSync(certs.caPath), requestCert: true, rejectUnauthorized: true }, onConn)
      : net.createServer(onConn);
    server.on('tlsClientError', () => undefined);
    await new Promise((res, rej) => {
      server.once('error', rej);
      server.listen(r.port, '127.0.0.1', res);
    });
    r.port = server.address().port;
  };
  r.stop = async () => {
    const s = server;
    server = null;
    for (const so of sockets) so.destroy();
    sockets.clear();
    if (s) await new Promise((res) => s.close(() => res()));
  };
  await r.start();
  return r;
}

/**
 * The end of every scenario: the RSS sampler, the collector, the receiver and the simulator stop,
 * and the workspace and the generated certificates go.
 */
export async function teardownScenario({ rss, collector, receiver, sim, dir, certs }) {
  rss.stop();
  await collector.stop();
  await receiver.stop();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
}

export const makeWorkspace = (prefix = 'bench-') => tk.makeWorkspace(mkdtempSync(path.join(os.tmpdir(), prefix)));

export function collectorConfig({ simUrl, start, services, outputs, globals = {}, input = {} }) {
  return {
    globals: {
      id: '1', name: 'bench', persistence: { type: 'filesystem', config: { directory_name: 'state' } },
      sender_stats_period_in_sec: 60, web_service: { enabled: false }, ...globals,
    },
    outputs,
    inputs: {
      darktrace: {
        id: '20001', enabled: true,
        credentials: { public_token: PUB, private_token: PRIV, instance: simUrl },
        services: services ?? { modelbreaches: { start_time_in_utc_format: start } },
        ...input,
      },
    },
  };
}

/** The supervisor's node flags in the image (docker/entrypoint.sh): the bench measures the collector as it is deployed. */
const IMAGE_NODE_ARGS = '--lite-mode --no-expose-wasm';

/** Runs dist/main.js (or $BENCH_DIST's) with $BENCH_NODE_ARGS (default: the image's flags); every output line is kept (and appended to $BENCH_LOG when set). */
export const runCollector = (cwd, o = {}) =>
  tk.runCollector(cwd, { main: distMain, logFile: process.env.BENCH_LOG, nodeArgs: (process.env.BENCH_NODE_ARGS ?? IMAGE_NODE_ARGS).split(' ').filter(Boolean), ...o });

/** utime+stime of a process in seconds (/proc/<pid>/stat, clock ticks of 10 ms). */
export function cpuSeconds(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

function rssKb(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(s);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Private memory (USS: Private_Clean + Private_Dirty of /proc/<pid>/smaps_rollup, kB): what the
 * process costs on top of the pages it shares with every other node process on the host (the node
 * binary's text, ~34 MB of each VmRSS here). An MSSP running dozens of collectors pays this per
 * process, plus the shared pages once.
 */
function ussKb(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const clean = /Private_Clean:\s+(\d+) kB/.exec(s);
    const dirty = /Private_Dirty:\s+(\d+) kB/.exec(s);
    return clean && dirty ? Number(clean[1]) + Number(dirty[1]) : null;
  } catch {
    return null;
  }
}

/** Samples VmRSS (key `name`) and USS (key `nameUss`) of the named pids every `periodMs`; `pids()` may change (restarts). */
export function startRssSampler(pids, periodMs = 200) {
  const samples = [];
  const t = setInterval(() => {
    const p = pids();
    const row = { t: performance.now() };
    let total = 0;
    let totalUss = 0;
    for (const [k, pid] of Object.entries(p)) {
      const v = pid ? rssKb(pid) : null;
      const u = pid ? ussKb(pid) : null;
      row[k] = v;
      row[`${k}Uss`] = u;
      if (v) total += v;
      if (u) totalUss += u;
    }
    row.total = total;
    row.totalUss = totalUss;
    samples.push(row);
  }, periodMs);
  return {
    samples,
    stop: () => clearInterval(t),
    summary(fromT = 0, toT = Infinity) {
      const sel = samples.filter((s) => s.t >= fromT && s.t <= toT);
      const keys = Object.keys(sel[0] ?? {}).filter((k) => k !== 't');
      const out = {};
      for (const k of keys) {
        const vals = sel.map((s) => s[k]).filter((v) => v);
        if (!vals.length) continue;
        const sorted = [...vals].sort((a, b) => a - b);
        out[k] = {
          peakMB: Math.max(...vals) / 1024,
          medianMB: sorted[Math.floor(sorted.length / 2)] / 1024,
          lastMB: vals[vals.length - 1] / 1024,
        };
      }
      out.n = sel.length;
      return out;
    },
  };
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function machineInfo() {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  let commit = 'unknown';
  let dirty = false;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot }).toString().trim();
    dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages'], { cwd: repoRoot }).toString().trim().length > 0;
  } catch {
    // not a git checkout: the report carries no commit
  }
  return {
    nproc: os.cpus().length,
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    cpu,
    node: process.version,
    kernel: os.release(),
    commit: dirty ? `${commit} (+ uncommitted changes in packages/)` : commit,
    date: new Date().toISOString(),
  };
}

/** VmRSS (MB) of an empty Node process after 2 s, plain (and its USS) and with the flags the supervisor gives its workers. */
export async function emptyNodeRss() {
  const flags = ['--expose-gc', '--max-semi-space-size=2', '--optimize-for-size'];
  const one = async (args, env = {}) => {
    const p = spawn(process.execPath, [...args, '-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore', env: { ...process.env, ...env } });
    await sleep(2000);
    const kb = rssKb(p.pid);
    const uss = ussKb(p.pid);
    p.kill();
    return { rss: kb / 1024, uss: uss / 1024 };
  };
  const plain = await one([]);
  return { plain: plain.rss, plainUss: plain.uss, withFlags: (await one(flags, { MALLOC_MMAP_THRESHOLD_: '131072' })).rss, flags: `${flags.join(' ')}, MALLOC_MMAP_THRESHOLD_=131072` };
}
