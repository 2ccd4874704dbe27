/**
 * The devices lookup's columns and how a `/devices` record fills them (reference §3.1 "device").
 * Every column is `str`: devo-sdk types the key `str` whatever its values (capture 06), and absent
 * fields (the appliance omits unknown ones) are empty strings, which a numeric column would refuse.
 */
import type { LookupColumn } from '@devo-collector/common';

export const DEVICE_COLUMNS: readonly LookupColumn[] = [
  'did',
  'ip',
  'macaddress',
  'hostname',
  'vendor',
  'os',
  'typename',
  'typelabel',
  'firstSeen',
  'lastSeen',
  'tags',
].map((name) => ({ name, type: 'str' as const }));
export const DEVICE_KEY_INDEX = 0;
/** Tag names are joined with this (a comma would read as a second value in a SOC's CSV tools). */
export const TAG_SEPARATOR = ';';

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

/** `tags[{tid,name,...}]` -> their names, in the appliance's order. */
function tagNames(v: unknown): string {
  if (!Array.isArray(v)) return '';
  return v.map((t) => (t && typeof t === 'object' ? text((t as Record<string, unknown>).name) : text(t))).filter((n) => n !== '').join(TAG_SEPARATOR);
}

/** The row of one device (column order), or null for a record without a `did`. */
export function deviceRow(record: unknown): string[] | null {
  if (!record || typeof record !== 'object') return null;
  const r = record as Record<string, unknown>;
  if (r.did === undefined || r.did === null || text(r.did) === '') return null;
  return DEVICE_COLUMNS.map((c) => (c.name === 'tags' ? tagNames(r.tags) : text(r[c.name])));
}
