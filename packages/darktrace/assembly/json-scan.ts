/**
 * AssemblyScript source of the WebAssembly element scanner (compiled to src/json-scan-wasm.ts by
 * `pnpm --filter @devo-collector/darktrace build:wasm`). It is the same grammar walk as the
 * JavaScript Scanner in src/json-array-split.ts, one array element per call, at a few times its
 * speed: the scan of every response byte was half of the input worker's CPU at a burst.
 *
 * Memory layout (the host writes the input and the wanted keys, reads the results):
 *   [KEYS, KEYS + 1024)   wanted top-level keys: 16 slots of 64 bytes, [len u8][bytes]
 *   [RES, RES + 128)      per wanted key: value start i32, value end i32 (-1 = not found)
 *   [INPUT, ...)          (page 1 on) the bytes to scan, followed by one 0 byte (sentinel: no valid JSON token
 *                         starts with or contains a raw 0, so every walk stops at the end) and at
 *                         least 15 more bytes of memory (the string walk loads 16 bytes at a time)
 */

const QUOTE: u32 = 0x22;
const BACKSLASH: u32 = 0x5c;
const COMMA: u32 = 0x2c;
const COLON: u32 = 0x3a;
const MINUS: u32 = 0x2d;
const PLUS: u32 = 0x2b;
const DOT: u32 = 0x2e;
const ZERO: u32 = 0x30;
const OPEN_SQUARE: u32 = 0x5b;
const CLOSE_SQUARE: u32 = 0x5d;
const OPEN_CURLY: u32 = 0x7b;
const CLOSE_CURLY: u32 = 0x7d;
const MAX_DEPTH: i32 = 512;

const KEYS: usize = 0;
const KEY_SLOT: usize = 64;
const RES: usize = 1024;
export const MAX_KEYS: i32 = 16;
export const INPUT: usize = 65536;

let sawWs: bool = false;
let escapedKey: bool = false;
let wantCount: i32 = 0;

@inline function at(i: i32): u32 {
  return <u32>load<u8>(INPUT + <usize>i);
}

@inline function isDigit(c: u32): bool {
  return c - ZERO < 10;
}

@inline function isHex(c: u32): bool {
  return c - ZERO < 10 || (c | 0x20) - 0x61 < 6;
}

/** Flags of the last `element` call: whitespace seen outside strings; a top-level key used escapes. */
export function lastSawWs(): i32 {
  return sawWs ? 1 : 0;
}

export function lastEscapedKey(): i32 {
  return escapedKey ? 1 : 0;
}

function ws(i: i32): i32 {
  let c = at(i);
  if (c > 0x20) return i;
  const start = i;
  while (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) c = at(++i);
  if (i != start) sawWs = true;
  return i;
}

/**
 * `i` is just after the opening quote; returns just after the closing one, or -1. Sixteen bytes at
 * a time (SIMD) until one is a quote, a backslash or below 0x20 (a raw control character, or the
 * sentinel: so a load never runs past the window by more than 15 bytes, which the host provides).
 */
function str(i: i32): i32 {
  const quotes = i8x16.splat(<i8>QUOTE);
  const backslashes = i8x16.splat(<i8>BACKSLASH);
  const spaces = i8x16.splat(0x20);
  for (;;) {
    const v = v128.load(INPUT + <usize>i);
    const special = v128.or(v128.or(i8x16.eq(v, quotes), i8x16.eq(v, backslashes)), i8x16.lt_u(v, spaces));
    const mask = i8x16.bitmask(special);
    if (mask == 0) {
      i += 16;
      continue;
    }
    i += ctz(mask);
    const c = at(i);
    if (c == QUOTE) return i + 1;
    if (c != BACKSLASH) return -1; // a raw control character, or the sentinel
    const e = at(i + 1);
    if (e == 0x75) {
      for (let k = i + 2; k < i + 6; k++) if (!isHex(at(k))) return -1;
      i += 6;
    } else if (e == QUOTE || e == BACKSLASH || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
      i += 2;
    } else {
      return -1;
    }
  }
  return -1; // not reached (AssemblyScript wants a return after the loop)
}

function num(i: i32): i32 {
  if (at(i) == MINUS) i++;
  if (at(i) == ZERO) i++;
  else if (isDigit(at(i))) while (isDigit(at(i))) i++;
  else return -1;
  if (at(i) == DOT) {
    i++;
    if (!isDigit(at(i))) return -1;
    while (isDigit(at(i))) i++;
  }
  const e = at(i);
  if (e == 0x65 || e == 0x45) {
    i++;
    if (at(i) == PLUS || at(i) == MINUS) i++;
    if (!isDigit(at(i))) return -1;
    while (isDigit(at(i))) i++;
  }
  return i;
}

function lit(i: i32, word: u32, len: i32): i32 {
  for (let k = 0; k < len; k++) if (at(i + k) != ((word >> (<u32>k * 8)) & 0xff)) return -1;
  return i + len;
}

function value(i: i32, depth: i32): i32 {
  const c = at(i);
  if (c == QUOTE) return str(i + 1);
  if (c == OPEN_CURLY) return obj(i + 1, depth + 1, false);
  if (c == OPEN_SQUARE) return arr(i + 1, depth + 1);
  if (c == 0x74) return lit(i, 0x65757274, 4); // "true", little endian
  if (c == 0x66) {
    // "false": 'f' then "alse"
    return lit(i + 1, 0x65736c61, 4) < 0 ? -1 : i + 5;
  }
  if (c == 0x6e) return lit(i, 0x6c6c756e, 4); // "null"
  if (c == MINUS || isDigit(c)) return num(i);
  return -1;
}

function arr(i: i32, depth: i32): i32 {
  if (depth > MAX_DEPTH) return -1;
  i = ws(i);
  if (at(i) == CLOSE_SQUARE) return i + 1;
  for (;;) {
    i = value(i, depth);
    if (i < 0) return -1;
    i = ws(i);
    const c = at(i);
    if (c == CLOSE_SQUARE) return i + 1;
    if (c != COMMA) return -1;
    i = ws(i + 1);
  }
  return -1; // not reached
}

/** Compares the key [start, end) with wanted key slot `f`. */
function sameKey(start: i32, end: i32, f: i32): bool {
  const slot = KEYS + <usize>f * KEY_SLOT;
  const len = <i32>load<u8>(slot);
  if (end - start != len) return false;
  for (let k = 0; k < len; k++) if (at(start + k) != <u32>load<u8>(slot + 1 + <usize>k)) return false;
  return true;
}

/** `top`: the element itself, whose wanted keys' value positions are recorded. */
function obj(i: i32, depth: i32, top: bool): i32 {
  if (depth > MAX_DEPTH) return -1;
  i = ws(i);
  if (at(i) == CLOSE_CURLY) return i + 1;
  for (;;) {
    if (at(i) != QUOTE) return -1;
    const keyStart = i + 1;
    i = str(keyStart);
    if (i < 0) return -1;
    const keyEnd = i - 1;
    i = ws(i);
    if (at(i) != COLON) return -1;
    i = ws(i + 1);
    const valueStart = i;
    i = value(i, depth);
    if (i < 0) return -1;
    if (top) {
      for (let k = keyStart; k < keyEnd; k++) if (at(k) == BACKSLASH) escapedKey = true;
      for (let f = 0; f < wantCount; f++) {
        if (sameKey(keyStart, keyEnd, f)) {
          store<i32>(RES + <usize>f * 8, valueStart);
          store<i32>(RES + <usize>f * 8 + 4, i);
        }
      }
    }
    i = ws(i);
    const c = at(i);
    if (c == CLOSE_CURLY) return i + 1;
    if (c != COMMA) return -1;
    i = ws(i + 1);
  }
  return -1; // not reached
}

/**
 * Scans one array element starting at `i` (no leading whitespace) with `nWant` wanted keys in
 * place; returns its end, or -1 (invalid, or cut by the end of the input: the host decides).
 */
export function element(i: i32, nWant: i32): i32 {
  sawWs = false;
  escapedKey = false;
  wantCount = nWant;
  for (let f = 0; f < nWant; f++) {
    store<i32>(RES + <usize>f * 8, -1);
    store<i32>(RES + <usize>f * 8 + 4, -1);
  }
  if (at(i) == OPEN_CURLY) return obj(i + 1, 1, true);
  return value(i, 0);
}
