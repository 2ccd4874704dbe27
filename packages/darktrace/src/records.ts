/**
 * `getRecords`' fast path, apart from the request and retry code: an array answer validated by one
 * scan and split into its elements' own bytes (`RawRecord`), with only the fields a caller asked
 * for parsed. Anything else returns null and takes the text path, so errors and non-array answers
 * are exactly those of `get`.
 */
import type { BodyBuffer } from './body-buffer.js';
import type { AttemptOutcome } from './outcome.js';
import { splitJsonArray, type ElementSlice } from './json-array-split.js';

/**
 * Called for each element of an array answer with its raw bytes. `value` is the parsed element
 * (`complete`), or, when `fields` were given and the element is an object, an object with only
 * those of its top-level fields that are present (`complete` false).
 */
export type RecordMapper<T> = (value: unknown, raw: RawRecord, complete: boolean) => T;

/**
 * An element's own JSON in the response body. Decoded only when asked: a caller that drops the
 * element (a duplicate) never pays for it, and one that holds it ahead holds bytes off the JS heap.
 */
export class RawRecord {
  constructor(
    private readonly body: Buffer,
    private readonly start: number,
    private readonly end: number,
    /** No whitespace outside strings: the text is already compact JSON. */
    readonly compact: boolean,
  ) {}

  /** Size in bytes. */
  get size(): number {
    return this.end - this.start;
  }

  text(): string {
    return this.body.toString('utf8', this.start, this.end);
  }

  /** The bytes themselves (a view into the body, no copy). */
  bytes(): Buffer {
    return this.body.subarray(this.start, this.end);
  }
}

export interface RecordsOptions<T> {
  signal?: AbortSignal;
  /** Top-level fields the caller needs: only these are parsed (the scan validates the rest). */
  fields?: readonly string[];
  each: RecordMapper<T>;
}

/** A `getRecords` answer: the mapped elements (`release`: BodyBuffer.release), or the parsed body when it is not an array. */
export type RecordsAnswer<T> = { records: T[]; release: () => void } | { body: unknown };

/** The elements of an array answer, already mapped (an `ok` outcome's body). */
export class MappedRecords {
  constructor(
    readonly records: unknown[],
    readonly release: () => void,
  ) {}
}

/**
 * One scan validates the body and splits it into element texts; only the requested fields are
 * parsed (whole elements when no fields are given or a projection is not possible). Null when the
 * body is anything else.
 */
export function splitRecords(status: number, contentType: string, body: BodyBuffer, o: RecordsOptions<unknown>): AttemptOutcome | null {
  if (status === 204 || /text\/html/i.test(contentType)) return null;
  const bytes = body.bytes();
  const fields = o.fields ?? [];
  const slices = splitJsonArray(bytes, fields);
  if (!slices) return null;
  const records: unknown[] = new Array(slices.length);
  try {
    for (let i = 0; i < slices.length; i++) {
      const s = slices[i] as ElementSlice;
      const raw = new RawRecord(bytes, s.start, s.end, s.compact);
      if (o.fields && s.fields) {
        const projection: Record<string, unknown> = {};
        for (let f = 0; f < fields.length; f++) {
          const at = s.fields[f];
          if (at) projection[fields[f] as string] = JSON.parse(bytes.toString('utf8', at[0], at[1]));
        }
        records[i] = o.each(projection, raw, false);
      } else {
        records[i] = o.each(JSON.parse(raw.text()), raw, true);
      }
    }
  } catch {
    return null; // the scan accepted what JSON.parse refuses: let JSON.parse of the body decide
  }
  return { kind: 'ok', status, body: new MappedRecords(records, () => body.release()) };
}
