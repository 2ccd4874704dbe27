import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventBatch } from '@devo-collector/common';
import { splitFrameLines } from '../src/format.js';
import { generateTestCerts, sampleBatch, type TestCerts, startTlsReceiver, type TlsReceiver, compiledConfig, outputConfig } from '@devo-collector/testkit';
import { forkOutputWorker, type ForkedWorker } from './helpers/fork-worker.js';

const TUNING = { quietMs: 300, checkpointIntervalMs: 50, backoff: { baseMs: 100, capMs: 500 } };
let certs: TestCerts;
let receiver: TlsReceiver | undefined;
let workers: ForkedWorker[] = [];

beforeAll(() => {
  certs = generateTestCerts();
});
afterEach(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  workers = [];
  await receiver?.stop();
  receiver = undefined;
});

function spawnWorker(): ForkedWorker {
  const w = forkOutputWorker(TUNING);
  workers.push(w);
  return w;
}

function batch(seq: number, size: number): EventBatch {
  return sampleBatch(seq, Array.from({ length: size }, (_, k) => JSON.stringify({ b: seq, n: seq * size + k })), {
    createdAtMs: Date.UTC(2024, 10, 19, 11, 32, 18, 861),
  });
}

const numbersAt = (r: TlsReceiver): number[] =>
  splitFrameLines(r.bytes())
    .filter((l) => l.includes(' edr.darktrace.respond.model_breach: '))
    .map((l) => (JSON.parse(l.slice(l.indexOf(': {') + 2)) as { n: number }).n);

function tlsOutput(port: number, over = {}) {
  return outputConfig({ port, chainPath: certs.caPath, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath, ...over });
}

describe('OutputProcess forked for real', () => {
  it('init -> ready (with its lane) -> batches on the lane -> batch-ack (in order) -> shutdown -> stopped, exit 0; records arrive', async () => {
    receiver = await startTlsReceiver(certs);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outw-'));
    const w = spawnWorker();
    w.send({ type: 'init', config: compiledConfig(dir, [tlsOutput(receiver.port)]), validateOnly: false });
    await w.waitFor('ready');
    for (let i = 0; i < 20; i++) w.sendBatch(batch(i, 50));
    await w.waitForAck('modelbreaches:19');
    const acks = w.acks.filter((a) => a.type === 'batch-ack').map((a) => a.batchId);
    expect(acks).toEqual(Array.from({ length: 20 }, (_, i) => `modelbreaches:${i}`));
    await receiver.waitFor((t) => t.includes('"n":999}'));
    w.send({ type: 'shutdown', deadlineMs: Date.now() + 8_000 });
    await w.waitFor('stopped');
    const started = Date.now();
    const exit = await w.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(numbersAt(receiver).filter((n) => n < 1000)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const log = w.stdout();
    expect(log).toMatch(/INFO OutputProcess::MainThread -> Process started \(pid=\d+, ppid=\d+, multiprocessing.start_method="fork"\)/);
    expect(log).toContain('OutputProcess::DevoSenderManager(standard_senders,manager,devo_1) -> [EMERGENCY_PERSISTENCE_SYSTEM] Recovering any available content from the persistence system');
    // The vendor's start lines, from the starting thread, in its order.
    const starts = log.split('\n').filter((l) => l.includes('(standard_senders,') && l.includes('Starting thread'));
    expect(starts.map((l) => l.slice(24))).toEqual([
      '   INFO OutputProcess::MainThread -> DevoSender(standard_senders,devo_sender_0) -> Starting thread',
      '   INFO OutputProcess::MainThread -> DevoSenderManagerMonitor(standard_senders,devo_1) -> Starting thread (every 300 seconds)',
      '   INFO OutputProcess::MainThread -> DevoSenderManager(standard_senders,manager,devo_1) -> Starting thread',
    ]);
    // Each connection is announced as the vendor announces a devo-sdk Sender: paths, never contents.
    const created = `OutputProcess::DevoSender(standard_senders,devo_sender_0) -> Created a sender: {"name": "DevoSender(standard_senders,devo_sender_0)", "url": "127.0.0.1:${receiver.port}", "chain_path": ${JSON.stringify(certs.caPath)}, "cert_path": ${JSON.stringify(certs.clientCertPath)}, "key_path": ${JSON.stringify(certs.clientKeyPath)}, "transport_layer_type": "SSL", "last_usage_timestamp": null, "socket_status": null}, hostname: "devo-collector-host", session_id: "`;
    expect(log).toContain(created);
    expect(log).toMatch(/Created a sender: .*, session_id: "\d+"\n/);
    const keyBody = certs.read(certs.clientKeyPath).toString('utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
    expect(keyBody.length).toBeGreaterThan(5);
    for (const l of keyBody) expect(log).not.toContain(l);
    expect(log).not.toContain('PRIVATE KEY');
    // Internal records (the collector's own log lines) were shipped too, tagged as the vendor does.
    expect(receiver.text()).toMatch(/ devo-collector-host devo\.collectors\.out\.local\.info: \{"msg":"MainThread -> DevoSenderManager\(standard_senders,manager,devo_1\) -> Starting thread","time":"\d{4}-\d\d-\d\dT[\d:.]{15}Z","level":"INFO","collector_name":"test-collector","collector_version":"1\.0\.0-test"\}\n/);
    const metrics = w.messages.filter((m) => m.type === 'metrics').at(-1);
    expect(metrics).toBeDefined();
  });

  it('SIGINT is ignored (the supervisor owns signals); SIGTERM flushes and exits 0', async () => {
    receiver = await startTlsReceiver(certs);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outw-'));
    const w = spawnWorker();
    w.send({ type: 'init', config: compiledConfig(dir, [tlsOutput(receiver.port)]), validateOnly: false });
    await w.waitFor('ready');
    w.child.kill('SIGINT');
    w.sendBatch(batch(0, 10));
    await w.waitForAck('modelbreaches:0');
    w.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect(numbersAt(receiver)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('init-failed (OutputError 430) without a usable run directory for the batch lane', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outw-'));
    const w = spawnWorker();
    w.send({ type: 'init', config: compiledConfig(dir, [outputConfig({ name: 'console_1', type: 'console' })]), validateOnly: false, runDir: path.join(dir, 'missing') });
    const failed = await w.waitFor('init-failed');
    expect(failed.error).toMatchObject({ name: 'OutputError', code: 430 });
    expect(failed.error.message).toContain(path.join(dir, 'missing'));
    expect((await w.exited).code).toBe(1);
  });

  it('init-failed (OutputError 400) when a certificate file is missing; no crash before the answer', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outw-'));
    const w = spawnWorker();
    w.send({ type: 'init', config: compiledConfig(dir, [tlsOutput(1, { keyPath: path.join(dir, 'missing.key') })]), validateOnly: false });
    const failed = await w.waitFor('init-failed');
    expect(failed.error).toMatchObject({ name: 'OutputError', code: 400 });
    expect(failed.error.message).toContain('missing.key');
    expect((await w.exited).code).toBe(1);
  });

  it('validateOnly: one output-check per output, then exit', async () => {
    receiver = await startTlsReceiver(certs);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outw-'));
    const w = spawnWorker();
    const outputs = [tlsOutput(receiver.port), tlsOutput(receiver.port, { name: 'devo_2', chainPath: certs.otherCaPath })];
    w.send({ type: 'init', config: compiledConfig(dir, outputs), validateOnly: true });
    await w.waitFor('stopped');
    const checks = w.messages.filter((m) => m.type === 'output-check');
    expect(checks[0]).toMatchObject({ output: 'devo_1', ok: true });
    expect(checks[1]).toMatchObject({ output: 'devo_2', ok: false, error: { name: 'OutputError', code: 403 } });
    expect((checks[1] as { error: { message: string } }).error.message).toMatch(/certificate not trusted/);
    expect((await w.exited).code).toBe(0);
  });

  it('kill -9 mid-stream, restart over the same spool: every acknowledged record arrives', async () => {
    receiver = await startTlsReceiver(certs);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outw-'));
    // A 64 KiB peer receive buffer: the drain rule confirms all but the last ~64 KiB while it streams.
    const margin = 64 * 1024;
    const config = compiledConfig(dir, [tlsOutput(receiver.port, { peerReceiveBufferBytes: margin })]);
    const w1 = spawnWorker();
    w1.send({ type: 'init', config, validateOnly: false });
    await w1.waitFor('ready');
    const BATCHES = 400;
    const SIZE = 50;
    // Paced feed (~2.4 s) so that the checkpoint advances during the stream; kill mid-feed.
    let stop = false;
    const feeding = (async () => {
      for (let i = 0; i < BATCHES && !stop; i++) {
        w1.sendBatch(batch(i, SIZE));
        await new Promise((r) => setTimeout(r, 6));
      }
    })();
    await w1.waitForAck('modelbreaches:250', 60_000);
    w1.child.kill('SIGKILL');
    stop = true;
    await feeding;
    await w1.exited;
    const acked = w1.acks.filter((a) => a.type === 'batch-ack').map((a) => Number(a.batchId.split(':')[1]));
    const beforeRestart = numbersAt(receiver).length;

    const w2 = spawnWorker();
    w2.send({ type: 'init', config, validateOnly: false });
    await w2.waitFor('ready');
    // The supervisor re-sends what was not acknowledged (the input keeps its cursor until acked).
    const ackedSet = new Set(acked);
    const resent = Array.from({ length: BATCHES }, (_, i) => i).filter((i) => !ackedSet.has(i));
    for (const i of resent) w2.sendBatch(batch(i, SIZE));
    // Answers come in arrival order: the last one answered means all were (shutdown travels on IPC, not the lane).
    expect(await w2.waitForAck(`modelbreaches:${resent.at(-1)}`)).toMatchObject({ type: 'batch-ack' });
    const expected = new Set(acked.flatMap((b) => Array.from({ length: SIZE }, (_, k) => b * SIZE + k)));
    await receiver.waitFor(() => {
      const got = new Set(numbersAt(receiver as TlsReceiver));
      for (const n of expected) if (!got.has(n)) return false;
      return true;
    }, 30_000);
    w2.send({ type: 'shutdown', deadlineMs: Date.now() + 8_000 });
    await w2.waitFor('stopped');
    expect((await w2.exited).code).toBe(0);
    const got = numbersAt(receiver);
    const duplicates = got.length - new Set(got).size;
    console.info(
      `kill -9: ${acked.length}/${BATCHES} batches acked before the kill (${expected.size} records), ` +
        `${beforeRestart} lines received before the restart, ${got.length} in total, ${duplicates} duplicates`,
    );
    // After a crash the restart re-sends exactly the frames that were not confirmed (the resume
    // record holds the confirmed prefix): those are the only duplicates. During a stream they are
    // the last `margin` bytes the peer acknowledged + our unacknowledged send queue + what was
    // written since the last read of it (250 ms, ~250 KB at this feed rate): 1 MiB covers the last
    // two on loopback. (Before: frames handed to our kernel counted as sent, 0-3 frames re-sent, and a
    // stalled receiver lost them.)
    const rec = /\[EMERGENCY_PERSISTENCE_SYSTEM\] Recovered (\d+) messages \((\d+) bytes\)/.exec(w2.stdout());
    const recoveredMessages = Number(rec?.[1] ?? 0);
    const recoveredBytes = Number(rec?.[2] ?? 0);
    console.info(`kill -9: recovered ${recoveredMessages} messages (${recoveredBytes} bytes) unconfirmed`);
    expect(duplicates).toBeLessThanOrEqual(recoveredMessages);
    expect(recoveredBytes).toBeLessThanOrEqual(margin + 1024 * 1024);
    expect(new Set(got).size).toBe(BATCHES * SIZE);
    // Something was confirmed before the kill: the restart did not start from the beginning.
    expect(recoveredMessages).toBeLessThan(beforeRestart);
  });
});
