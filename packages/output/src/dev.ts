/**
 * Development entry: runs the output logic in-process with a console output and feeds it a few
 * sample batches, then shuts down. `npx tsx packages/output/src/dev.ts [persistenceDir]`
 * (default: memory persistence). Each message is printed as
 * {"message_timestamp","message_tag","message_content"}.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configureLogging, createLogger, type EventBatch } from '@devo-collector/common';
import { compiledConfig, outputConfig, sampleBatch } from '@devo-collector/testkit';
import { OutputService } from './output-service.js';

configureLogging({ processName: 'OutputProcess' });
const log = createLogger('DevMain');
const dir = process.argv[2];

const config = compiledConfig(dir ?? '', [outputConfig({ name: 'console_1', type: 'console', address: '' })], {
  id: 'dev',
  name: 'devo-collector-darktrace-dev',
  persistence: dir ? { type: 'filesystem', directory: dir } : { type: 'memory', directory: '' },
  queueMaxSizeBytes: 16 * 1024 * 1024,
  senderStatsPeriodMs: 2_000,
});
const sample = (seq: number): EventBatch =>
  sampleBatch(seq, [
    JSON.stringify({ pbid: 1000 + seq, time: Date.now() - 60_000, creationTime: Date.now(), model: { name: 'Device::Sample' }, score: 0.87 }),
    JSON.stringify({ pbid: 2000 + seq, note: 'non-ASCII stays UTF-8: café ☃' }),
  ]);

const service = new OutputService({
  send: (m) => log.info(`-> supervisor: ${JSON.stringify(m.type === 'metrics' ? { type: m.type } : m)}`),
  onExit: (code) => process.exit(code),
});

// The batch lane's socket needs a directory; the samples are handed over in-process.
await service.handle({ type: 'init', config, validateOnly: false, runDir: mkdtempSync(path.join(os.tmpdir(), 'output-dev-')) });
for (let i = 0; i < 3; i++) service.acceptBatch(sample(i), (a) => log.info(`-> lane: ${JSON.stringify(a)}`));
setTimeout(() => void service.handle({ type: 'shutdown', deadlineMs: 3_000 }), 2_500);
