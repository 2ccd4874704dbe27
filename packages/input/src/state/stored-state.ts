/**
 * The persisted document as the state store opens it, apart from the store's writes: read and
 * checked (a file that exists but cannot be used is RuntimeError(501) and is never reset), then
 * upgraded to this build's persistence_version.
 */
import { RuntimeError } from '@devo-collector/common';
import { StateFileUnusable, type AtomicJsonFileAdapter } from './atomic-file-adapter.js';
import type { ServiceStateDoc } from './service-state.js';

/** Upgrades a document from version `n` to `n + 1`. */
export type StateMigration = (doc: Record<string, unknown>) => Record<string, unknown>;

/**
 * The persisted document, or null when there is none. A file that exists but cannot be used stops
 * the start with RuntimeError(501): resetting it would silently collect again (or skip) what the
 * cursor covered, so the operator decides, and the file is left exactly as it was.
 */
export async function readStoredState(adapter: AtomicJsonFileAdapter<ServiceStateDoc>, startTimeText: string | null): Promise<Record<string, unknown> | null> {
  let doc: unknown;
  try {
    doc = await adapter.read();
  } catch (err) {
    if (err instanceof StateFileUnusable) throw stateFileError(err.filePath, err.problem, startTimeText);
    throw err;
  }
  if (doc === null) return null;
  const d = doc as Record<string, unknown>;
  const problem =
    typeof doc !== 'object' || Array.isArray(doc) ? 'is not a state document (a JSON object)'
      : d.persistence_version !== undefined && typeof d.persistence_version !== 'number' ? 'has a persistence_version that is not a number'
      : d.cursor_ms !== undefined && d.cursor_ms !== null && typeof d.cursor_ms !== 'number' ? 'has a cursor_ms that is not a number'
      : d.seen !== undefined && !Array.isArray(d.seen) ? 'has a seen list that is not a list'
      : d.lookup !== undefined && d.lookup !== null && (typeof d.lookup !== 'object' || typeof (d.lookup as Record<string, unknown>).rows !== 'object') ? 'has a lookup inventory that is not one'
      : null;
  if (problem) throw stateFileError(adapter.filePath, problem, startTimeText);
  return d;
}

function stateFileError(file: string, problem: string, startTimeText: string | null): RuntimeError {
  const from = startTimeText === null
    ? 'the service then takes its next snapshot at once'
    : startTimeText
      ? `the service then collects again from start_time_in_utc_format (${startTimeText}); records still in the output's delivery ledger (the most recently spooled) are not sent twice, older ones are sent again`
      : 'the service then starts one window before now (no start_time_in_utc_format is set): what happened between its last collected window and then is not collected';
  return new RuntimeError(
    501,
    `The state file "${file}" ${problem}. Nothing was changed. Restore it from a backup, or remove it to start this service's state again (${from})`,
  );
}

/** The document upgraded to `opts.version`; null when it cannot be (newer, or a step missing): start afresh. */
export function migrateState(
  stored: Record<string, unknown>,
  opts: { version: number; migrations?: Readonly<Record<number, StateMigration>> | undefined },
  plog: (m: string) => void,
): ServiceStateDoc | null {
  let doc = stored;
  let v = typeof doc.persistence_version === 'number' ? doc.persistence_version : 0;
  if (v > opts.version) {
    plog(`Persisted data has a newer format (Version ${v}) than this build (Version ${opts.version}); the persisted values will be removed`);
    return null;
  }
  while (v < opts.version) {
    const step = opts.migrations?.[v];
    if (!step) {
      plog(`No migration from Version ${v} to Version ${v + 1}; the persisted values will be removed`);
      return null;
    }
    doc = { ...step(doc), persistence_version: v + 1 };
    plog(`Migrated persisted data from Version ${v} to Version ${v + 1}`);
    v += 1;
  }
  return doc as unknown as ServiceStateDoc;
}
