/**
 * A compiled configuration for output tests and the output dev entry: `outputConfig` (one output,
 * a Devo TLS one unless overridden), `compiledConfig` (the globals every test starts from) and
 * `sampleBatch` (an `EventBatch` of the model breaches' tag).
 */
import { textRecords, type CompiledConfig, type EventBatch, type OutputConfig } from '@devo-collector/common';

export function outputConfig(over: Partial<OutputConfig> = {}): OutputConfig {
  return {
    name: 'devo_1',
    type: 'devo_platform',
    address: '127.0.0.1',
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
    ...over,
  };
}

export function compiledConfig(persistenceDir: string, outputs: OutputConfig[], over: Partial<CompiledConfig['globals']> = {}): CompiledConfig {
  return {
    source: { configPath: null, definitionsPath: 'test', mode: 'file' },
    collectorVersion: '1.0.0-test',
    hostname: 'devo-collector-host',
    globals: {
      id: 'test-id',
      name: 'test-collector',
      debug: false,
      persistence: { type: 'filesystem', directory: persistenceDir },
      queueMaxSizeBytes: 64 * 1024 * 1024,
      queueWrapMaxMessages: 100,
      senderStatsPeriodMs: 300_000,
      gcLogPeriodMs: 300_000,
      shutdownGraceMs: 10_000,
      web: { enabled: false, host: '127.0.0.1', port: 0 },
      ...over,
    },
    outputs,
    inputs: [],
  };
}

/** A batch of `records` (JSON texts) as the model breaches' puller hands it over; `over` changes any field. */
export function sampleBatch(seq: number, records: string[], over: Partial<EventBatch> = {}): EventBatch {
  return {
    batchId: `modelbreaches:${seq}`,
    group: 'standard',
    inputName: 'darktrace',
    serviceName: 'modelbreaches',
    tag: 'edr.darktrace.respond.model_breach',
    ...textRecords(records),
    createdAtMs: Date.now(),
    ...over,
  };
}
