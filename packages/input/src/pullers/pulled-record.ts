/**
 * A record as the time-slot puller keeps it between fetch and delivery: its dedup key, content
 * hash, filter time and compact JSON text. Reduced as soon as the response arrives, so a window
 * fetched ahead is held as texts, not as a parsed object graph (several times larger, and long
 * lived enough to be promoted and then collected by the expensive old-generation GC).
 */
import type { ServiceProfile } from './service-profile.js';

export interface PulledRecord {
  key: string;
  hash: string;
  timeMs: number | null;
  text: string;
}

/**
 * `text`: the record's own JSON from the response, `compact` when it can be sent as it is (the
 * appliance's bytes, no re-stringify). `complete`: `value` is the whole parsed record, not just
 * `profile.fields`.
 */
export function pullRecord(profile: ServiceProfile, value: unknown, text: string, compact: boolean, complete: boolean): PulledRecord {
  const idField = profile.fields?.[0];
  // Without its id field a record is keyed by a hash of all of it; re-stringified unless compact.
  if (!complete && (idField === undefined || !hasField(value, idField) || !compact)) {
    value = JSON.parse(text) as unknown;
  }
  return {
    key: profile.key(value),
    hash: profile.contentHash(value),
    timeMs: profile.recordTimeMs(value),
    text: compact ? text : JSON.stringify(value),
  };
}

function hasField(value: unknown, name: string): boolean {
  const v = value && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
  return v !== undefined && v !== null;
}
