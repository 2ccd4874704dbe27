import { copyFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatBatch } from '../src/format.js';
import { textRecords } from '@devo-collector/common';
import { openSpool, type Spool } from '../src/spool.js';
import { createSocketSender } from '../src/senders/socket-connect.js';
import { generateTestCerts, type TestCerts, outputConfig } from '@devo-collector/testkit';
import { captureLogs, testLogger } from './helpers/log-capture.js';
import { rsyslogAvailable, startRsyslog, type Rsyslog } from './helpers/rsyslog.js';

const FAST = { baseMs: 100, capMs: 500 };
const AT = Date.UTC(2024, 4, 1, 12, 0, 0, 0);
let certs: TestCerts;
let rsyslog: Rsyslog;
let logs: ReturnType<typeof captureLogs>;

async function spoolWith(n: number, dir: string): Promise<Spool> {
  const { spool } = await openSpool({ type: 'filesystem', dir, name: 's', maxBytes: 64 << 20, logger: testLogger(), checkpointIntervalMs: 20 });
  for (let i = 0; i < n; i += 50) {
    const records = Array.from({ length: Math.min(50, n - i) }, (_, k) => JSON.stringify({ n: i + k, s: 'café ☃' }));
    await spool.append(formatBatch({ tag: 'my.app.test.rsyslog', ...textRecords(records), createdAtMs: AT }, 'devo-collector-host', false), records.length);
  }
  return spool;
}

const numbers = (lines: string[]): number[] => lines.map((l) => (JSON.parse(l.slice(l.indexOf(': {') + 2)) as { n: number }).n);

describe.skipIf(!rsyslogAvailable())('TLS sender against rsyslog (imtcp + gtls, x509/certvalid)', () => {
  beforeAll(async () => {
    certs = generateTestCerts();
    rsyslog = await startRsyslog(certs);
  });
  afterAll(async () => rsyslog?.stop());
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => logs.stop());

  it('mutual TLS: every record arrives, in order, unaltered', async () => {
    const before = rsyslog.lines().length;
    const spool = await spoolWith(500, mkdtempSync(path.join(os.tmpdir(), 'rs-')));
    const out = outputConfig({ port: rsyslog.port, chainPath: certs.caPath, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath });
    const sender = createSocketSender({ name: 'DevoSender(standard_senders,devo_sender_0)', output: out, spool, logger: testLogger(), quietMs: 200, backoff: FAST }, true);
    sender.start();
    const lines = (await rsyslog.waitForLines(before + 500)).slice(before);
    expect(numbers(lines)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(lines[0]).toBe('<14>2024-05-01 12:00:00.000 devo-collector-host my.app.test.rsyslog: {"n":0,"s":"café ☃"}');
    await sender.stop(Date.now() + 5_000);
    expect(spool.stats().pendingFrames).toBe(0);
    await spool.close();
  });

  it('wrong chain CA: nothing arrives and the cause is logged; after fixing the chain every record arrives', async () => {
    const before = rsyslog.lines().length;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rs-'));
    const chain = path.join(dir, 'chain.crt');
    copyFileSync(certs.otherCaPath, chain);
    const spool = await spoolWith(200, path.join(dir, 'spool'));
    const out = outputConfig({ port: rsyslog.port, chainPath: chain, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath });
    const sender = createSocketSender({ name: 'DevoSender(standard_senders,devo_sender_0)', output: out, spool, logger: testLogger(), quietMs: 200, backoff: FAST }, true);
    sender.start();
    await vi.waitFor(() => expect(logs.records.some((r) => r.level === 'error' && /certificate not trusted: chain verification failed/.test(r.message))).toBe(true), { timeout: 10_000, interval: 20 });
    expect(rsyslog.lines().length).toBe(before);
    copyFileSync(certs.caPath, chain);
    const lines = (await rsyslog.waitForLines(before + 200)).slice(before);
    expect(numbers(lines)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await sender.stop(Date.now() + 5_000);
    await spool.close();
  });

  it('a client certificate from another CA is dropped by rsyslog: nothing arrives, data stays spooled', async () => {
    const before = rsyslog.lines().length;
    const spool = await spoolWith(50, mkdtempSync(path.join(os.tmpdir(), 'rs-')));
    const out = outputConfig({ port: rsyslog.port, chainPath: certs.caPath, certPath: certs.rogueClientCertPath, keyPath: certs.rogueClientKeyPath });
    const sender = createSocketSender({ name: 'DevoSender(standard_senders,devo_sender_0)', output: out, spool, logger: testLogger(), quietMs: 300, backoff: FAST }, true);
    sender.start();
    await vi.waitFor(() => expect(logs.records.some((r) => r.level === 'error' && /lost|failed/.test(r.message))).toBe(true), { timeout: 10_000, interval: 20 });
    expect(rsyslog.lines().length).toBe(before);
    await sender.stop(Date.now() + 2_000);
    expect(spool.stats().pendingMessages).toBe(50);
    expect(logs.records.some((r) => r.level === 'error' && /lost|failed/.test(r.message))).toBe(true);
    await spool.close();
  });
});
