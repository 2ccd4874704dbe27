/**
 * When a frame counts as delivered (confirm-rule.ts): the drain rule, the clean close that
 * confirms the tail, and a receiver that accepts TLS and never reads (stall), against real
 * mutual-TLS sockets.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatBatch, splitFrameLines } from '../src/format.js';
import { textRecords } from '@devo-collector/common';
import { openSpool, type Spool } from '../src/spool.js';
import { createSocketSender } from '../src/senders/socket-connect.js';
import type { Sender } from '../src/senders/types.js';
import { generateTestCerts, type TestCerts, startTlsReceiver, type TlsReceiver, outputConfig } from '@devo-collector/testkit';
import { captureLogs, testLogger } from './helpers/log-capture.js';

let certs: TestCerts;
let logs: ReturnType<typeof captureLogs>;
const cleanups: Array<() => Promise<void>> = [];
beforeAll(() => {
  certs = generateTestCerts();
});
beforeEach(() => {
  logs = captureLogs();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  logs.stop();
});

const FAST = { baseMs: 100, capMs: 400 };
const AT = Date.UTC(2024, 4, 1, 12, 0, 0, 0);
const NAME = 'DevoSender(standard_senders,devo_sender_0)';

async function spool(): Promise<Spool> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'confirm-'));
  const s = (await openSpool({ type: 'filesystem', dir, name: 's', maxBytes: 1 << 30, logger: testLogger('Spool'), checkpointIntervalMs: 20 })).spool;
  cleanups.push(() => s.close());
  return s;
}

/** Records `{"n":i,"pad":"..."}` of about `recordBytes`, `perBatch` to a frame. */
async function appendRecords(s: Spool, count: number, recordBytes = 100, perBatch = 10): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < count; i += perBatch) {
    const records = Array.from({ length: Math.min(perBatch, count - i) }, (_, k) => JSON.stringify({ n: i + k, pad: 'x'.repeat(Math.max(0, recordBytes - 60)) }));
    const payload = formatBatch({ tag: 'my.app.test.stall', ...textRecords(records), createdAtMs: AT }, 'h', false);
    bytes += payload.length;
    await s.append(payload, records.length);
  }
  return bytes;
}

const numbers = (r: TlsReceiver): number[] => splitFrameLines(r.bytes()).map((l) => (JSON.parse(l.slice(l.indexOf(': ') + 2)) as { n: number }).n);

function sender(s: Spool, port: number, over: { stallTimeoutMs?: number; peerReceiveBufferBytes?: number; quietMs?: number } = {}): Sender {
  const output = outputConfig({
    port,
    chainPath: certs.caPath,
    certPath: certs.clientCertPath,
    keyPath: certs.clientKeyPath,
    stallTimeoutMs: over.stallTimeoutMs ?? 60_000,
    ...(over.peerReceiveBufferBytes ? { peerReceiveBufferBytes: over.peerReceiveBufferBytes } : {}),
  });
  const x = createSocketSender({ name: NAME, output, spool: s, logger: testLogger(NAME), quietMs: over.quietMs, backoff: FAST }, true);
  cleanups.push(() => x.stop(Date.now() + 3_000));
  return x;
}

async function receiver(port = 0, neverRead = false): Promise<TlsReceiver> {
  const r = await startTlsReceiver(certs, port, { neverRead });
  cleanups.push(() => r.stop());
  return r;
}

describe('the drain rule', () => {
  it('confirms a frame once the peer acknowledged more than its receive buffer beyond it; the tail stays unconfirmed on an open connection', async () => {
    const rx = await receiver();
    const s = await spool();
    const margin = 2 * 1024 * 1024;
    // ~24 MB in frames of ~32 KB; no quiet close during the test.
    const total = await appendRecords(s, 24_000, 1_000, 32);
    const frame = Math.ceil(total / 750);
    const tx = sender(s, rx.port, { peerReceiveBufferBytes: margin, quietMs: 60_000 });
    tx.start();
    await rx.waitFor(() => rx.bytes().length >= total, 30_000);
    // Everything is acknowledged now: all but the last `margin` bytes get confirmed, nothing more.
    await expect.poll(() => total - s.stats().settledBytes, { timeout: 10_000, interval: 50 }).toBeLessThan(margin + 2 * frame);
    expect(total - s.stats().settledBytes).toBeGreaterThanOrEqual(margin);
    expect(tx.status().is_connection_open).toBe(true);
    expect(rx.connections).toBe(1);
    expect(tx.health()).toEqual({ state: 'ok' });
  });
});

describe('the quiet close', () => {
  it('confirms the tail by a clean close once nothing was written for the quiet period', async () => {
    const rx = await receiver();
    const s = await spool();
    await appendRecords(s, 100, 1_000);
    const tx = sender(s, rx.port, { quietMs: 1_500 });
    tx.start();
    await rx.waitFor((t) => t.includes('{"n":99,'));
    // 100 KB, far below the 8 MiB margin: only a clean close can confirm it, and it is not due yet.
    expect(s.stats().settledMessages).toBe(0);
    expect(tx.status().is_connection_open).toBe(true);
    await expect.poll(() => s.stats().settledMessages, { timeout: 10_000, interval: 50 }).toBe(100);
    expect(s.stats().pendingFrames).toBe(0);
    expect(tx.status().is_connection_open).toBe(false);
    expect(tx.counters().messages).toBe(100);
    expect(numbers(rx)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // More data later: a new connection, and its tail is confirmed the same way.
    await appendRecords(s, 100, 1_000);
    await expect.poll(() => s.stats().settledMessages, { timeout: 10_000, interval: 50 }).toBe(200);
    expect(rx.connections).toBe(2);
  });

  it('a tail too small for a handshake waits for the idle close, which confirms it too', async () => {
    const rx = await receiver();
    const s = await spool();
    await appendRecords(s, 10);
    const output = outputConfig({ port: rx.port, chainPath: certs.caPath, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath, idleReconnectMs: 2_500 });
    const tx = createSocketSender({ name: NAME, output, spool: s, logger: testLogger(NAME), quietMs: 200, backoff: FAST }, true);
    cleanups.push(() => tx.stop(Date.now() + 3_000));
    tx.start();
    await rx.waitFor((t) => t.includes('{"n":9,'));
    await new Promise((r) => setTimeout(r, 1_500)); // quiet time must pass with nothing settled: the point of the test
    expect(s.stats().settledMessages).toBe(0); // 1 KB: no quiet close
    expect(tx.status().is_connection_open).toBe(true);
    await expect.poll(() => s.stats().settledMessages, { timeout: 10_000, interval: 50 }).toBe(10);
    expect(tx.status().is_connection_open).toBe(false);
    expect(rx.connections).toBe(1);
  });
});

describe('a receiver that accepts TLS and never reads', () => {
  it('is reported stalled after the bound with nothing confirmed; replaced by a working receiver, every record arrives, none lost', async () => {
    const staller = await receiver(0, true);
    const port = staller.port;
    const s = await spool();
    // ~30 MB: far more than both socket buffers hold.
    const N = 30_000;
    await appendRecords(s, N, 1_000, 32);
    const tx = sender(s, port, { stallTimeoutMs: 1_500, quietMs: 200 });
    tx.start();
    await expect.poll(() => tx.health().state, { timeout: 20_000, interval: 50 }).toBe('stalled');
    const h = tx.health();
    if (h.state !== 'stalled') throw new Error('not stalled');
    expect(h.message).toMatch(/^127\.0\.0\.1:\d+ accepted no data for \d+ s/);
    expect(Date.now() - h.sinceMs).toBeGreaterThanOrEqual(1_500);
    const stallLine = logs.records.find((r) => r.level === 'error' && r.message.startsWith('OutputError(405)'));
    expect(stallLine?.message).toMatch(/^OutputError\(405\): 127\.0\.0\.1:\d+ accepted no data for \d+ s .*closing the connection/);
    // The peer's kernel took bytes; none of them counts as delivered.
    const acked = Number(/its kernel acknowledged (\d+) bytes/.exec(stallLine?.message ?? '')?.[1]);
    expect(acked).toBeGreaterThan(0);
    expect(s.stats().settledMessages).toBe(0);
    // Torn down and tried again (the backoff is 100-400 ms here).
    await expect.poll(() => staller.connections, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(2);
    expect(s.stats().settledMessages).toBe(0);
    expect(tx.health().state).toBe('stalled');

    // The stalled endpoint is reset (what its buffers held is gone) and a working one takes the port.
    await staller.stop();
    const rx = await receiver(port);
    await rx.waitFor((t) => t.includes(`{"n":${N - 1},`), 60_000);
    const got = numbers(rx);
    expect(new Set(got).size).toBe(N);
    expect([...new Set(got)].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    // Nothing the stalled peer's kernel took had been confirmed, so nothing reached the new one twice.
    expect(got.length).toBe(N);
    await expect.poll(() => tx.health().state, { timeout: 10_000, interval: 50 }).toBe('ok');
    await expect.poll(() => s.stats().settledMessages, { timeout: 10_000, interval: 50 }).toBe(N);
    expect(logs.records.some((r) => r.level === 'info' && /accepts data again after \d+ s/.test(r.message))).toBe(true);
  }, 90_000);

  it('with no connection possible, data waiting for the bound is stalled too (the last cause named); ok again once delivered', async () => {
    const rx = await receiver();
    const port = rx.port;
    await rx.stop();
    const s = await spool();
    await appendRecords(s, 100, 1_000);
    const tx = sender(s, port, { stallTimeoutMs: 1_000, quietMs: 200 });
    tx.start();
    await expect.poll(() => tx.health().state, { timeout: 10_000, interval: 50 }).toBe('stalled');
    const h = tx.health();
    expect(h.state === 'stalled' && h.message).toMatch(/accepted no data for \d+ s while data waits \(last connection attempt: connection refused\)/);
    await rx.start();
    await expect.poll(() => s.stats().settledMessages, { timeout: 10_000, interval: 50 }).toBe(100);
    expect(tx.health()).toEqual({ state: 'ok' });
  });
});
