/**
 * Diffs an inventory against the one last sent and plans the lookup job: a FULL when nothing was
 * sent yet (or the lookup's name or columns changed), else an INC with the rows that changed (any
 * column differs) or are new and the DELETE rows of the keys that are gone; none when nothing did.
 */
import { lookupIdAt, type LookupColumn, type LookupJob } from '@devo-collector/common';
import type { LookupStateDoc } from '../state/service-state.js';

export interface InventoryDiff {
  upserts: string[][];
  deletes: string[][];
}

const sameRow = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** Rows in the order of `next` (the appliance's), deletes in the order of `prev`. */
export function diffInventory(prev: Readonly<Record<string, string[]>>, next: ReadonlyMap<string, string[]>): InventoryDiff {
  const upserts: string[][] = [];
  for (const [key, row] of next) {
    const before = prev[key];
    if (!before || !sameRow(before, row)) upserts.push(row);
  }
  const deletes = Object.keys(prev).filter((k) => !next.has(k)).map((k) => prev[k] as string[]);
  return { upserts, deletes };
}

export interface LookupPlan {
  /** null: nothing changed, nothing to send. */
  job: LookupJob | null;
  /** The state to commit once the job is acknowledged durable. */
  state: LookupStateDoc;
}

export interface PlanInput {
  name: string;
  columns: readonly LookupColumn[];
  keyIndex: number;
  rows: readonly string[][];
  previous: LookupStateDoc | null | undefined;
  nowMs: number;
}

function sameColumns(a: readonly LookupColumn[], b: readonly LookupColumn[]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i]?.name && c.type === b[i]?.type);
}

/** Keyed rows; a key seen twice keeps its last row (one row per key in a lookup). */
function byKey(rows: readonly string[][], keyIndex: number): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of rows) m.set(r[keyIndex] as string, r);
  return m;
}

export function planLookupJob(p: PlanInput): LookupPlan {
  const next = byKey(p.rows, p.keyIndex);
  const lookupId = lookupIdAt(p.nowMs);
  const columns = p.columns.map((c) => ({ ...c }));
  const state: LookupStateDoc = { name: p.name, columns, keyIndex: p.keyIndex, rows: Object.fromEntries(next), lookup_id: lookupId };
  const prev = p.previous;
  const base = { name: p.name, lookupId, columns, keyIndex: p.keyIndex };
  if (!prev || prev.name !== p.name || prev.keyIndex !== p.keyIndex || !sameColumns(prev.columns, p.columns)) {
    return { job: { ...base, action: 'FULL', upserts: [...next.values()], deletes: [] }, state };
  }
  const d = diffInventory(prev.rows, next);
  if (d.upserts.length === 0 && d.deletes.length === 0) return { job: null, state: { ...state, lookup_id: prev.lookup_id } };
  return { job: { ...base, action: 'INC', ...d }, state };
}
