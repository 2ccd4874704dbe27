/**
 * The JavaScript element scanner: the reference the WebAssembly scanner (src/wasm-element-scanner.ts,
 * assembly/json-scan.ts) is fuzzed against. The same grammar walk, byte for byte; it never runs in
 * the collector. Works on bytes: every structural character is ASCII and UTF-8 multi-byte sequences
 * never contain bytes below 0x80.
 */
import type { ElementSlice } from '../src/json-array-split.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_SQUARE = 0x5b;
const CLOSE_SQUARE = 0x5d;
const OPEN_CURLY = 0x7b;
const CLOSE_CURLY = 0x7d;
/** Nesting deeper than this is left to JSON.parse (keeps the recursion bounded). */
const MAX_DEPTH = 512;

/** One scan: the buffer, and whether whitespace was skipped since the last reset. */
class Scanner {
  sawWs = false;
  /** A wanted-level key was written with escapes: its name is not known without decoding it. */
  escapedKey = false;
  constructor(readonly b: Uint8Array) {}

  ws(i: number): number {
    const b = this.b;
    const first = b[i] as number;
    // Compact JSON (the common case) has none: one compare and out.
    if (first > 0x20) return i;
    const start = i;
    for (;;) {
      const c = b[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    if (i !== start) this.sawWs = true;
    return i;
  }

  /** End of the value starting at `i` (no leading whitespace), or -1. */
  value(i: number, depth: number): number {
    const c = this.b[i];
    if (c === QUOTE) return this.string(i + 1);
    if (c === OPEN_CURLY) return this.object(i + 1, depth + 1, null, null);
    if (c === OPEN_SQUARE) return this.array(i + 1, depth + 1);
    if (c === 0x74) return this.literal(i, TRUE); // t
    if (c === 0x66) return this.literal(i, FALSE); // f
    if (c === 0x6e) return this.literal(i, NULL); // n
    if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) return this.number(i);
    return -1;
  }

  /** `i` is just after the opening quote; returns just after the closing one. */
  string(i: number): number {
    const b = this.b;
    const n = b.length;
    while (i < n) {
      const c = b[i] as number;
      // Fast path first: lowercase letters and most of UTF-8 sort above the backslash.
      if (c > BACKSLASH) {
        i++;
      } else if (c === QUOTE) {
        return i + 1;
      } else if (c === BACKSLASH) {
        const e = b[i + 1];
        if (e === 0x75) {
          // \uXXXX
          for (let k = i + 2; k < i + 6; k++) if (!isHex(b[k])) return -1;
          i += 6;
        } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          i += 2;
        } else {
          return -1;
        }
      } else if (c < 0x20) {
        return -1; // raw control characters are not allowed in JSON strings
      } else {
        i++;
      }
    }
    return -1;
  }

  number(i: number): number {
    const b = this.b;
    if (b[i] === MINUS) i++;
    if (b[i] === ZERO) i++;
    else if (isDigit(b[i])) while (isDigit(b[i])) i++;
    else return -1;
    if (b[i] === DOT) {
      i++;
      if (!isDigit(b[i])) return -1;
      while (isDigit(b[i])) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === PLUS || b[i] === MINUS) i++;
      if (!isDigit(b[i])) return -1;
      while (isDigit(b[i])) i++;
    }
    return i;
  }

  literal(i: number, word: readonly number[]): number {
    for (let k = 0; k < word.length; k++) if (this.b[i + k] !== word[k]) return -1;
    return i + word.length;
  }

  array(i: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    i = this.ws(i);
    if (this.b[i] === CLOSE_SQUARE) return i + 1;
    for (;;) {
      i = this.value(i, depth);
      if (i < 0) return -1;
      i = this.ws(i);
      const c = this.b[i];
      if (c === CLOSE_SQUARE) return i + 1;
      if (c !== COMMA) return -1;
      i = this.ws(i + 1);
    }
  }

  /** `want`/`found`: record where the values of these keys are (top level of an element only). */
  object(i: number, depth: number, want: readonly Uint8Array[] | null, found: Array<[number, number] | undefined> | null): number {
    if (depth > MAX_DEPTH) return -1;
    const b = this.b;
    i = this.ws(i);
    if (b[i] === CLOSE_CURLY) return i + 1;
    for (;;) {
      if (b[i] !== QUOTE) return -1;
      const keyStart = i + 1;
      i = this.string(keyStart);
      if (i < 0) return -1;
      const keyEnd = i - 1;
      i = this.ws(i);
      if (b[i] !== COLON) return -1;
      i = this.ws(i + 1);
      const valueStart = i;
      i = this.value(i, depth);
      if (i < 0) return -1;
      if (want && found) {
        for (let k = keyStart; k < keyEnd; k++) if (b[k] === BACKSLASH) this.escapedKey = true;
        for (let f = 0; f < want.length; f++) {
          if (sameBytes(b, keyStart, keyEnd, want[f] as Uint8Array)) found[f] = [valueStart, i];
        }
      }
      i = this.ws(i);
      const c = b[i];
      if (c === CLOSE_CURLY) return i + 1;
      if (c !== COMMA) return -1;
      i = this.ws(i + 1);
    }
  }
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** A key matches only byte for byte (a key written with escapes is simply not found). */
function sameBytes(b: Uint8Array, start: number, end: number, want: Uint8Array): boolean {
  if (end - start !== want.length) return false;
  for (let k = 0; k < want.length; k++) if (b[start + k] !== want[k]) return false;
  return true;
}

export function splitJsonArrayJs(b: Uint8Array, fields: readonly string[] = []): ElementSlice[] | null {
  const want = fields.map((f) => Buffer.from(f, 'utf8'));
  const s = new Scanner(b);
  const out: ElementSlice[] = [];
  let i = s.ws(0);
  if (b[i] !== OPEN_SQUARE) return null;
  i = s.ws(i + 1);
  if (b[i] === CLOSE_SQUARE) return s.ws(i + 1) === b.length ? out : null;
  for (;;) {
    const start = i;
    s.sawWs = false;
    s.escapedKey = false;
    let found: Array<[number, number] | undefined> | null = null;
    if (b[i] === OPEN_CURLY) {
      found = new Array<[number, number] | undefined>(want.length);
      i = s.object(i + 1, 1, want, found);
    } else {
      i = s.value(i, 0);
    }
    if (i < 0) return null;
    out.push({ start, end: i, compact: !s.sawWs, fields: s.escapedKey ? null : found });
    i = s.ws(i);
    const c = b[i];
    if (c === COMMA) {
      i = s.ws(i + 1);
      continue;
    }
    if (c === CLOSE_SQUARE) return s.ws(i + 1) === b.length ? out : null;
    return null;
  }
}
