/** The persisted document of one (input, id, service). Never holds a secret. */
import type { LookupColumn } from '@devo-collector/common';
import type { SeenEntry } from './seen-ids.js';

/** Lookup services: the inventory as last sent and acknowledged durable. */
export interface LookupStateDoc {
  name: string;
  columns: LookupColumn[];
  keyIndex: number;
  /** Row (column order) by key. */
  rows: Record<string, string[]>;
  /** Id of the last job sent (informative). */
  lookup_id: string;
}

export interface ServiceStateDoc {
  persistence_version: number;
  input_name: string;
  input_id: string;
  service: string;
  /** `start_time_in_utc_format` as configured when this state was created. */
  start_time: string | null;
  /**
   * The score filters in effect when the state was last opened (`minscore=0.5`, '' for none; absent
   * in documents written before filters existed, which means none). A change keeps the cursor and
   * the seen ids (state-store.ts says why); it is only logged.
   */
  filters?: string;
  /** Everything with filter time < cursor_ms is delivered and acknowledged (time-slot services). */
  cursor_ms: number | null;
  /** Max record time seen (computed, never taken from response order); informative. */
  last_record_time_ms: number | null;
  /** Stateless services: when the last snapshot was acknowledged. */
  last_pull_ms: number | null;
  /** Oldest first. */
  seen: SeenEntry[];
  /** Lookup services: the last inventory sent (absent or null: none yet, the next job is a FULL). */
  lookup?: LookupStateDoc | null;
  updated_at: string | null;
}

export function emptyServiceState(
  version: number,
  ids: { inputName: string; inputId: string; service: string },
  startTime: string | null,
): ServiceStateDoc {
  return {
    persistence_version: version,
    input_name: ids.inputName,
    input_id: ids.inputId,
    service: ids.service,
    start_time: startTime,
    cursor_ms: null,
    last_record_time_ms: null,
    last_pull_ms: null,
    seen: [],
    updated_at: null,
  };
}
