/**
 * Lookup batches through the OutputService: the job's lines reach a relay in order (one sender
 * even with concurrency 3), a `syslog` output gets none, the same batch replayed after it was
 * durable is dropped by the ledger, a record that is not a job is OutputError(440), and
 * msg_enqueued_lookup counts lines.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serializeLookupJob, textRecords, type EventBatch, type LaneAck, type LookupJob, type OutputToSupervisorMessage } from '@devo-collector/common';
import { lookupJobLines } from '../src/lookup-format.js';
import { OutputService } from '../src/output-service.js';
import { captureLogs } from './helpers/log-capture.js';
import { startTcpReceiver, type TcpReceiver, compiledConfig, outputConfig } from '@devo-collector/testkit';

let logs: ReturnType<typeof captureLogs>;
const receivers: TcpReceiver[] = [];
beforeEach(() => {
  logs = captureLogs();
});
afterEach(async () => {
  logs.stop();
  for (const r of receivers.splice(0)) await r.stop();
});

const col = (name: string) => ({ name, type: 'str' as const });
const job: LookupJob = {
  name: 'darktrace_devices',
  action: 'INC',
  lookupId: '1714566896.123456',
  columns: [col('did'), col('hostname'), col('ip')],
  keyIndex: 0,
  upserts: Array.from({ length: 400 }, (_, i) => [String(100 + i), `ws-${i}`, `10.0.${i >> 8}.${i & 255}`]),
  deletes: [['43', 'gone "host"', '10.0.0.6']],
};

function lookupBatch(id: string, record = serializeLookupJob(job), replay = false): EventBatch {
  return {
    batchId: id,
    group: 'lookup',
    inputName: 'darktrace',
    serviceName: 'devices',
    tag: 'my.lookup.darktrace_devices',
    ...textRecords([record]),
    createdAtMs: Date.UTC(2024, 0, 1),
    keys: [`lookup:${job.name}:${job.lookupId}`],
    ...(replay ? { replay: true } : {}),
  };
}

const lookupText = (r: TcpReceiver): string => r.text().split('\n').filter((l) => / my\.lookup\./.test(l)).map((l) => `${l}\n`).join('');

describe('lookup batches in the OutputService', () => {
  it('relay: the lines in order, once; syslog: none; replay dropped; a bad record is 440', async () => {
    const relay = await startTcpReceiver();
    const syslog = await startTcpReceiver();
    receivers.push(relay, syslog);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lookup-svc-'));
    const outputs = [
      outputConfig({ name: 'relay_1', type: 'relay', port: relay.port, concurrency: 3 }),
      outputConfig({ name: 'syslog_1', type: 'syslog', port: syslog.port }),
    ];
    const messages: Array<OutputToSupervisorMessage | LaneAck> = [];
    const svc = new OutputService({ send: (m) => void messages.push(m), metricsPeriodMs: 100, tuning: { checkpointIntervalMs: 20, backoff: { baseMs: 50, capMs: 200 } } });
    await svc.handle({ type: 'init', config: compiledConfig(dir, outputs), validateOnly: false, runDir: mkdtempSync(path.join(os.tmpdir(), 'lookup-run-')) });
    // Batches as the lane hands them over; the answers join the messages.
    const put = (b: EventBatch): void => svc.acceptBatch(b, (a) => void messages.push(a));

    const expected = lookupJobLines(job, 'devo-collector-host').join('');
    put(lookupBatch('devices:1'));
    await relay.waitFor(() => lookupText(relay).length >= expected.length);
    expect(lookupText(relay)).toBe(expected);
    expect(svc.metrics().enqueued.lookup.count).toBe(job.upserts.length + job.deletes.length + 2);

    // The same batch again, marked replay (an output restart): already durable, not spooled again.
    put(lookupBatch('devices:2', undefined, true));
    put(lookupBatch('devices:3', '{"name":"darktrace_devices"}'));
    await new Promise((r) => setTimeout(r, 500));
    await svc.handle({ type: 'shutdown', deadlineMs: 3_000 });

    expect(lookupText(relay)).toBe(expected);
    expect(logs.lines().some((l) => /Batch devices:2 \(devices\): 1 of 1 records were already spooled before a restart and are not sent again/.test(l))).toBe(true);
    expect(lookupText(syslog)).toBe('');
    // concurrency 3 gives the standard group three senders, the lookup group one.
    expect(logs.lines().some((l) => /\(standard_senders,\w+_sender_2\) -> Starting thread/.test(l))).toBe(true);
    expect(logs.lines().some((l) => /\(lookup_senders,\w+_sender_0\) -> Starting thread/.test(l))).toBe(true);
    expect(logs.lines().some((l) => /\(lookup_senders,\w+_sender_1\)/.test(l))).toBe(false);
    const answers = messages.filter((m) => m.type === 'batch-ack' || m.type === 'batch-rejected');
    expect(answers).toEqual([
      { type: 'batch-ack', batchId: 'devices:1' },
      { type: 'batch-ack', batchId: 'devices:2' },
      expect.objectContaining({ type: 'batch-rejected', batchId: 'devices:3', error: expect.objectContaining({ name: 'OutputError', code: 440 }) }),
    ]);
  });
});
