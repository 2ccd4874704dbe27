/**
 * The delivery ledger: which records (by their dedup identity, per input service) this output has
 * made durable recently. It exists for one job: after a crash the input sends again what it had in
 * flight (an input restart pulls those windows again; an output restart makes the input re-send its
 * unacknowledged batches), and the output must not spool a second copy of a record it already
 * holds. Batches the input marks `replay` are filtered against the ledger; every batch's keys are
 * added once its spool append is durable, before its ack leaves.
 *
 * Safety direction: the ledger may forget (capacity, a lost tail on power loss), which only lets a
 * duplicate through; it never claims a record that is not durable in the spool, because keys are
 * added only after the spool's fsync. Persistence against process death: one `writeSync` per batch
 * into `ledger.log` (the page cache survives a kill -9; no fsync needed for that). Two files rotate
 * (`ledger.log` → `ledger.prev.log`) so the disk use stays bounded. Keys are record ids, never
 * secrets. Files 0600, directory 0700.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '@devo-collector/common';

export interface DeliveryLedger {
  /** True when `key` of namespace `ns` (`<input>/<service>`) was made durable recently. */
  has(ns: string, key: string): boolean;
  /** Records keys whose spool append is durable. Call before the batch's ack is sent. */
  add(ns: string, keys: readonly string[]): void;
  readonly size: number;
  close(): void;
}

export interface LedgerOptions {
  /** Directory for the ledger files; null keeps it in memory only (persistence type memory). */
  dir: string | null;
  /** Most keys remembered (oldest forgotten first). */
  capacity?: number;
  /** `ledger.log` is rotated past this size. */
  maxFileBytes?: number;
  logger: Logger;
}

/** 200k keys of ~20-40 bytes: ~15 MB of memory, minutes of traffic even at 10k records/s. */
export const DEFAULT_LEDGER_CAPACITY = 200_000;
const DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024;
const SEP = '\u0000';

export function openDeliveryLedger(opts: LedgerOptions): DeliveryLedger {
  const capacity = Math.max(1, opts.capacity ?? DEFAULT_LEDGER_CAPACITY);
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  // A Set keeps insertion order: its first element is the oldest, so eviction is O(1).
  const keys = new Set<string>();
  const remember = (k: string): void => {
    keys.delete(k); // re-adding moves it to the newest end
    keys.add(k);
    if (keys.size > capacity) keys.delete(keys.values().next().value as string);
  };

  let fd: number | null = null;
  let fileBytes = 0;
  const current = opts.dir ? path.join(opts.dir, 'ledger.log') : '';
  const previous = opts.dir ? path.join(opts.dir, 'ledger.prev.log') : '';

  if (opts.dir) {
    fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    let loaded = 0;
    let torn = 0;
    for (const file of [previous, current]) {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        if (line === '') continue;
        try {
          const [ns, list] = JSON.parse(line) as [string, string[]];
          for (const k of list) remember(ns + SEP + k);
          loaded += list.length;
        } catch {
          torn += 1; // a line cut by a crash mid-write: its batch was never acked
        }
      }
    }
    if (loaded > 0 || torn > 0) {
      opts.logger.info(`Delivery ledger: ${keys.size} recently spooled record ids loaded${torn ? ` (${torn} torn lines skipped)` : ''}`);
    }
    fd = fs.openSync(current, 'a', 0o600);
    fileBytes = fs.fstatSync(fd).size;
    // End a line torn by a crash, or the next line would be glued to it and lost as well.
    if (fileBytes > 0 && !fs.readFileSync(current).subarray(-1).equals(Buffer.from('\n'))) {
      fs.writeSync(fd, '\n');
      fileBytes += 1;
    }
  }

  function rotate(): void {
    if (fd === null) return;
    fs.closeSync(fd);
    fs.renameSync(current, previous);
    fd = fs.openSync(current, 'a', 0o600);
    fileBytes = 0;
  }

  return {
    has: (ns, key) => keys.has(ns + SEP + key),
    add(ns, list) {
      if (list.length === 0) return;
      for (const k of list) remember(ns + SEP + k);
      if (fd === null) return;
      const line = Buffer.from(`${JSON.stringify([ns, list])}\n`, 'utf8');
      try {
        fs.writeSync(fd, line);
        fileBytes += line.length;
        if (fileBytes > maxFileBytes) rotate();
      } catch (err) {
        // Losing a ledger line only risks a duplicate after a crash; never fail the batch for it.
        opts.logger.warn(`Delivery ledger write failed: ${(err as Error).message}; a crash now may re-send some records`);
      }
    },
    get size() {
      return keys.size;
    },
    close() {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}
