/**
 * One lowdb document per (input name, input id, service): `<name>;<id>;<service>.json` under the
 * persistence directory, written atomically with mode 0600, or kept in memory only when state
 * saving is off. Opening the store runs the version migrations and the documented start_time
 * reset ("Restart the persistence").
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Low, Memory } from 'lowdb';
import { backoffDelayMs, createLogger, RuntimeError, sleep, type BackoffPolicy, type Logger } from '@devo-collector/common';
import { AtomicJsonFileAdapter } from './atomic-file-adapter.js';
import { emptyServiceState, type ServiceStateDoc } from './service-state.js';
import { migrateState, readStoredState, type StateMigration } from './stored-state.js';

export interface StateStoreOptions {
  mode: 'filesystem' | 'memory';
  directory: string;
  inputName: string;
  inputId: string;
  service: string;
  /** The configured start_time text (time-slot services) or null. */
  startTimeText: string | null;
  /** The service's score filters as `scoreFiltersText` writes them ('' for none); undefined: not a filtered service. */
  filtersText?: string;
  /** `persistence_version` this build writes (service.persistenceVersion). */
  version: number;
  /** Keyed by the version they upgrade from. */
  migrations?: Readonly<Record<number, StateMigration>>;
  /** Component name of the owner (puller) for log lines. */
  ownerName: string;
  /** Backoff of a failed write's retries (tests); default 1 s doubling up to 30 s. */
  writeRetry?: BackoffPolicy;
  /** `writeBlocked` changed (set at the first failed write, null again after a good one): readiness. */
  onWriteBlocked?: (blocked: StateStore['writeBlocked']) => void;
}

/** RuntimeError id of a state file that cannot be written (disk full, ...); documented in docs/errors.md. */
export const STATE_WRITE_ERROR = 520;
const DEFAULT_WRITE_RETRY: BackoffPolicy = { baseMs: 1_000, capMs: 30_000 };

export interface StateStore {
  readonly filePath: string | null;
  readonly data: Readonly<ServiceStateDoc>;
  /**
   * True when this open discarded the persisted state because `start_time` changed: the user asked
   * to collect again, so records already sent must be sent again (no replay filtering).
   */
  readonly startTimeReset: boolean;
  /**
   * Applies `fn` to the document and persists it; writes are serialized. A failed write (a full
   * disk) is retried with backoff until it succeeds: the promise resolves then (it rejects only
   * when the store closes before a write succeeded).
   */
  update(fn: (doc: ServiceStateDoc) => void): Promise<void>;
  /**
   * Why the document cannot be written now (RuntimeError(520): ENOSPC ... and the file), or null;
   * cleared once a write succeeds. The document is kept in memory meanwhile.
   */
  readonly writeBlocked: { code: number; message: string; sinceMs: number } | null;
  /**
   * `fn` fills the document right before each write: for a part that is costly to copy and
   * changes all the time (the seen ids), so it is copied once per write, not once per update.
   */
  beforeWrite(fn: (doc: ServiceStateDoc) => void): void;
  close(): Promise<void>;
}

/** At most two state writes a second per service (see LowStateStore.minWriteSpacingMs). */
export const STATE_WRITE_SPACING_MS = 500;

export function stateFileName(inputName: string, inputId: string, service: string): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${safe(inputName)};${safe(inputId)};${safe(service)}.json`;
}

class LowStateStore implements StateStore {
  private writing: Promise<void> = Promise.resolve();
  /** A write queued but not started yet: later updates ride on it (it reads the latest data). */
  private queued: Promise<void> | null = null;
  private closed = false;
  startTimeReset = false;
  private readonly fillers: Array<(doc: ServiceStateDoc) => void> = [];
  private lastWriteAt = 0;
  /** Aborted by close: ends the spacing wait of the queued write, or a retry's backoff, at once. */
  private readonly hurry = new AbortController();
  writeBlocked: StateStore['writeBlocked'] = null;

  constructor(
    private readonly db: Low<ServiceStateDoc>,
    readonly filePath: string | null,
    private readonly log: Logger,
    private readonly retry: BackoffPolicy,
    private readonly onWriteBlocked: (blocked: StateStore['writeBlocked']) => void,
    /**
     * Least time between the starts of two writes. Each write rewrites the whole seen list (MBs at
     * a burst), and small volume-sized windows commit many times a second: spacing the writes
     * lets the commits of a burst share one. A crash loses at most this much of cursor progress,
     * and what is pulled again goes out marked replay (the output's ledger drops it).
     */
    private readonly minWriteSpacingMs = 0,
  ) {}

  get data(): Readonly<ServiceStateDoc> {
    return this.db.data;
  }

  update(fn: (doc: ServiceStateDoc) => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error('state store is closed'));
    fn(this.db.data);
    this.db.data.updated_at = new Date().toISOString();
    // Writes are serialized; a burst of commits coalesces into one write of the latest document.
    if (!this.queued) {
      const next = this.writing.then(() => this.wait(this.lastWriteAt + this.minWriteSpacingMs - Date.now())).then(() => {
        this.queued = null;
        return this.writeUntilDone();
      });
      this.queued = next;
      this.writing = next.catch(() => undefined);
    }
    return this.queued;
  }

  /**
   * Writes the latest document, again and again with backoff while the write fails (ENOSPC): the
   * state stays in memory meanwhile, the cursor on disk lags (a restart then pulls again what was
   * pulled since; it goes out marked replay and the output's ledger drops what it holds).
   */
  private async writeUntilDone(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      // close() grants exactly one more attempt: the one started after it (an attempt already in
      // flight when close() came does not count, or the outcome would depend on timing).
      const startedClosed = this.closed;
      this.lastWriteAt = Date.now();
      for (const fill of this.fillers) fill(this.db.data);
      try {
        await this.db.write();
      } catch (err) {
        const delay = backoffDelayMs(attempt, this.retry);
        const message = `cannot write the state file ${this.filePath ?? '<memory>'}: ${(err as Error).message}`;
        if (!this.writeBlocked) {
          this.writeBlocked = { code: STATE_WRITE_ERROR, message, sinceMs: Date.now() };
          this.onWriteBlocked({ ...this.writeBlocked });
          this.log.error(
            `${new RuntimeError(520, message).toString()}; the state is kept in memory and written again ` +
              `(first retry in ${(delay / 1000).toFixed(1)} s); pulling pauses at the end of the cycle until it is written`,
          );
        } else {
          this.writeBlocked.message = message;
        }
        if (startedClosed) throw err;
        await this.wait(delay);
        continue;
      }
      if (this.writeBlocked) {
        this.log.info(`The state file ${this.filePath ?? '<memory>'} is written again after ${((Date.now() - this.writeBlocked.sinceMs) / 1000).toFixed(1)} s`);
        this.writeBlocked = null;
        this.onWriteBlocked(null);
      }
      return;
    }
  }

  /** Waits `ms` (nothing when <= 0 or closed); close ends the wait at once. */
  private wait(ms: number): Promise<void> {
    return ms <= 0 || this.closed ? Promise.resolve() : sleep(ms, this.hurry.signal);
  }

  beforeWrite(fn: (doc: ServiceStateDoc) => void): void {
    this.fillers.push(fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hurry.abort();
    await this.writing;
  }
}

export async function openStateStore(opts: StateStoreOptions): Promise<StateStore> {
  const main = createLogger('MainThread');
  const owner = createLogger(opts.ownerName);
  const plog = (m: string): void => main.info(`${opts.ownerName} -> [PERSISTENCE_SYSTEM] ${m}`);
  const ids = { inputName: opts.inputName, inputId: opts.inputId, service: opts.service };
  const fresh = (): ServiceStateDoc => emptyServiceState(opts.version, ids, opts.startTimeText);

  let filePath: string | null = null;
  let db: Low<ServiceStateDoc>;
  let stored: Record<string, unknown> | null = null;
  if (opts.mode === 'memory') {
    db = new Low<ServiceStateDoc>(new Memory<ServiceStateDoc>(), fresh());
    plog('Created persistence instance, filename_path: <memory> (state is not saved)');
  } else {
    await mkdir(opts.directory, { recursive: true, mode: 0o700 });
    filePath = join(opts.directory, stateFileName(opts.inputName, opts.inputId, opts.service));
    const adapter = new AtomicJsonFileAdapter<ServiceStateDoc>(filePath);
    db = new Low<ServiceStateDoc>(adapter, fresh());
    plog(`Created persistence instance, filename_path: ${filePath}`);
    stored = await readStoredState(adapter, opts.startTimeText);
  }
  // Resolved by the first failed write: the open does not wait for a full disk (below).
  let writeFailed = (): void => undefined;
  const aWriteFailed = new Promise<void>((r) => (writeFailed = r));
  const onWriteBlocked = (b: StateStore['writeBlocked']): void => {
    if (b) writeFailed();
    opts.onWriteBlocked?.(b);
  };
  const store = new LowStateStore(db, filePath, main, opts.writeRetry ?? DEFAULT_WRITE_RETRY, onWriteBlocked, filePath === null ? 0 : STATE_WRITE_SPACING_MS);

  if (stored === null) {
    plog('There is no data persisted with the latest format, any previous persisted data will be migrated');
    plog(`No previous persistence file exists (Version ${opts.version}), filename_path: "${filePath ?? '<memory>'}"`);
    db.data = fresh();
  } else {
    db.data = migrateState(stored, opts, plog) ?? fresh();
  }

  plog('Checking if old persisted data must be removed');
  const previous = db.data.start_time;
  if (opts.startTimeText !== null && previous !== null && previous !== opts.startTimeText) {
    owner.info(
      `The configuration property "start_time" is having a different value from previous collector executions so the persisted values will be removed. The new "start_time" value will be used as starting point, previous_value: "${previous}", new_value: "${opts.startTimeText}"`,
    );
    db.data = fresh();
    store.startTimeReset = true;
  }
  db.data.start_time = opts.startTimeText;
  if (opts.filtersText !== undefined) {
    // Only a kept state has something to keep (a first start or a start_time reset has not).
    if (stored !== null && !store.startTimeReset) noteFilterChange(db.data.filters ?? '', opts.filtersText, owner);
    db.data.filters = opts.filtersText;
  }
  if (filePath !== null) {
    // Written at open (the reset, a migration); on a full disk the open does not wait for it: the
    // store retries in the background and the service starts (its output side frees the disk).
    const first = store.update(() => undefined);
    first.catch(() => undefined);
    await Promise.race([first, aWriteFailed]);
  }
  return store;
}

/**
 * A changed minscore / mingroupscore keeps the cursor and the seen ids, unlike a changed start_time:
 * the operator tuned what is worth an alert from now on, not asked for the past again. Resetting
 * would re-deliver every record the old filter let through since start_time (duplicates in Devo);
 * keeping the seen ids means a record delivered under the old filter is never sent twice. The cost
 * is said in the log line: records a lowered filter would now admit, in windows already collected
 * (older than the cursor minus the overlap), are not fetched. To get them, set
 * start_time_in_utc_format to where to begin again (that is the documented reset; it re-sends).
 */
function noteFilterChange(previous: string, current: string, owner: Logger): void {
  if (previous === current) return;
  const show = (f: string): string => (f === '' ? 'none' : f);
  owner.warn(
    `The score filters changed from previous collector executions (previous_value: "${show(previous)}", new_value: "${show(current)}"). ` +
      'The persisted cursor and delivered ids are kept: records already delivered are not sent again, and the new filters apply from the cursor on ' +
      '(and to the overlap re-read before it); records of already collected windows that the previous filters excluded are not fetched. ' +
      'To collect the past again with the new filters, change start_time_in_utc_format (this resets the state and sends those windows again)',
  );
}
