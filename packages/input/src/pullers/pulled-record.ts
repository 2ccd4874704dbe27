/**
 * A record as the time-slot puller keeps it between fetch and delivery: its dedup key, content
 * hash, filter time, size and (on demand) compact JSON text. Reduced as soon as the response
 * arrives, so a window fetched ahead is held as its raw response bytes (off the JS heap), not as
 * a parsed object graph; the text of a record is decoded only when it is delivered, and then
 * lives only until acked, mostly without leaving the young generation.
 */
import type { RawText } from '../client.js';
import type { ServiceProfile } from './service-profile.js';

export interface PulledRecord {
  key: string;
  hash: string;
  timeMs: number | null;
  /** JSON bytes as received (sizes windows). */
  size: number;
  /** The compact JSON sent to Devo. */
  text(): string;
  /** The same as UTF-8 bytes: the response's own bytes when compact (never a JS string). */
  bytes(): Buffer;
}

/**
 * `raw`: the record's own JSON from the response, sent as it is when compact (the appliance's
 * bytes, no re-stringify). `complete`: `value` is the whole parsed record, not just
 * `profile.fields`.
 */
export function pullRecord(profile: ServiceProfile, value: unknown, raw: RawText, complete: boolean): PulledRecord {
  const idField = profile.fields?.[0];
  // Without its id field a record is keyed by a hash of all of it; re-stringified unless compact.
  if (!complete && (idField === undefined || !hasField(value, idField) || !raw.compact)) {
    value = JSON.parse(raw.text()) as unknown;
  }
  const base = { key: profile.key(value), hash: profile.contentHash(value), timeMs: profile.recordTimeMs(value), size: raw.size };
  if (raw.compact) return { ...base, text: () => raw.text(), bytes: () => (raw.bytes ? raw.bytes() : Buffer.from(raw.text(), 'utf8')) };
  const text = JSON.stringify(value);
  return { ...base, text: () => text, bytes: () => Buffer.from(text, 'utf8') };
}

/** A record that only exists parsed (the plain `get` path): its text is JSON.stringify of it. */
export function parsedRecord(profile: ServiceProfile, value: unknown): PulledRecord {
  const text = JSON.stringify(value);
  return pullRecord(profile, value, { size: text.length, compact: true, text: () => text }, true);
}

function hasField(value: unknown, name: string): boolean {
  const v = value && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
  return v !== undefined && v !== null;
}
