/**
 * Legacy lookup line protocol over the syslog stream (devo-sdk `Lookup`, reference/devo.md §2): the
 * line encoder of a LookupJob (common lookup-job.ts). Lines are sent with the default header date
 * (`Jan  1 00:00:00`), PRI 14 and the local host name, like devo-sdk does.
 *
 *   control: tag my.lookup.control.<name>.<FULL|INC>, message <id>_<name>|<START|END>|<headers JSON>
 *   data:    tag my.lookup.data.<name>[.DELETE],      message <id>_<name>|<key>,<col>,...
 */
import type { LookupAction, LookupColumn, LookupJob } from '@devo-collector/common';
import { DEVO_DEFAULT_DATE, formatDevoLine } from './format.js';

export type { LookupAction, LookupColumn, LookupColumnType } from '@devo-collector/common';
export type LookupControlOp = 'START' | 'END';

export interface LookupSpec {
  /** `^[A-Za-z0-9_]+$` */
  name: string;
  /** devo-sdk uses `str(time.time())`, e.g. `1714566896.123456`. */
  lookupId: string;
  /** Columns in row order; `keyIndex` names the key column. */
  columns: readonly LookupColumn[];
  keyIndex: number;
  escapeQuotes?: boolean;
  escapeNewline?: boolean;
}

export interface TaggedMessage {
  tag: string;
  message: string;
}

const NAME = /^[A-Za-z0-9_]+$/;
const NUMERIC = /^-?\d+((\.\d+)*)$/;

function checkSpec(spec: LookupSpec): void {
  if (!NAME.test(spec.name)) throw new RangeError(`invalid lookup name "${spec.name}" (expected ^[A-Za-z0-9_]+$)`);
  if (!spec.columns[spec.keyIndex]) throw new RangeError(`lookup key index ${spec.keyIndex} out of range`);
}

/** Key column first, then the others in order. */
function keyFirst<T>(items: readonly T[], keyIndex: number): T[] {
  const key = items[keyIndex];
  const rest = items.filter((_, i) => i !== keyIndex);
  return key === undefined ? rest : [key, ...rest];
}

/** `[{"did":{"type":"str","key":true}},{"hostname":{"type":"str"}}]`, no spaces, key column first. */
export function lookupHeadersJson(columns: readonly LookupColumn[], keyIndex: number): string {
  return `[${keyFirst(columns, keyIndex)
    .map((c, i) => `{${JSON.stringify(c.name)}:{"type":${JSON.stringify(c.type)}${i === 0 ? ',"key":true' : ''}}}`)
    .join(',')}]`;
}

/**
 * One CSV field: stripped; numeric-looking values (`42`, `10.0.0.5`, `008744`) stay unquoted,
 * anything else is quoted; inner quotes are doubled only with escapeQuotes, LF becomes `\n` only
 * with escapeNewline (devo-sdk's behaviour, quirks included).
 */
export function formatLookupField(value: string, escapeQuotes = false, escapeNewline = false): string {
  let v = value.trim();
  if (NUMERIC.test(v)) return v;
  if (escapeQuotes) v = v.replaceAll('"', '""');
  if (escapeNewline) v = v.replaceAll('\n', '\\n');
  return `"${v}"`;
}

export function lookupControlMessage(spec: LookupSpec, action: LookupAction, op: LookupControlOp): TaggedMessage {
  checkSpec(spec);
  return {
    tag: `my.lookup.control.${spec.name}.${action}`,
    message: `${spec.lookupId}_${spec.name}|${op}|${lookupHeadersJson(spec.columns, spec.keyIndex)}`,
  };
}

/** `row` is in column order; the key field is moved first. `remove` sends a DELETE-by-key row. */
export function lookupDataMessage(spec: LookupSpec, row: readonly string[], remove = false): TaggedMessage {
  checkSpec(spec);
  if (row.length !== spec.columns.length) {
    throw new RangeError(`lookup row has ${row.length} fields, expected ${spec.columns.length}`);
  }
  const fields = keyFirst(row, spec.keyIndex).map((f) => formatLookupField(f, spec.escapeQuotes, spec.escapeNewline));
  return {
    tag: `my.lookup.data.${spec.name}${remove ? '.DELETE' : ''}`,
    message: `${spec.lookupId}_${spec.name}|${fields.join(',')}`,
  };
}

/** A whole lookup upload as lines: START, the rows (adds, then deletes), END. */
export function lookupLines(
  spec: LookupSpec,
  action: LookupAction,
  hostname: string,
  rows: readonly string[][],
  deletes: readonly string[][] = [],
): string[] {
  const line = (m: TaggedMessage): string => formatDevoLine({ ...m, hostname, date: DEVO_DEFAULT_DATE });
  return [
    line(lookupControlMessage(spec, action, 'START')),
    ...rows.map((r) => line(lookupDataMessage(spec, r))),
    ...deletes.map((r) => line(lookupDataMessage(spec, r, true))),
    line(lookupControlMessage(spec, action, 'END')),
  ];
}

/**
 * A job's lines (START, upserts, DELETE rows, END). Quotes are doubled and LFs written `\n`
 * (devo-sdk's escape_quotes/escape_newline, capture 07's form): inventory values are free text
 * (host names, tag names) and an unescaped quote or LF would break the row or the line.
 */
export function lookupJobLines(job: LookupJob, hostname: string): string[] {
  const spec: LookupSpec = { name: job.name, lookupId: job.lookupId, columns: job.columns, keyIndex: job.keyIndex, escapeQuotes: true, escapeNewline: true };
  return lookupLines(spec, job.action, hostname, job.upserts, job.deletes);
}
