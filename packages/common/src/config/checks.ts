/** Small predicates shared by the definitions and user-config validators. */
import { InitVariablesError } from '../errors.js';

export type Dict = Record<string, unknown>;

export function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The vendor treats missing, null, '' and {} alike as "missing or empty". */
export function isMissingOrEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === 'string') return v.trim().length === 0;
  if (isDict(v)) return Object.keys(v).length === 0;
  return false;
}

export function fail(code: number, message: string): never {
  throw new InitVariablesError(code, message);
}

/** Render a user value in an error message without leaking secrets or huge blobs. */
export function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
