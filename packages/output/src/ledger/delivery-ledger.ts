/**
 * The delivery ledger: which records (by their dedup identity, per input service) this output has
 * made durable recently. It exists for one job: after a crash the input sends again what it had in
 * flight (an input restart pulls those windows again; an output restart makes the input re-send its
 * unacknowledged batches), and the output must not spool a second copy of a record it already
 * holds (intake.ts filters the batches the input marks `replay`).
 *
 * A batch's keys reach the file in two steps, because a crash of this process can come between
 * the spool's write and its fsync (the fsync takes milliseconds, the write a few microseconds: at
 * backfill speed a kill lands there often). The frames are then in the page cache, and a restart
 * recovers and sends them; the input re-sends the unacknowledged batch, and without its keys the
 * ledger would let a second copy in (measured: every kill -9 duplicate was such a batch). So
 * (the spool writes synchronously, and `pending` runs in the same turn: no exit falls between):
 *   `pending` (the frames are written, not yet fsynced) → `["?", id, ns, keys]`
 *   `add` (fsynced, before the ack) → `["!", id]`      `revoke` (the append failed) → `["x", id]`
 * Each open starts a section `["@", bootId, session]`. Loading trusts a pending line once it is
 * confirmed, or, unconfirmed, when its section was written under the running kernel (the page
 * cache that holds its frames is still there; the spool fsyncs what it recovers at open). After a
 * reboot an unconfirmed line is ignored: its frames may never have reached the disk.
 *
 * Safety direction: the ledger may forget (capacity, a lost tail on power loss), which only lets a
 * duplicate through; it never claims a record the spool cannot recover. Persistence against process
 * death: one `writeSync` per step (the page cache survives a kill -9; no fsync needed for that).
 * Two files rotate (`ledger.log` → `ledger.prev.log`) so the disk use stays bounded. Keys are
 * record ids, never secrets. Files 0600, directory 0700.
 *
 * A full disk (ENOSPC) never fails a batch here and never leaves half a line: a failed write is
 * truncated away, logged once as OutputError(411) until a write succeeds again. A lost `?` or
 * `!` line only lets a duplicate through; the lines whose loss could make the ledger claim too
 * much (`x`) or mis-attribute a section (`@`) are owed and written, in order, before anything else
 * once the disk has room again.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RuntimeError, type Logger } from '@devo-collector/common';
import { OUTPUT_ERROR } from '../errors.js';
import { currentBootId } from '../spool/resume-file.js';

export interface DeliveryLedger {
  /** True when `key` of namespace `ns` (`<input>/<service>`) was made durable recently. */
  has(ns: string, key: string): boolean;
  /**
   * The spool holds the batch's frames in its files, not yet fsynced: records the keys for a
   * restart after a crash of this process (not yet for `has`). Returns the id `add`/`revoke` take.
   */
  pending(ns: string, keys: readonly string[]): number;
  /** Records keys whose spool append is durable, before the ack (`pendingId`: their `pending` call; none: no spool took a frame, memory only). */
  add(ns: string, keys: readonly string[], pendingId?: number): void;
  /** The append of a `pending` batch failed: its keys must not count after a restart. */
  revoke(pendingId: number): void;
  close(): void;
}

interface LedgerOptions {
  /** Directory for the ledger files; null keeps it in memory only (persistence type memory). */
  dir: string | null;
  /** Most keys remembered (oldest forgotten first). */
  capacity?: number;
  /** `ledger.log` is rotated past this size; default `ledgerFileBytesFor` the filesystem. */
  maxFileBytes?: number;
  logger: Logger;
  /** The running kernel's boot id (tests); default /proc/sys/kernel/random/boot_id. */
  bootId?: Buffer;
}

type SectionLine = [section: '@', bootId: string, session: string];
type PendingLine = [pending: '?', id: number, ns: string, keys: string[]];
type IdLine = [confirmedOrRevoked: '!' | 'x', id: number];
type Line = SectionLine | PendingLine | IdLine;

/** 200k keys of ~20-40 bytes: ~15 MB of memory, minutes of traffic even at 10k records/s. */
const DEFAULT_LEDGER_CAPACITY = 200_000;
const DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024;

/**
 * The rotation size for a filesystem of `fsBytes`: 8 MiB, or 1/32 of a smaller one (at least
 * 64 KiB). The two files must stay a small part of the disk the spool shares: 16 MiB of ledger
 * would fill a small persistence volume on its own. A smaller file only remembers fewer keys
 * across a restart (a duplicate at worst, never a loss).
 */
export function ledgerFileBytesFor(fsBytes: number): number {
  return Math.max(64 * 1024, Math.min(DEFAULT_MAX_FILE_BYTES, Math.floor(fsBytes / 32)));
}
const SEP = '\u0000';

/** A Set keeps insertion order: its first element is the oldest, so eviction is O(1). */
function remember(keys: Set<string>, capacity: number, k: string): void {
  keys.delete(k); // re-adding moves it to the newest end
  keys.add(k);
  if (keys.size > capacity) keys.delete(keys.values().next().value as string);
}

/** One ledger file as read: its text ('' when there is none), or the code its read failed with. */
export type LedgerFileRead = { file: string; text: string } | { file: string; code: string };

/**
 * `keys`: `<ns>\0<key>` trusted, oldest first, at most `capacity`; `torn`: lines skipped (cut by a
 * crash mid-write, their batch never acked; or no line of this format); `unconfirmed`: pending
 * batches of a section before a reboot, ignored; `openLine`: the last file ends mid-line.
 */
export interface LoadedLedger { keys: Set<string>; torn: number; unconfirmed: number; openLine: boolean }

/** The ledger's state from its files (oldest first), without I/O (see the header); an unreadable file is RuntimeError(502). */
export function loadLedger(files: readonly LedgerFileRead[], bootId: string, capacity: number): LoadedLedger {
  const state: LoadedLedger = { keys: new Set(), torn: 0, unconfirmed: 0, openLine: false };
  // Pending lines of the section being read, until confirmed, revoked, or the section ends.
  let section = { boot: '', session: '' };
  let pending = new Map<number, PendingLine>();
  const trust = ([, , ns, list]: PendingLine): void => {
    for (const k of list) remember(state.keys, capacity, ns + SEP + k);
  };
  const endSection = (): void => {
    if (section.boot === bootId) for (const p of pending.values()) trust(p);
    else state.unconfirmed += pending.size;
    pending = new Map();
  };
  for (const f of files) {
    if ('code' in f) {
      // Forgetting it would let duplicates in without a word: the operator decides.
      throw new RuntimeError(
        502,
        `The delivery ledger "${f.file}" cannot be read (${f.code}). Nothing was changed. Make it readable, or remove it: ` +
          'records sent again after the last crash may then be spooled twice',
      );
    }
    state.openLine = f.text !== '' && !f.text.endsWith('\n');
    for (const raw of f.text.split('\n')) {
      if (raw === '') continue;
      let l: Line | [] = [];
      try {
        const line: unknown = JSON.parse(raw);
        if (Array.isArray(line)) l = line as Line;
      } catch {
        // stays []: torn, counted below
      }
      if (l[0] === '@') {
        // A rotation repeats the header of its session: the section goes on.
        if (l[2] !== section.session) {
          endSection();
          section = { boot: l[1], session: l[2] };
        }
      } else if (l[0] === '?') {
        pending.set(l[1], l);
      } else if (l[0] === '!' || l[0] === 'x') {
        const p = pending.get(l[1]);
        if (p && l[0] === '!') trust(p);
        pending.delete(l[1]);
      } else {
        state.torn += 1;
      }
    }
  }
  endSection();
  return state;
}

export function openDeliveryLedger(opts: LedgerOptions): DeliveryLedger {
  const capacity = Math.max(1, opts.capacity ?? DEFAULT_LEDGER_CAPACITY);
  let maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  let keys = new Set<string>();
  let fd: number | null = null;
  let fileBytes = 0;
  /** Lines that must still be written before any other (see the header). */
  const owed: Buffer[] = [];
  let failing = false;
  let rotateFailing = false;
  /** A rotation renamed the file but could not open the new one yet: `fd` is `previous`. */
  let renamed = false;
  const current = opts.dir ? path.join(opts.dir, 'ledger.log') : '';
  const previous = opts.dir ? path.join(opts.dir, 'ledger.prev.log') : '';

  const bootId = (opts.bootId ?? currentBootId()).toString('hex');
  const section = Buffer.from(`${JSON.stringify(['@', bootId, randomBytes(8).toString('hex')])}\n`, 'utf8');
  if (opts.dir) {
    fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    if (opts.maxFileBytes === undefined) {
      const st = fs.statfsSync(opts.dir);
      maxFileBytes = ledgerFileBytesFor(st.bsize * st.blocks);
    }
    const read = (file: string): LedgerFileRead => {
      try {
        return { file, text: fs.readFileSync(file, 'utf8') };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        return code === 'ENOENT' ? { file, text: '' } : { file, code };
      }
    };
    const loaded = loadLedger([previous, current].map(read), bootId, capacity);
    keys = loaded.keys;
    const torn = loaded.torn ? ` (${loaded.torn} torn lines skipped)` : '';
    const unconfirmed = loaded.unconfirmed ? ` (${loaded.unconfirmed} batches written before a reboot and never confirmed durable ignored)` : '';
    if (keys.size > 0 || torn || unconfirmed) opts.logger.info(`Delivery ledger: ${keys.size} recently spooled record ids loaded${torn}${unconfirmed}`);
    fd = fs.openSync(current, 'a', 0o600);
    fileBytes = fs.fstatSync(fd).size;
    // End a line torn by a crash, or the next line would be glued to it and lost as well.
    if (loaded.openLine) owed.push(Buffer.from('\n'));
    owed.push(section);
    flushOwed();
  }

  /** Appends `bytes` whole or not at all (a partial write is truncated away). */
  function append(bytes: Buffer): boolean {
    if (fd === null) return false;
    try {
      // A short write (the disk filling up) goes on with the rest: it writes or throws ENOSPC.
      for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done);
      fileBytes += bytes.length;
    } catch (err) {
      try {
        fs.ftruncateSync(fd, fileBytes);
      } catch {
        // The next line starts with a newline (owed below) so the torn one stays alone.
        owed.unshift(Buffer.from('\n'));
      }
      if (!failing) {
        opts.logger.error(
          `OutputError(${OUTPUT_ERROR.ledgerWrite}): Delivery ledger write failed: ${(err as Error).message}; retrying with the next line ` +
            '(batches are not affected; a crash meanwhile may re-send some records)',
        );
      }
      failing = true;
      return false;
    }
    if (failing) opts.logger.info('Delivery ledger: writing again');
    failing = false;
    return true;
  }

  /** Writes the owed lines in order; false while some remain. */
  function flushOwed(): boolean {
    while (owed.length > 0) {
      if (!append(owed[0] as Buffer)) return false;
      owed.shift();
    }
    return true;
  }

  function rotate(): void {
    if (fd === null) return;
    // The old file stays open (and written) until the new one exists: a failed rename or open
    // (a full disk) keeps the ledger working in the file it has, retried at the next line.
    try {
      if (!renamed) fs.renameSync(current, previous);
      renamed = true;
      const next = fs.openSync(current, 'a', 0o600);
      fs.closeSync(fd);
      fd = next;
      fileBytes = 0;
      renamed = false;
      rotateFailing = false;
      owed.push(section);
    } catch (err) {
      if (!rotateFailing) opts.logger.error(`OutputError(${OUTPUT_ERROR.ledgerWrite}): Delivery ledger rotation failed: ${(err as Error).message}; retrying with the next line`);
      rotateFailing = true;
    }
  }

  /**
   * One line, synchronously; a failure only risks a duplicate after a crash, never the batch.
   * `mustKeep`: owed until it is written (see the header).
   */
  function write(line: Line, mustKeep = false): void {
    if (fd === null) return;
    const bytes = Buffer.from(`${JSON.stringify(line)}\n`, 'utf8');
    if (!flushOwed() || !append(bytes)) {
      if (mustKeep) owed.push(bytes);
      return;
    }
    if (fileBytes > maxFileBytes) {
      rotate();
      flushOwed();
    }
  }

  let nextId = 0;
  return {
    has: (ns, key) => keys.has(ns + SEP + key),
    pending(ns, list) {
      const id = ++nextId;
      if (list.length > 0) write(['?', id, ns, list as string[]]);
      return id;
    },
    add(ns, list, pendingId) {
      for (const k of list) remember(keys, capacity, ns + SEP + k);
      if (list.length > 0 && pendingId !== undefined) write(['!', pendingId]);
    },
    revoke(pendingId) {
      write(['x', pendingId], true);
    },
    close() {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}
