/**
 * Disk full (ENOSPC) during a backfill, end to end: the persistence directory (state files, spool,
 * delivery ledger) is a small tmpfs, the mutual-TLS receiver is down while a backlog several times
 * the disk's size is pulled, so the spool fills the disk and its writes fail with ENOSPC. Then the
 * receiver comes up. Asserted: the collector keeps running (no worker restart, no collector
 * restart), pulling resumes by itself, every breach the simulator served up to the final cursor is
 * delivered (exact set, 0 missing), duplicates counted, the disk is reclaimed.
 *
 * Needs root (it mounts a tmpfs; CI runs as root). Without root this test FAILS with a clear
 * message instead of skipping, like the container test without podman.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { type Collector, dirBytes, makeWorkspace, settles, sleep, until, startTlsReceiver, type TestCerts, writeConfig } from '@devo-collector/testkit';
import {
  artifactsRoot, collectorConfig, duplicates, HOUR, makeCerts, PRIV, PUB, readState, recordFigure, runCollector, scanArtifacts, teardown, tlsOutput,
} from './helpers.js';

const DISK_MB = 8;
/** Days of history at PER_HOUR breaches an hour: a backlog several times DISK_MB once formatted. */
const DAYS = 6;
const PER_HOUR = 200;

interface ReadyBody {
  status: string;
  reasons: Array<{ component: string; state: string; id: string; message: string; since: string }>;
}

async function ready(base: string): Promise<{ status: number; body: ReadyBody }> {
  const r = await fetch(`${base}/ready`);
  return { status: r.status, body: (await r.json()) as ReadyBody };
}

/** The one-hot `output_state{output,state}` gauge value for `state`. */
async function outputState(base: string, state: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^output_state\\{[^}]*output="devo_1"[^}]*state="${state}"[^}]*\\} (\\S+)$`, 'm').exec(text)
    ?? new RegExp(`^output_state\\{[^}]*state="${state}"[^}]*output="devo_1"[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

let root: string;
let certs: TestCerts;
const mounts: string[] = [];

function mountTmpfs(dir: string, sizeMb: number): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}M,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  mounts.push(dir);
}

function diskUse(dir: string): { usedBytes: number; sizeBytes: number } {
  const out = execFileSync('df', ['-B1', '--output=used,size', dir], { encoding: 'utf8' }).trim().split('\n')[1]?.trim().split(/\s+/) ?? [];
  return { usedBytes: Number(out[0]), sizeBytes: Number(out[1]) };
}

beforeAll(() => {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      'test/reliability/disk-full.test.ts needs root: it mounts a small tmpfs (mount -t tmpfs) as the persistence directory. ' +
        'CI runs it as root; run it as root (or in the CI container), it is not skipped.',
    );
  }
  root = artifactsRoot('disk-full');
  certs = makeCerts(root);
});
afterAll(() => {
  for (const m of mounts.splice(0).reverse()) {
    try {
      execFileSync('umount', [m], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', m], { stdio: 'pipe' });
    }
  }
  if (!root) return;
  scanArtifacts('disk-full', root, [], certs);
});

describe('disk full on a small tmpfs', () => {
  it(`${DISK_MB} MiB persistence disk, receiver down during a ${DAYS}-day backfill: ENOSPC survived, everything delivered, no restart`, async () => {
    const startMs = Math.floor((Date.now() - DAYS * 24 * HOUR) / 1000) * 1000;
    const sim: Simulator = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 4242, dataStartMs: startMs, modelBreachesPerHour: PER_HOUR });
    const rx = await startTlsReceiver(certs);
    await rx.stop(); // down from the start; it listens again on the same port later
    const ws = makeWorkspace(path.join(root, 'ws'));
    const stateDir = path.join(ws, 'state');
    mountTmpfs(stateDir, DISK_MB);
    writeConfig(ws, collectorConfig({
      simUrl: sim.url,
      services: { modelbreaches: { start_time_in_utc_format: new Date(startMs).toISOString().slice(0, 19), request_period_in_seconds: 5 } },
      outputs: tlsOutput(rx.port, certs),
      globals: { web_service: { enabled: true, host: '127.0.0.1', port: 0 } },
    }));
    const t0 = Date.now();
    const c: Collector = runCollector(ws);
    try {
      await c.waitFor(/Started all objects from "MainProcess" process/, 60_000);
      const base = `http://127.0.0.1:${/:(\d+)$/.exec(await c.waitFor(/Starting WebServiceThread, ip-port: [\d.]+:(\d+)/, 30_000))![1]}`;
      // The spool fills the disk: its writes fail with ENOSPC and the batches are refused.
      const blockedLine = await c.waitFor(/OutputProcess::.*Spool devo_1\/standard cannot write \(.*ENOSPC/, 240_000);
      expect(blockedLine).toContain(stateDir);
      const tFull = Date.now();
      const full = diskUse(stateDir);
      // Readiness says why: 503, the output blocked with OutputError(402) naming ENOSPC and the directory.
      const notReady = await until(async () => {
        const r = await ready(base);
        const reason = r.body.reasons.find((x) => x.component === 'output:devo_1' && x.state === 'blocked' && x.id === 'OutputError(402)');
        return r.status === 503 && reason ? { ...r, reason } : undefined;
      }, 15_000, '/ready 503 with output:devo_1 blocked OutputError(402)');
      expect(notReady.reason.message).toContain('ENOSPC');
      expect(notReady.reason.message).toContain(path.join(stateDir, 'spool'));
      const blockedGauge = await until(async () => ((await outputState(base, 'blocked')) === 1 ? 1 : undefined), 15_000, 'output_state blocked 1');
      // It stays that way while the receiver is down: pulling pauses, nothing crashes.
      const linesAtFull = c.lines.length;
      await sleep(10_000);
      const cursorWhileFull = readState(ws, 'modelbreaches')?.['cursor_ms'] as number | undefined;
      // Rejection lines are rate-limited (one per 10 s, with the count of the others).
      const rejectLines = c.lines.slice(linesAtFull).filter((l) => /Batch \S+ rejected by the output \(OutputError\(402\)/.test(l));
      const refused = rejectLines.reduce((n, l) => n + 1 + Number(/and (\d+) more rejections/.exec(l)?.[1] ?? 0), 0);
      expect(c.proc.exitCode).toBeNull();
      expect(c.lines.some((l) => /exited unexpectedly/.test(l))).toBe(false);
      expect(sim.expectedIds('modelbreaches').length).toBeGreaterThan(0);

      const blockedEpisodes = c.lines.filter((l) => /Spool devo_1\/standard cannot write/.test(l)).length;
      const linesAtUp = c.lines.length;
      await rx.start();
      const tUp = Date.now();
      // Draining frees the disk, the refused batches go in, the backfill completes by itself.
      await c.waitFor(/OutputProcess::.*Spool devo_1\/standard: writing again after/, 180_000, linesAtUp);
      const tWriting = Date.now();
      await c.waitFor(/modelbreaches#predefined\) -> Received response, messages/, 420_000);
      const cursor = readState(ws, 'modelbreaches')?.['cursor_ms'] as number;
      const expected = sim.expectedIds('modelbreaches', cursor);
      const ok = await settles(() => expected.every((id) => rx.ids.has(id)), 180_000, 200);
      const tAll = Date.now();
      const missing = expected.filter((id) => !rx.ids.has(id));
      const spoolDir = path.join(stateDir, 'spool');
      // Ready again once the disk has room: 200, no reasons, the output ok.
      const back = await until(async () => {
        const r = await ready(base);
        return r.status === 200 ? r : undefined;
      }, 60_000, '/ready back to 200');
      expect(back.body.reasons).toEqual([]);
      const tReady = Date.now();
      expect(await outputState(base, 'ok')).toBe(1);
      expect(await outputState(base, 'blocked')).toBe(0);
      // Reclaimed: what is left of the spool once everything is sent is at most its active segments.
      await expect.poll(() => dirBytes(spoolDir), { timeout: 30_000, interval: 200 }).toBeLessThan(full.usedBytes / 2);
      const after = diskUse(stateDir);
      const spoolBytesAfter = dirBytes(spoolDir);
      const log = c.lines.join('\n');
      const refusedTotal = c.lines
        .filter((l) => /Batch \S+ rejected by the output \(OutputError\(402\)/.test(l))
        .reduce((n, l) => n + 1 + Number(/and (\d+) more rejections/.exec(l)?.[1] ?? 0), 0);
      const fig = {
        diskMiB: DISK_MB, backlogRecords: expected.length, receivedBytes: rx.lines.reduce((n, l) => n + l.length + 1, 0),
        fullAfterS: (tFull - t0) / 1000, diskUsedAtFull: full.usedBytes, diskSize: full.sizeBytes,
        cursorHoursWhileFull: cursorWhileFull ? +((cursorWhileFull - startMs) / HOUR).toFixed(1) : null,
        refusedBatches: refusedTotal, rejectLinesIn10s: rejectLines.length, rejectionsIn10s: refused,
        readyReason: `${notReady.reason.id}: ${notReady.reason.message.slice(0, 160)}`, blockedGauge,
        readyAgainAfterUpS: (tReady - tUp) / 1000, blockedEpisodesWhileDown: blockedEpisodes,
        blockedEpisodesTotal: c.lines.filter((l) => /Spool devo_1\/standard cannot write/.test(l)).length,
        writingAgainAfterUpS: (tWriting - tUp) / 1000, allDeliveredAfterUpS: (tAll - tUp) / 1000,
        expected: expected.length, delivered: rx.ids.size, missing: missing.length, duplicates: duplicates(rx.ids),
        duplicatePct: +((100 * duplicates(rx.ids)) / Math.max(1, expected.length)).toFixed(3),
        diskUsedAfter: after.usedBytes, spoolBytesAfter,
        enospcLines: (log.match(/ENOSPC/g) ?? []).length,
        ledgerErrors: (log.match(/OutputError\(411\)/g) ?? []).length, checkpointErrors: (log.match(/OutputError\(410\)/g) ?? []).length,
        stateErrors: (log.match(/RuntimeError\(520\)/g) ?? []).length,
        processStarts: (log.match(/Process started \(pid=/g) ?? []).length,
      };
      recordFigure('disk full', fig);
      expect(ok).toBe(true);
      expect(missing).toEqual([]);
      // No worker was restarted, the collector was never restarted: one start of each process.
      expect(c.lines.filter((l) => /InputProcess::MainThread -> Process started/.test(l))).toHaveLength(1);
      expect(c.lines.filter((l) => /OutputProcess::MainThread -> Process started/.test(l))).toHaveLength(1);
      expect(c.lines.some((l) => /exited unexpectedly/.test(l))).toBe(false);
      expect(spoolBytesAfter).toBeLessThan(full.usedBytes / 2);
      expect((await c.stop()).code).toBe(0);
    } finally {
      await teardown(c, rx, sim);
    }
  }, 900_000);
});
