/**
 * Splits a JSON body that is a top-level array into the raw bytes of each element, without
 * parsing it: the collector forwards each record as the appliance wrote it, instead of parsing the
 * whole window into one big object graph and re-stringifying every record.
 *
 * This is a structural scan only (strings, nesting, commas); it does not validate tokens. The
 * caller parses every element it gets (which validates it) and falls back to `JSON.parse` of the
 * whole body whenever this returns null or an element does not parse, so an invalid body fails
 * exactly as before. Works on bytes: every structural character is ASCII, and UTF-8 continuation
 * bytes are never below 0x80, so they cannot be mistaken for one.
 */

export interface ElementSlice {
  start: number;
  end: number;
  /** No whitespace outside strings: the slice is already compact JSON. */
  compact: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_SQUARE = 0x5b;
const CLOSE_SQUARE = 0x5d;
const OPEN_CURLY = 0x7b;
const CLOSE_CURLY = 0x7d;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWs(b: Uint8Array, i: number): number {
  while (i < b.length && isWs(b[i] as number)) i++;
  return i;
}

/**
 * Index just after the closing quote of the string whose content starts at `i`; -1 if unterminated.
 * A plain loop: most strings are short keys, where a native indexOf call costs more than it saves.
 */
function endOfString(b: Uint8Array, i: number): number {
  const n = b.length;
  while (i < n) {
    const c = b[i] as number;
    if (c === QUOTE) return i + 1;
    i += c === BACKSLASH ? 2 : 1;
  }
  return -1;
}

/** The element slices of a top-level JSON array, or null when the body is not one (or is cut). */
export function splitJsonArray(b: Buffer): ElementSlice[] | null {
  const out: ElementSlice[] = [];
  let i = skipWs(b, 0);
  if (b[i] !== OPEN_SQUARE) return null;
  i = skipWs(b, i + 1);
  if (b[i] === CLOSE_SQUARE) return skipWs(b, i + 1) === b.length ? out : null;
  for (;;) {
    const start = i;
    let depth = 0;
    let compact = true;
    let lastEnd = i; // end of the last non-whitespace token of the element
    for (;;) {
      if (i >= b.length) return null;
      const c = b[i] as number;
      if (c === QUOTE) {
        i = endOfString(b, i + 1);
        if (i < 0) return null;
        lastEnd = i;
      } else if (c === OPEN_CURLY || c === OPEN_SQUARE) {
        depth++;
        i++;
        lastEnd = i;
      } else if (c === CLOSE_CURLY || c === CLOSE_SQUARE) {
        if (depth === 0) break; // the array's own ']' after a scalar element
        depth--;
        i++;
        lastEnd = i;
        if (depth === 0) break; // an object or array element is complete
      } else if (c === COMMA && depth === 0) {
        break;
      } else if (isWs(c)) {
        // Inside an object or array: insignificant whitespace the record must not keep. (Around a
        // scalar it is trimmed; within one the element does not parse, and the caller falls back.)
        if (depth > 0) compact = false;
        i++;
      } else {
        i++;
        lastEnd = i;
      }
    }
    if (lastEnd === start) return null; // empty element: ",," or "[,"
    out.push({ start, end: lastEnd, compact });
    i = skipWs(b, lastEnd);
    const c = b[i];
    if (c === COMMA) {
      i = skipWs(b, i + 1);
      continue;
    }
    if (c === CLOSE_SQUARE) return skipWs(b, i + 1) === b.length ? out : null;
    return null;
  }
}
