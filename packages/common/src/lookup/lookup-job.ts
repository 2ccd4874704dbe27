/**
 * A lookup job: what a lookup service (devices) wants Devo to hold, independent of how it is sent.
 * The input builds it (diffing the inventory against the last one sent); it travels as the one
 * record of a `lookup` group batch (same lane, spool, ledger and ack as events); the output turns
 * it into the wire form of its sender. Today that is devo-sdk's line protocol (output
 * lookup-format.ts); Devo's Lookups REST API, which replaces that protocol, would take the same job.
 */

export type LookupAction = 'FULL' | 'INC';
export type LookupColumnType = 'str' | 'int' | 'int4' | 'int8' | 'float' | 'bool' | 'ip4';

export interface LookupColumn {
  name: string;
  type: LookupColumnType;
}

export interface LookupJob {
  /** Devo lookup name, `^[A-Za-z0-9_]+$`. */
  name: string;
  /** FULL replaces the whole lookup with `upserts`; INC adds/updates `upserts` and removes `deletes`. */
  action: LookupAction;
  /** devo-sdk's `str(time.time())` form, e.g. `1714566896.123456`. */
  lookupId: string;
  /** Columns in row order; `keyIndex` names the key column. */
  columns: LookupColumn[];
  keyIndex: number;
  /** Rows to add or update, each in column order. */
  upserts: string[][];
  /** Rows to remove (their last sent content, as devo-sdk sends DELETE rows), in column order. */
  deletes: string[][];
}

/** `1714566896.123000`: seconds with six decimals, like Python's `str(time.time())`. */
export function lookupIdAt(epochMs: number): string {
  return (epochMs / 1000).toFixed(6);
}

/** The job as the text of its batch record (compact JSON, no raw LF). */
export function serializeLookupJob(job: LookupJob): string {
  return JSON.stringify(job);
}

const ACTIONS: readonly string[] = ['FULL', 'INC'];
const isRows = (v: unknown): v is string[][] => Array.isArray(v) && v.every((r) => Array.isArray(r) && r.every((f) => typeof f === 'string'));

/** The job of a batch record; throws a RangeError naming what is wrong when it is not one. */
export function parseLookupJob(text: string): LookupJob {
  const j = JSON.parse(text) as Partial<LookupJob> | null;
  const problem =
    !j || typeof j !== 'object' ? 'not an object'
      : typeof j.name !== 'string' ? 'no name'
      : !ACTIONS.includes(j.action as string) ? `action ${String(j.action)}`
      : typeof j.lookupId !== 'string' ? 'no lookupId'
      : !Array.isArray(j.columns) || !j.columns.every((c) => c && typeof c.name === 'string' && typeof c.type === 'string') ? 'columns'
      : !Number.isInteger(j.keyIndex) ? 'keyIndex'
      : !isRows(j.upserts) || !isRows(j.deletes) ? 'rows'
      : null;
  if (problem) throw new RangeError(`not a lookup job (${problem})`);
  return j as LookupJob;
}
