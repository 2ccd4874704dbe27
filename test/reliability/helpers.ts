/**
 * Shared helpers of the reliability suite: distinctive tokens, the collector's configuration and
 * outputs, the real collector (dist/main.js, testkit's runner) with its log lines saved to a file,
 * a seeded RNG, and the secret scan run at the end of every file over everything that file
 * produced. Certificates, receivers and polling come from packages/testkit.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { mulberry32 } from '@devo-collector/darktrace-sim';
import { generateTestCerts, runCollector as run, type Collector, type TestCerts } from '@devo-collector/testkit';

/** Distinctive tokens: any occurrence outside the config file is a leak. */
export const PUB = 'RELTEST-PUBLIC-9d41c7ab2e83';
export const PRIV = 'RELTEST-PRIVATE-5e08f3b61c27';
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

/** The shared test certificates under `root`/certs-gen (the secret scan skips that directory). */
export const makeCerts = (root: string): TestCerts => generateTestCerts({ dir: path.join(root, 'certs-gen') });

/** The re-send bound of kill9 and gzip: peer_receive_buffer_in_mb's default (the drain rule's margin), */
export const PEER_RECEIVE_BUFFER = 8 * 1024 * 1024;
/** what is written between two reads of the send queue (250 ms) at these tests' rates (≤ 16 MB/s), */
export const POLL_WRITES = 4 * 1024 * 1024;
/** and the most bytes our kernel may hold unacknowledged on a socket (tcp_wmem max; 4 MiB by default). */
export function sendBufferMax(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/)[2]) || 4 * 1024 * 1024;
  } catch {
    return 4 * 1024 * 1024;
  }
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

export function tlsOutput(port: number, c: TestCerts): Dict {
  return { devo_1: { type: 'devo_platform', config: { address: '127.0.0.1', port, chain: c.caPath, cert: c.clientCertPath, key: c.clientKeyPath } } };
}

/** dist/main.js in `cwd`; every line is kept and appended to `<cwd>/collector.log`. */
export const runCollector = (cwd: string, args?: string[]): Collector => run(cwd, { args, logFile: path.join(cwd, 'collector.log') });

/** The persisted state document of one service (cursor_ms, seen ...). */
export function readState(workspace: string, service: string): Dict | null {
  const dir = path.join(workspace, 'state');
  if (!existsSync(dir)) return null;
  const f = readdirSync(dir).find((n) => n.endsWith(`;${service}.json`));
  return f ? (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Dict) : null;
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
function secretScan(roots: string[], texts: Array<{ name: string; text: string }>, keyFiles: string[] = []): ScanResult {
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


/**
 * The end of every file: the secret scan over `root` and `texts` (and the certificates' private
 * keys), its figure recorded, no leak; `root` removed unless KEEP_ARTIFACTS is set.
 */
export function scanArtifacts(name: string, root: string, texts: Array<{ name: string; text: string }> = [], certs?: TestCerts): void {
  const scan = secretScan([root], texts, certs ? [certs.clientKeyPath, certs.serverKeyPath] : []);
  recordFigure(`${name} secret scan`, scan);
  expect(scan.leaks).toEqual([]);
  if (!process.env['KEEP_ARTIFACTS']) rmSync(root, { recursive: true, force: true });
}

/** The end of every scenario, whatever failed: the collector, the receivers and the simulator stop, in that order. */
export async function teardown(...parts: Array<{ stop(): Promise<unknown> } | { close(): Promise<unknown> } | undefined>): Promise<void> {
  for (const p of parts) if (p) await ('stop' in p ? p.stop() : p.close());
}
