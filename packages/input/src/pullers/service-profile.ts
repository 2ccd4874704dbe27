/**
 * Per-service API facts that decide correctness (reference §2-§4): query parameters, which record
 * field filters the window, the dedup key and the content fingerprint that triggers a re-emit.
 */
import { createHash } from 'node:crypto';
import type { ServiceConfig } from '@devo-collector/common';
import type { Query } from '../client.js';

export interface ServiceProfile {
  /** Query for a window [startMs, endMs] (epoch ms). */
  windowQuery(startMs: number, endMs: number): Query;
  /** Dedup key of a record. */
  key(record: unknown): string;
  /** Fingerprint of the fields whose change is re-emitted ('' = first-seen only). */
  contentHash(record: unknown): string;
  /** The field the window filters on (epoch ms), to compute the max ourselves. */
  recordTimeMs(record: unknown): number | null;
  /**
   * Every top-level field the three functions above read, the id field first; null when they
   * need the whole record. A record without its id field is always read whole (keyed by a hash
   * of all its content).
   */
  fields: readonly string[] | null;
}

function field(record: unknown, name: string): unknown {
  return record && typeof record === 'object' ? (record as Record<string, unknown>)[name] : undefined;
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}

function toMs(v: unknown): number | null {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

/** A record without its id field still dedups: by a hash of its whole content. */
function keyOrHash(record: unknown, id: string): string {
  const v = field(record, id);
  return v === undefined || v === null ? `#${sha1(JSON.stringify(record))}` : String(v);
}

export function serviceProfile(service: ServiceConfig): ServiceProfile {
  const uid = service.uniqueId;
  // minscore / mingroupscore (config-checked per service): the appliance filters, we send them as is.
  const filters = service.scoreFilters;
  switch (service.name) {
    case 'modelbreaches':
      return {
        // creationtime=true: filter on creationTime, so a breach created hours after its first
        // activity (`time`) still lands in a window after the cursor (reference §4.2).
        windowQuery: (s, e) => ({ starttime: s, endtime: e, creationtime: true, includeacknowledged: true, expandenums: true, ...filters }),
        key: (r) => keyOrHash(r, uid ?? 'pbid'),
        contentHash: () => '',
        recordTimeMs: (r) => toMs(field(r, 'creationTime')),
        fields: [uid ?? 'pbid', 'creationTime'],
      };
    case 'aianalyst_incidentevents':
      return {
        // includeallpinned=false: pinned events otherwise come back on every poll.
        windowQuery: (s, e) => ({ starttime: s, endtime: e, includeacknowledged: true, includeallpinned: false, ...filters }),
        key: (r) => keyOrHash(r, uid ?? 'id'),
        // Re-emit when the incident scoring or grouping changed (groupScore increases, groups merge).
        contentHash: (r) => sha1(JSON.stringify([field(r, 'groupScore') ?? null, field(r, 'currentGroup') ?? null])),
        recordTimeMs: (r) => toMs(field(r, 'createdAt')),
        fields: [uid ?? 'id', 'groupScore', 'currentGroup', 'createdAt'],
      };
    case 'antigena':
      return {
        windowQuery: (s, e) => ({ starttime: s, endtime: e, includecleared: true, includehistory: true }),
        // Each update of an action is its own event: dedup on (codeid, updated).
        key: (r) => `${keyOrHash(r, uid ?? 'codeid')}:${String(field(r, 'updated') ?? '')}`,
        contentHash: () => '',
        recordTimeMs: (r) => toMs(field(r, 'updated')) ?? toMs(field(r, 'start')),
        fields: [uid ?? 'codeid', 'updated', 'start'],
      };
    default:
      return {
        windowQuery: (s, e) => ({ starttime: s, endtime: e }),
        key: (r) => (uid ? keyOrHash(r, uid) : `#${sha1(JSON.stringify(r))}`),
        contentHash: () => '',
        recordTimeMs: () => null,
        fields: uid ? [uid] : null,
      };
  }
}

/** Darktrace answers arrays; tolerate `{actions:[...]}`-style wrappers, refuse anything else. */
export function recordsOf(body: unknown): unknown[] | null {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') {
    const arrays = Object.values(body as Record<string, unknown>).filter(Array.isArray);
    if (arrays.length === 1) return arrays[0] as unknown[];
  }
  return null;
}
