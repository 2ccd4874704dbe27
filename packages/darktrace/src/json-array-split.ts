/**
 * Splits a JSON body that is a top-level array into the raw bytes of each element, validating
 * the whole body against the JSON grammar on the way, and picks out where a few top-level fields
 * of each element object are. The collector forwards each record as the appliance wrote it and
 * parses only the fields dedup needs, instead of parsing every window into one big object graph
 * and re-stringifying every record.
 *
 * Null means "not a valid JSON array" (or something the scanner is unsure of): the caller then
 * takes the plain `JSON.parse` path, so invalid bodies fail with exactly the old messages.
 * The scan itself is WebAssembly (wasm-element-scanner.ts), the only scanner that runs: the input
 * worker always has WebAssembly (undici's HTTP parser needs it too), and the JavaScript twin the
 * fuzz tests hold it to lives with the tests (test/reference-scanner.ts).
 */
import { splitJsonArrayWasm } from './wasm-element-scanner.js';

export interface ElementSlice {
  start: number;
  end: number;
  /** No whitespace outside strings: the slice is already compact JSON. */
  compact: boolean;
  /**
   * For an object element: [start, end) of the value of each requested field found (last wins);
   * null for other elements, or when a top-level key uses escapes (decode the element instead).
   */
  fields: Array<[number, number] | undefined> | null;
}

/** The element slices of a top-level JSON array, or null when the body is not a valid one. */
export function splitJsonArray(b: Uint8Array, fields: readonly string[] = []): ElementSlice[] | null {
  const slices = splitJsonArrayWasm(b, fields);
  // Only a build or launch mistake gets here (node --jitless, or more wanted fields than the module's key slots).
  if (slices === undefined) throw new Error('the JSON element scanner cannot run: WebAssembly is off, or too many fields are wanted');
  return slices;
}
