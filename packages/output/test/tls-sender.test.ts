import { copyFileSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatBatch, splitFrameLines } from '../src/format.js';
import { backoffDelayMs, textRecords } from '@devo-collector/common';
import { openSpool, type Spool } from '../src/spool.js';
import { DEFAULT_BACKOFF, describeSocketError, isPermanent } from '../src/senders/delivery.js';
import { connectorFor, createSocketSender } from '../src/senders/socket-connect.js';
import { generateTestCerts, type TestCerts, startTlsReceiver, type TlsReceiver, outputConfig } from '@devo-collector/testkit';
import { captureLogs, testLogger } from './helpers/log-capture.js';

let certs: TestCerts;
let logs: ReturnType<typeof captureLogs>;
beforeAll(() => {
  certs = generateTestCerts();
});
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => logs.stop());

const FAST = { baseMs: 100, capMs: 400 };
const AT = Date.UTC(2024, 4, 1, 12, 0, 0, 0);

async function spoolIn(dir: string): Promise<Spool> {
  return (await openSpool({ type: 'filesystem', dir, name: 's', maxBytes: 64 << 20, logger: testLogger('Spool'), checkpointIntervalMs: 20 })).spool;
}

async function appendRecords(spool: Spool, from: number, to: number, perBatch = 10): Promise<void> {
  for (let i = from; i < to; i += perBatch) {
    const records = Array.from({ length: Math.min(perBatch, to - i) }, (_, k) => JSON.stringify({ n: i + k }));
    await spool.append(formatBatch({ tag: 'my.app.test.tls', ...textRecords(records), createdAtMs: AT }, 'devo-collector-host', false), records.length);
  }
}

const received = (r: TlsReceiver): number[] =>
  splitFrameLines(r.bytes()).map((l) => (JSON.parse(l.slice(l.indexOf(': ') + 2)) as { n: number }).n);

describe('a failed connection', () => {
  it('is permanent only for a programming error; otherwise retried after the default 2 s -> 60 s backoff', () => {
    expect(isPermanent(new TypeError('bad'))).toBe(true);
    expect(isPermanent(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' }))).toBe(true);
    expect(isPermanent(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isPermanent(Object.assign(new Error('x'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }))).toBe(false);
    expect(backoffDelayMs(0, DEFAULT_BACKOFF, () => 1)).toBe(2_000);
    // The third attempt: 8 s, jittered down to half (common's table test).
    expect(backoffDelayMs(2, DEFAULT_BACKOFF, () => 0)).toBe(4_000);
    expect(describeSocketError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('connection refused');
    expect(describeSocketError(Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }))).toMatch(
      /^certificate not trusted: chain verification failed/,
    );
  });

  it('a TLS handshake that never completes fails after the connect timeout (ETIMEDOUT, the socket destroyed); a refused TCP connect at once', async () => {
    const sockets: net.Socket[] = [];
    let closed = 0;
    // Accepts TCP, reads and ignores the ClientHello, never answers.
    const silent = net.createServer((s) => {
      sockets.push(s);
      s.on('close', () => closed++).on('error', () => undefined).resume();
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const out = outputConfig({ port, chainPath: certs.caPath, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath });
      const startedAt = Date.now();
      const err = await connectorFor(out, true)(300).then(() => null, (e: unknown) => e as NodeJS.ErrnoException);
      expect(err).toMatchObject({ code: 'ETIMEDOUT', message: 'no TLS handshake within 300 ms' });
      expect(describeSocketError(err)).toBe('timeout');
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
      await expect.poll(() => closed, { timeout: 5_000, interval: 20 }).toBe(1); // our end destroyed it
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
    await expect(connectorFor(outputConfig({ type: 'relay', port }), false)(1_000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('TLS sender against a byte-capturing mutual-TLS receiver', () => {
  let receiver: TlsReceiver;
  afterEach(async () => receiver?.stop());

  it('delivers every record exactly once, in order, byte-exact', async () => {
    receiver = await startTlsReceiver(certs);
    const spool = await spoolIn(mkdtempSync(path.join(os.tmpdir(), 'tls-')));
    const out = outputConfig({ port: receiver.port, chainPath: certs.caPath, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath });
    const sender = createSocketSender({ name: 'DevoSender(standard_senders,devo_sender_0)', output: out, spool, logger: testLogger(), quietMs: 200, backoff: FAST }, true);
    await appendRecords(spool, 0, 1000);
    sender.start();
    await receiver.waitFor((t) => t.endsWith('{"n":999}\n'));
    expect(received(receiver)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(receiver.text().split('\n')[0]).toBe('<14>2024-05-01 12:00:00.000 devo-collector-host my.app.test.tls: {"n":0}');
    expect(sender.status().is_connection_open).toBe(true);
    await sender.stop(Date.now() + 5_000);
    expect(spool.stats().pendingFrames).toBe(0);
    expect(sender.counters().messages).toBe(1000);
    await spool.close();
  });

  it('concurrency 3: three connections drain one spool, every record exactly once', async () => {
    receiver = await startTlsReceiver(certs);
    const spool = await spoolIn(mkdtempSync(path.join(os.tmpdir(), 'tls-')));
    const out = outputConfig({ port: receiver.port, chainPath: certs.caPath, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath });
    // No quiet close during the test (the shutdown's clean close confirms): with one, a sender whose
    // TLS handshake takes longer than PROVE_MS + quietMs (1.1 s, a loaded machine) gives its first
    // frame back while the first sender has already closed its tail, and that sender reconnects for
    // it: a 4th connection, every record still exactly once.
    const senders = [0, 1, 2].map((i) =>
      createSocketSender({ name: `DevoSender(standard_senders,devo_sender_${i})`, output: out, spool, logger: testLogger(), quietMs: 10_000, backoff: FAST }, true),
    );
    await appendRecords(spool, 0, 3000);
    for (const s of senders) s.start();
    await receiver.waitFor(() => received(receiver).length >= 3000);
    await Promise.all(senders.map((s) => s.stop(Date.now() + 5_000)));
    const got = received(receiver);
    expect(got.length).toBe(3000);
    expect(new Set(got).size).toBe(3000);
    expect(receiver.connections).toBe(3);
    expect(spool.stats().pendingFrames).toBe(0);
    await spool.close();
  });

  it('a 1 MB record arrives whole', async () => {
    receiver = await startTlsReceiver(certs);
    const spool = await spoolIn(mkdtempSync(path.join(os.tmpdir(), 'tls-')));
    const out = outputConfig({ port: receiver.port, chainPath: certs.caPath, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath });
    const sender = createSocketSender({ name: 'DevoSender(standard_senders,devo_sender_0)', output: out, spool, logger: testLogger(), quietMs: 200, backoff: FAST }, true);
    const big = JSON.stringify({ n: 0, blob: 'x'.repeat(1024 * 1024) });
    await spool.append(formatBatch({ tag: 'my.app.big', ...textRecords([big]), createdAtMs: AT }, 'h', false), 1);
    sender.start();
    await receiver.waitFor((t) => t.endsWith('\n'));
    expect(receiver.text()).toBe(`<14>2024-05-01 12:00:00.000 h my.app.big: ${big}\n`);
    await sender.stop(Date.now() + 5_000);
    await spool.close();
  });

  it('wrong chain CA: nothing delivered, the cause is logged; after fixing chain.crt everything arrives', async () => {
    receiver = await startTlsReceiver(certs);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tls-'));
    const chain = path.join(dir, 'chain.crt');
    copyFileSync(certs.otherCaPath, chain);
    const spool = await spoolIn(path.join(dir, 'spool'));
    const out = outputConfig({ port: receiver.port, chainPath: chain, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath });
    const sender = createSocketSender({ name: 'DevoSender(standard_senders,devo_sender_0)', output: out, spool, logger: testLogger('DevoSender(standard_senders,devo_sender_0)'), quietMs: 200, backoff: FAST }, true);
    await appendRecords(spool, 0, 100);
    sender.start();
    await vi.waitFor(() => expect(logs.records.some((r) => r.level === 'error' && r.message.includes('failed'))).toBe(true), { timeout: 10_000, interval: 20 });
    expect(receiver.bytes().length).toBe(0);
    const err = logs.records.find((r) => r.level === 'error' && r.message.includes('failed'));
    expect(err?.message).toMatch(/^Connection to 127\.0\.0\.1:\d+ failed: certificate not trusted: chain verification failed/);
    expect(logs.records.every((r) => !r.message.includes('PRIVATE KEY'))).toBe(true);
    copyFileSync(certs.caPath, chain); // the operator installs the right chain
    await receiver.waitFor((t) => t.endsWith('{"n":99}\n'));
    expect(received(receiver)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await sender.stop(Date.now() + 5_000);
    await spool.close();
  });

  it('receiver killed and restarted mid-stream: nothing lost (duplicates only from the unconfirmed tail)', async () => {
    receiver = await startTlsReceiver(certs);
    const spool = await spoolIn(mkdtempSync(path.join(os.tmpdir(), 'tls-')));
    const out = outputConfig({ port: receiver.port, chainPath: certs.caPath, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath });
    const sender = createSocketSender({ name: 'DevoSender(standard_senders,devo_sender_0)', output: out, spool, logger: testLogger(), quietMs: 500, backoff: FAST }, true);
    sender.start();
    const N = 20_000;
    const feeding = (async () => {
      for (let i = 0; i < N; i += 100) {
        await appendRecords(spool, i, i + 100, 100);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await receiver.waitFor((t) => t.length > 200_000);
    await receiver.stop();
    const before = received(receiver).length;
    await new Promise((r) => setTimeout(r, 300)); // the receiver stays down a while: the point of the test
    await receiver.start();
    await feeding;
    await receiver.waitFor((t) => t.endsWith(`{"n":${N - 1}}\n`), 30_000);
    const got = received(receiver);
    const unique = new Set(got);
    expect(unique.size).toBe(N);
    const duplicates = got.length - unique.size;
    // Duplicates come only from the unconfirmed tail (written in the settle window before the kill).
    expect(duplicates).toBeLessThanOrEqual(before);
    const firsts = got.filter((n, i) => got.indexOf(n) === i);
    const firstBreak = firsts.findIndex((n, i) => n !== i);
    if (firstBreak >= 0) console.info(`order breaks at ${firstBreak}: ${JSON.stringify(firsts.slice(Math.max(0, firstBreak - 3), firstBreak + 8))}, before=${before}`);
    expect(firsts).toEqual(Array.from({ length: N }, (_, i) => i));
    console.info(`receiver restart: ${before} lines before the kill, ${got.length} total, ${duplicates} duplicates, ${receiver.connections} connections`);
    await sender.stop(Date.now() + 5_000);
    expect(spool.stats().pendingFrames).toBe(0);
    await spool.close();
  });
});

