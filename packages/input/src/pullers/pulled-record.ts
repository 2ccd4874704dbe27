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
 * `text`: the record's own compact JSON from the response when the client could hand it over
 * (the appliance's bytes, no re-stringify); null to stringify the parsed value.
 */
export function pullRecord(profile: ServiceProfile, value: unknown, text: string | null): PulledRecord {
  return {
    key: profile.key(value),
    hash: profile.contentHash(value),
    timeMs: profile.recordTimeMs(value),
    text: text ?? JSON.stringify(value),
  };
}
