import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packRecords, recordTexts, textRecords, type EventBatch, type LaneAck, type OutputToSupervisorMessage } from '@devo-collector/common';
import { formatBatch } from '../src/format.js';
import { SPOOL_FRAME_MAX_BYTES } from '../src/intake.js';
import { OutputService } from '../src/output-service.js';
import { spoolDir } from '../src/spool.js';
import { FRAME_HEADER_BYTES, scanFrames } from '../src/spool/frame-codec.js';
import { captureLogs } from './helpers/log-capture.js';
import { sampleBatch, startTcpReceiver, type TcpReceiver, compiledConfig, outputConfig } from '@devo-collector/testkit';

let logs: ReturnType<typeof captureLogs>;
let receiver: TcpReceiver | undefined;
beforeEach(() => {
  logs = captureLogs();
});
afterEach(async () => {
  logs.stop();
  await receiver?.stop();
  receiver = undefined;
});

function batch(seq: number, size = 10): EventBatch {
  const records = Array.from({ length: size }, (_, k) => JSON.stringify({ n: seq * size + k }));
  return sampleBatch(seq, records, { batchId: `status:${seq}`, serviceName: 'status', tag: 'edr.darktrace.respond.status', createdAtMs: Date.UTC(2024, 0, 1) });
}

const numbers = (text: string): number[] =>
  text
    .split('\n')
    .filter((l) => l.includes(' edr.darktrace.respond.status: '))
    .map((l) => (JSON.parse(l.slice(l.indexOf(': {') + 2)) as { n: number }).n);

type Message = OutputToSupervisorMessage | LaneAck;
const answersOf = new WeakMap<OutputService, Message[]>();

function service(messages: Message[], consoleStream?: PassThrough): OutputService {
  const svc = new OutputService({
    send: (m) => void messages.push(m),
    metricsPeriodMs: 100,
    tuning: { quietMs: 100, checkpointIntervalMs: 20, backoff: { baseMs: 50, capMs: 200 }, consoleStream },
  });
  answersOf.set(svc, messages);
  return svc;
}

/** A batch as the lane hands it over; its answer joins the service's messages. */
function put(svc: OutputService, b: EventBatch): void {
  svc.acceptBatch(b, (a) => void answersOf.get(svc)?.push(a));
}

/** The run directory the supervisor gives: the batch lane's socket goes there. */
const runDir = (): string => mkdtempSync(path.join(os.tmpdir(), 'svc-run-'));

describe('OutputService in-process (syslog output over plain TCP)', () => {
  it('monitor lines, internal records without recursion, metric message, idle + age reconnects, exactly once', async () => {
    receiver = await startTcpReceiver();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'svc-'));
    const out = outputConfig({ name: 'relay_1', type: 'syslog', port: receiver.port, idleReconnectMs: 250, maxConnectionAgeMs: 1_000 });
    const messages: Message[] = [];
    const svc = service(messages);
    await svc.handle({ type: 'init', config: compiledConfig(dir, [out], { senderStatsPeriodMs: 400 }), validateOnly: false, runDir: runDir() });
    // `ready`, then at once the first metrics: the supervisor knows each output's health from the start.
    expect(messages.map((m) => m.type)).toEqual(['ready', 'metrics']);
    expect((messages[1] as Extract<OutputToSupervisorMessage, { type: 'metrics' }>).metrics.health).toEqual({ relay_1: { state: 'ok' } });
    expect(svc.getState()).toBe('running');

    // A steady stream for ~1.8 s: the 1 s connection age forces a reconnect mid-stream (a clean
    // close confirms only on a connection at least PROVE_MS = 1 s old).
    for (let i = 0; i < 40; i++) {
      put(svc, batch(i));
      await new Promise((r) => setTimeout(r, 45));
    }
    await receiver.waitFor((t) => numbers(t).length >= 400);
    // Idle longer than idleReconnectMs: the connection is closed, the next batch opens a new one.
    await new Promise((r) => setTimeout(r, 600)); // idle time must pass: the point of the test
    const connectionsBefore = receiver.connections;
    put(svc, batch(40));
    await receiver.waitFor((t) => numbers(t).length >= 410);
    // At least the standard group's new connection; the internal group shares this receiver and may
    // reconnect in the same instant to ship its log records (its connection idled out too).
    expect(receiver.connections).toBeGreaterThanOrEqual(connectionsBefore + 1);
    expect(receiver.connections).toBeLessThanOrEqual(connectionsBefore + 2);
    expect(connectionsBefore).toBeGreaterThanOrEqual(2);
    await receiver.waitFor((t) => t.includes(' devo.collector.metric.message_sent: '), 5_000);

    await svc.handle({ type: 'shutdown', deadlineMs: 3_000 });
    expect(svc.getState()).toBe('stopped');
    expect(messages.at(-1)).toEqual({ type: 'stopped' });
    const acks = messages.filter((m) => m.type === 'batch-ack').map((m) => (m as { batchId: string }).batchId);
    expect(acks).toEqual(Array.from({ length: 41 }, (_, i) => `status:${i}`));

    const text = receiver.text();
    expect(numbers(text)).toEqual(Array.from({ length: 410 }, (_, i) => i)); // exactly once, in order
    const lines = logs.lines();
    const monitor = 'SyslogSenderManagerMonitor(standard_senders,relay_1) -> ';
    expect(lines).toContain(`INFO ${monitor.slice(0, -4)} -> Number of available senders: 1, sender manager internal queue size: 0`);
    expect(lines.some((l) => l.includes(`${monitor}Sender: SyslogSender(standard_senders,syslog_sender_0), status: {"internal_queue_size": `))).toBe(true);
    expect(lines.some((l) => /Standard - Total number of messages sent: \d+, messages sent since "\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00": \d+ \(elapsed \d+\.\d{3} seconds\)$/.test(l))).toBe(true);
    expect(lines).toContain(`INFO ${monitor}enqueued_elapsed_times_in_seconds_stats: {}`);
    const iso = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00`;
    const internalTotals = new RegExp(
      String.raw`^INFO SyslogSenderManagerMonitor\(internal_senders,relay_1\) -> Internal - Total number of messages: (\d+) messages/bytes sent since/to "${iso}/${iso}": (\d+)/(\d+), \(elapsed \d+\.\d{3} seconds\)$`,
    );
    const totals = lines.map((l) => internalTotals.exec(l)).filter((m) => m !== null);
    expect(totals.length).toBeGreaterThan(0);
    // Real figures: the internal group shipped our log records, so some period sent messages and bytes.
    expect(totals.some((m) => Number(m[2]) > 0 && Number(m[3]) > Number(m[2]))).toBe(true);
    // A plain TCP relay: no TLS files, transport TCP.
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          String.raw`^INFO SyslogSender\(standard_senders,syslog_sender_0\) -> Created a sender: \{"name": "SyslogSender\(standard_senders,syslog_sender_0\)", "url": "127\.0\.0\.1:${receiver.port}", "chain_path": null, "cert_path": null, "key_path": null, "transport_layer_type": "TCP", "last_usage_timestamp": null, "socket_status": null\}, hostname: "devo-collector-host", session_id: "\d+"$`,
        ),
      ),
    );
    expect(lines.some((l) => l.includes('Lookup - Total number of messages sent: 0'))).toBe(true);

    const internal = text.split('\n').filter((l) => l.includes(' devo.collectors.out.local.'));
    expect(internal.length).toBeGreaterThan(3);
    // No recursion: nothing the internal group logs about itself is shipped.
    // (The starting thread's one-off "… -> Starting thread" lines name the group but come from MainThread.)
    const aboutInternal = internal.filter((l) => l.includes('internal_senders'));
    expect(aboutInternal.filter((l) => !/"msg":"MainThread -> \w+\(internal_senders,[^)]*\) -> Starting thread( \(every \d+ seconds\))?"/.test(l))).toEqual([]);
    const metric = text.split('\n').find((l) => l.includes(' devo.collector.metric.message_sent: ')) as string;
    const body = JSON.parse(metric.slice(metric.indexOf(': {') + 2)) as Record<string, unknown>;
    expect(body).toMatchObject({ col_id: 'test-id', col_name: 'test-collector', col_version: '1.0.0-test' });
    expect(body.msg_sent).toMatchObject({ part_counter: expect.any(Number), part_bytes: expect.any(Number), since_ts: expect.any(Number) });

    const metrics = messages.filter((m) => m.type === 'metrics').at(-1) as Extract<OutputToSupervisorMessage, { type: 'metrics' }>;
    expect(metrics.metrics.enqueued.standard).toEqual({ count: 410, bytes: expect.any(Number) });
    expect(metrics.metrics.sent['relay_1.standard']?.count).toBe(410);
  });

  it('spools a batch as frames of at most SPOOL_FRAME_MAX_BYTES (a bigger record alone), in order, from a copy or a view of a response', async () => {
    receiver = await startTcpReceiver();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'svc-frames-'));
    const out = outputConfig({ name: 'relay_1', type: 'syslog', port: receiver.port });
    const messages: Message[] = [];
    const svc = service(messages);
    await svc.handle({ type: 'init', config: compiledConfig(dir, [out]), validateOnly: false, runDir: runDir() });
    // ~6 KB records like the appliance's breaches, one of them larger than a whole frame.
    const sized = (seq: number): EventBatch => {
      const records = Array.from({ length: 30 }, (_, k) =>
        JSON.stringify({ n: seq * 30 + k, pad: 'x'.repeat(k === 7 ? SPOOL_FRAME_MAX_BYTES + 5_000 : 5_000 + k * 97) }),
      );
      return { ...batch(seq), ...textRecords(records) };
    };
    // The second batch as the pullers send it: a view of a response, the bounds skipping the commas.
    const asView = (b: EventBatch): EventBatch => {
      const records = recordTexts(b);
      const body = Buffer.from(`[${records.join(',')}]`);
      let at = 1;
      return { ...b, ...packRecords(records.map((r) => body.subarray(at, (at += Buffer.byteLength(r) + 1) - 1))) };
    };
    const batches = [sized(0), asView(sized(1))];
    expect(batches[1]?.data.buffer).not.toBe(batches[0]?.data.buffer);
    put(svc, batches[0] as EventBatch);
    put(svc, batches[1] as EventBatch);
    await receiver.waitFor((t) => numbers(t).length >= 60);
    await svc.handle({ type: 'shutdown', deadlineMs: 3_000 });
    expect(messages.filter((m) => m.type === 'batch-ack').map((m) => (m as { batchId: string }).batchId)).toEqual(['status:0', 'status:1']);
    expect(numbers(receiver.text())).toEqual(Array.from({ length: 60 }, (_, i) => i));

    const sdir = spoolDir(dir, 'relay_1', 'standard');
    const segment = readdirSync(sdir).filter((n) => n.startsWith('seg-')).sort().map((n) => readFileSync(path.join(sdir, n))).find((b) => b.length > 0) as Buffer;
    const frames = [...scanFrames(segment, 0)].map((e) => {
      if (e.kind !== 'frame') throw new Error(`damaged spool segment: ${e.kind}`);
      return { messages: e.messages, payload: segment.subarray(e.offset + FRAME_HEADER_BYTES, e.end) };
    });
    expect(frames.length).toBeGreaterThan(2 * 5);
    for (const f of frames) if (f.messages > 1) expect(f.payload.length).toBeLessThanOrEqual(SPOOL_FRAME_MAX_BYTES);
    expect(frames.filter((f) => f.payload.length > SPOOL_FRAME_MAX_BYTES).map((f) => f.messages)).toEqual([1, 1]);
    // The frames concatenated are the batches' single-frame formatting.
    const whole = Buffer.concat(batches.map((b) => formatBatch(b, 'devo-collector-host', false)));
    expect(Buffer.concat(frames.map((f) => f.payload)).equals(whole)).toBe(true);
    expect(frames.reduce((n, f) => n + f.messages, 0)).toBe(60);
  });

  it('refuses a batch before init with OutputError 404', async () => {
    const messages: Message[] = [];
    const svc = service(messages);
    put(svc, batch(0));
    await new Promise((r) => setTimeout(r, 10));
    expect(messages[0]).toMatchObject({ type: 'batch-rejected', batchId: 'status:0', error: { name: 'OutputError', code: 404 } });
  });

  it('answers init-failed (OutputError 430) without a run directory for the batch lane', async () => {
    const messages: Message[] = [];
    let exitCode: number | null = null;
    const svc = new OutputService({ send: (m) => void messages.push(m), onExit: (c) => (exitCode = c) });
    const out = outputConfig({ name: 'console_1', type: 'console' });
    await svc.handle({ type: 'init', config: compiledConfig('', [out], { persistence: { type: 'memory', directory: '' } }), validateOnly: false });
    expect(messages).toEqual([{ type: 'init-failed', error: expect.objectContaining({ name: 'OutputError', code: 430 }) }]);
    expect(exitCode).toBe(1);
    expect(svc.getState()).toBe('failed');
  });

  it('console output: one JSON line per message', async () => {
    const stream = new PassThrough();
    let printed = '';
    stream.on('data', (d: Buffer) => (printed += d.toString()));
    const messages: Message[] = [];
    const svc = service(messages, stream);
    const out = outputConfig({ name: 'console_1', type: 'console' });
    await svc.handle({ type: 'init', config: compiledConfig('', [out], { persistence: { type: 'memory', directory: '' } }), validateOnly: false, runDir: runDir() });
    put(svc, batch(0, 2));
    put(svc, { ...batch(1, 0), batchId: 'status:empty' });
    await svc.handle({ type: 'shutdown', deadlineMs: 2_000 });
    expect(messages.filter((m) => m.type === 'batch-ack')).toEqual([
      { type: 'batch-ack', batchId: 'status:0' },
      { type: 'batch-ack', batchId: 'status:empty' },
    ]);
    expect(printed.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { message_timestamp: '2024-01-01 00:00:00.000', message_tag: 'edr.darktrace.respond.status', message_content: '{"n":0}' },
      { message_timestamp: '2024-01-01 00:00:00.000', message_tag: 'edr.darktrace.respond.status', message_content: '{"n":1}' },
    ]);
  });
});

describe('OutputService delivery ledger (replayed batches after a crash)', () => {
  const keyed = (seq: number, ids: number[], replay = false): EventBatch =>
    sampleBatch(seq, ids.map((n) => JSON.stringify({ n })), { tag: 'edr.darktrace.respond.status', keys: ids.map(String), replay, createdAtMs: Date.UTC(2024, 0, 1) });

  it('a replayed batch spools only the records not already durable, across an output restart, and is still acked', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'svc-ledger-'));
    const stream = new PassThrough();
    let printed = '';
    stream.on('data', (d: Buffer) => (printed += d.toString()));
    const out = outputConfig({ name: 'console_1', type: 'console' });
    const config = compiledConfig(dir, [out]);
    const m1: Message[] = [];
    const first = service(m1, stream);
    await first.handle({ type: 'init', config, validateOnly: false, runDir: runDir() });
    put(first, keyed(1, [1, 2, 3]));
    // Sent while batch 1 is still being appended: the replay waits for it, then drops 1-3.
    put(first, keyed(2, [2, 3, 4], true));
    await first.handle({ type: 'shutdown', deadlineMs: 2_000 });
    expect(m1.filter((m) => m.type === 'batch-ack').map((m) => (m as { batchId: string }).batchId)).toEqual(['modelbreaches:1', 'modelbreaches:2']);

    // A new OutputProcess over the same state directory: the ledger is read back from disk.
    const m2: Message[] = [];
    const second = service(m2, stream);
    await second.handle({ type: 'init', config, validateOnly: false, runDir: runDir() });
    put(second, keyed(3, [1, 4, 5], true));
    // Not marked replay: sent as it is (a start_time reset asks for records again).
    put(second, keyed(4, [1]));
    await second.handle({ type: 'shutdown', deadlineMs: 2_000 });
    expect(m2.filter((m) => m.type === 'batch-ack').map((m) => (m as { batchId: string }).batchId)).toEqual(['modelbreaches:3', 'modelbreaches:4']);

    const sent = printed.trim().split('\n').map((l) => (JSON.parse((JSON.parse(l) as { message_content: string }).message_content) as { n: number }).n);
    expect(sent).toEqual([1, 2, 3, 4, 5, 1]);
    expect(logs.lines().some((l) => l.includes('Batch modelbreaches:3 (modelbreaches): 2 of 3 records were already spooled before a restart'))).toBe(true);

    // Records as views of a response (the pullers' batches, bounds skipping the commas) are filtered the same way.
    const m3: Message[] = [];
    const third = service(m3, stream);
    await third.handle({ type: 'init', config, validateOnly: false, runDir: runDir() });
    const asView = (b: EventBatch): EventBatch => {
      const records = recordTexts(b);
      const body = Buffer.from(`[${records.join(',')}]`);
      let at = 1;
      const packed = packRecords(records.map((r) => body.subarray(at, (at += Buffer.byteLength(r) + 1) - 1)));
      expect(packed.data.buffer).toBe(body.buffer);
      return { ...b, ...packed };
    };
    put(third, asView(keyed(5, [5, 6, 7], true)));
    await third.handle({ type: 'shutdown', deadlineMs: 2_000 });
    expect(m3.filter((m) => m.type === 'batch-ack')).toHaveLength(1);
    const all = printed.trim().split('\n').map((l) => (JSON.parse((JSON.parse(l) as { message_content: string }).message_content) as { n: number }).n);
    expect(all.slice(6)).toEqual([6, 7]);
  });

  it('a crash between the spool write and its fsync: the restart sends the recovered frames once, the replay adds nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'svc-ledger-fsync-'));
    const out = outputConfig({ name: 'console_1', type: 'console' });
    const config = compiledConfig(dir, [out]);
    const printedBy = (stream: PassThrough): (() => number[]) => {
      let text = '';
      stream.on('data', (d: Buffer) => (text += d.toString()));
      return () => text.trim().split('\n').filter(Boolean).map((l) => (JSON.parse((JSON.parse(l) as { message_content: string }).message_content) as { n: number }).n);
    };
    // The first process's fsyncs never complete: it "dies" with its frames only in the page cache.
    const probe = await fsp.open(path.join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const sync = proto.sync;
    let hang = false;
    proto.sync = function (this: unknown) {
      return hang ? new Promise<void>(() => undefined) : sync.call(this);
    };
    try {
      const s1 = new PassThrough();
      const printed1 = printedBy(s1);
      const m1: Message[] = [];
      const first = service(m1, s1);
      await first.handle({ type: 'init', config, validateOnly: false, runDir: runDir() });
      hang = true;
      put(first, keyed(1, [1, 2, 3]));
      const ledgerFile = path.join(dir, 'ledger', 'ledger.log');
      await expect.poll(() => readFileSync(ledgerFile, 'utf8'), { timeout: 5_000, interval: 20 }).toContain('"?"');
      expect(m1.filter((m) => m.type === 'batch-ack')).toEqual([]);
      expect(printed1()).toEqual([]);
    } finally {
      hang = false;
      proto.sync = sync;
    }
    // The restart (the first service is abandoned, never stopped): it recovers the written frames,
    // and the input's replay of the unacknowledged batch finds its records in the ledger.
    const s2 = new PassThrough();
    const printed2 = printedBy(s2);
    const m2: Message[] = [];
    const second = service(m2, s2);
    await second.handle({ type: 'init', config, validateOnly: false, runDir: runDir() });
    put(second, keyed(1, [1, 2, 3], true));
    await second.handle({ type: 'shutdown', deadlineMs: 2_000 });
    expect(m2.filter((m) => m.type === 'batch-ack')).toHaveLength(1);
    expect(logs.lines().some((l) => l.includes('Batch modelbreaches:1 (modelbreaches): 3 of 3 records were already spooled before a restart'))).toBe(true);
    expect(printed2()).toEqual([1, 2, 3]);
  });
});
