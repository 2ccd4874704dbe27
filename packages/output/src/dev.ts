/**
 * Development entry: runs the output logic in-process with a console output and feeds it a few
 * sample batches, then shuts down. `npx tsx packages/output/src/dev.ts [persistenceDir]`
 * (default: memory persistence). Each message is printed as
 * {"message_timestamp","message_tag","message_content"}.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configureLogging, createLogger, textRecords, type CompiledConfig, type EventBatch } from '@devo-collector/common';
import { OutputService } from './output-service.js';

configureLogging({ processName: 'OutputProcess' });
const log = createLogger('DevMain');
const dir = process.argv[2];

const config: CompiledConfig = {
  source: { configPath: null, definitionsPath: 'dev', mode: 'file' },
  collectorVersion: '0.0.0-dev',
  hostname: os.hostname(),
  globals: {
    id: 'dev',
    name: 'devo-collector-darktrace-dev',
    debug: false,
    persistence: dir ? { type: 'filesystem', directory: dir } : { type: 'memory', directory: '' },
    queueMaxSizeBytes: 16 * 1024 * 1024,
    queueWrapMaxMessages: 100,
    senderStatsPeriodMs: 2_000,
    gcLogPeriodMs: 300_000,
    shutdownGraceMs: 10_000,
    web: { enabled: false, host: '127.0.0.1', port: 0 },
  },
  outputs: [
    {
      name: 'console_1',
      type: 'console',
      address: '',
      port: 0,
      chainPath: null,
      certPath: null,
      keyPath: null,
      checkHostname: false,
      octetCounting: false,
      compression: 'none',
      compressionLevel: 6,
      concurrency: 1,
      connectTimeoutMs: 5_000,
      idleReconnectMs: 30_000,
      maxConnectionAgeMs: 3_600_000,
      stallTimeoutMs: 60_000,
      peerReceiveBufferBytes: 8 * 1024 * 1024,
    },
  ],
  inputs: [],
};

function sample(seq: number): EventBatch {
  const records = [
    JSON.stringify({ pbid: 1000 + seq, time: Date.now() - 60_000, creationTime: Date.now(), model: { name: 'Device::Sample' }, score: 0.87 }),
    JSON.stringify({ pbid: 2000 + seq, note: 'non-ASCII stays UTF-8: café ☃' }),
  ];
  return {
    batchId: `modelbreaches:${seq}`,
    group: 'standard',
    inputName: 'darktrace',
    serviceName: 'modelbreaches',
    tag: 'edr.darktrace.respond.model_breach',
    ...textRecords(records),
    createdAtMs: Date.now(),
  };
}

const service = new OutputService({
  send: (m) => log.info(`-> supervisor: ${JSON.stringify(m.type === 'metrics' ? { type: m.type } : m)}`),
  onExit: (code) => process.exit(code),
});

// The batch lane's socket needs a directory; the samples are handed over in-process.
await service.handle({ type: 'init', config, validateOnly: false, runDir: mkdtempSync(path.join(os.tmpdir(), 'output-dev-')) });
for (let i = 0; i < 3; i++) service.acceptBatch(sample(i), (a) => log.info(`-> lane: ${JSON.stringify(a)}`));
setTimeout(() => void service.handle({ type: 'shutdown', deadlineMs: 3_000 }), 2_500);
