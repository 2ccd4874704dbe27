export { runOutputWorker } from './worker.js';
export { OutputService, type OutputServiceOptions, type OutputServiceState } from './output-service.js';
export {
  DEVO_DEFAULT_DATE,
  DEVO_DEFAULT_PRI,
  encodeDevoLine,
  formatBatch,
  formatDevoDate,
  formatDevoLine,
  formatFrames,
  frameOctetCounted,
  parseDevoLine,
  splitFrameLines,
  type DevoLineParts,
  type FormattedFrame,
  type ParsedDevoLine,
} from './format.js';
export * from './lookup-format.js';
export { openSpool, spoolDir, type RecoveryReport, type Spool, type SpoolFrame, type SpoolOptions, type SpoolStats } from './spool.js';
export { createConsoleSender, type ConsoleSenderOptions } from './senders/console-sender.js';
export { describeSocketError, type BackoffPolicy } from './senders/delivery.js';
export type { Sender, SenderCounters, SenderStatus } from './senders/types.js';
export { loadTlsMaterial, type TlsMaterial, type TlsMaterialPaths } from './senders/tls-material.js';
export { SenderManager, GROUP_NAME, type PeriodStats } from './sender-manager.js';
export { checkOutput } from './output-check.js';
export { OUTPUT_ERROR } from './errors.js';
export {
  CertificateExpiryMonitor,
  certificateTargets,
  expiryWarningLine,
  readCertificateExpiry,
  type CertificateExpiry,
  type CertificateExpiryMonitorOptions,
  type CertificateKind,
  type CertificateTarget,
} from './cert-expiry.js';
