/**
 * OutputError ids used by the output process (the 400 range is the output's, see common/errors.ts).
 * Kept here until common's docs/errors.md table lists them.
 */
export const OUTPUT_ERROR = {
  /** A chain/cert/key file is missing or unreadable. */
  tlsMaterial: 400,
  /** The spool directory cannot be created, opened or recovered. */
  spoolOpen: 401,
  /** A batch could not be made durable (disk full, I/O error, spool closed). */
  spoolAppend: 402,
  /** `--validate`: the output could not be reached. */
  connectCheck: 403,
  /** A message arrived in the wrong lifecycle state (e.g. batch before init). */
  lifecycle: 404,
  /** The receiver accepted no data for the stall bound (stall_timeout_in_seconds) while data waited. */
  stalled: 405,
  /** The spool checkpoint cannot be written (disk full, ...): retried; a crash meanwhile re-sends more. */
  checkpointWrite: 410,
  /** The delivery ledger cannot be written (disk full, ...): retried; a crash meanwhile may let a duplicate through. */
  ledgerWrite: 411,
  /** The batch lane (the Unix socket batches arrive on) cannot be opened: the output cannot start. */
  laneOpen: 430,
  /** Certificate expiry check: a configured chain/cert file cannot be read. */
  certificateRead: 420,
  /** Certificate expiry check: a configured chain/cert file holds no certificate we can parse. */
  certificateParse: 421,
  /** A `lookup` group batch whose record is not a lookup job (a bug between input and output): refused. */
  lookupJob: 440,
} as const;
