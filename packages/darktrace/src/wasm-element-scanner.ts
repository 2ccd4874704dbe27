/**
 * The WebAssembly twin of `splitJsonArray`'s JavaScript scanner (assembly/json-scan.ts): the same
 * grammar, the same answers (a fuzz test holds them to each other and to JSON.parse), at a few times
 * the speed. JavaScript walks the top level of the array (a few bytes per element); WebAssembly
 * walks each element.
 *
 * The body is copied into the module's memory a window at a time (1 MiB, more for an element that
 * does not fit), so the module's memory stays small however large a response is. A 0 byte after
 * the window stops every walk at its end; an element cut by the window's end fails or ends exactly
 * there, and is scanned again from a window that starts with it.
 *
 * Undefined (instead of slices) when WebAssembly is not available (`node --jitless`) or the wanted
 * fields do not fit the module's key slots; `splitJsonArray` turns that into an error.
 */
import { JSON_SCAN_WASM } from './json-scan-wasm.js';
import type { ElementSlice } from './json-array-split.js';

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface ScanExports {
  memory: WasmMemory;
  INPUT: { value: unknown };
  MAX_KEYS: { value: unknown };
  element(start: number, nWant: number): number;
  lastSawWs(): number;
  lastEscapedKey(): number;
}

const KEYS = 0;
const KEY_SLOT = 64;
const RES = 1024;
const WINDOW = 1 << 20;
const PAGE = 65536;

const COMMA = 0x2c;
const OPEN_SQUARE = 0x5b;
const CLOSE_SQUARE = 0x5d;
const OPEN_CURLY = 0x7b;

let loaded: ScanExports | null | undefined;

function scanner(): ScanExports | null {
  if (loaded === undefined) {
    try {
      // The global, not a type: this project's TypeScript libs declare WebAssembly's types only.
      const wa = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (m: object, imports: object) => { exports: unknown } } }).WebAssembly;
      loaded = new wa.Instance(new wa.Module(Buffer.from(JSON_SCAN_WASM, 'base64')), {}).exports as ScanExports;
    } catch {
      loaded = null; // no WebAssembly here: the JavaScript scanner does the work
    }
  }
  return loaded;
}

function ws(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** The element slices of a top-level JSON array, null if invalid, undefined if this scanner cannot run. */
export function splitJsonArrayWasm(b: Uint8Array, fields: readonly string[]): ElementSlice[] | null | undefined {
  const w = scanner();
  if (!w) return undefined;
  const keys = fields.map((f) => Buffer.from(f, 'utf8'));
  if (keys.length > (w.MAX_KEYS.value as number) || keys.some((k) => k.length >= KEY_SLOT)) return undefined;
  const input = w.INPUT.value as number;
  let mem = new Uint8Array(w.memory.buffer);
  keys.forEach((k, f) => {
    mem[KEYS + f * KEY_SLOT] = k.length;
    mem.set(k, KEYS + f * KEY_SLOT + 1);
  });

  // The window: b[from, to) copied to memory[input ...], a 0 byte after it.
  let from = 0;
  let to = 0;
  const load = (start: number, size: number): void => {
    from = start;
    to = Math.min(b.length, start + size);
    const need = input + (to - from) + 1 + 15; // the sentinel, and slack for 16-byte loads
    if (w.memory.buffer.byteLength < need) w.memory.grow(Math.ceil((need - w.memory.buffer.byteLength) / PAGE));
    mem = new Uint8Array(w.memory.buffer);
    mem.set(b.subarray(from, to), input);
    mem[input + (to - from)] = 0;
  };

  const out: ElementSlice[] = [];
  let i = ws(b, 0);
  if (b[i] !== OPEN_SQUARE) return null;
  i = ws(b, i + 1);
  if (b[i] === CLOSE_SQUARE) return ws(b, i + 1) === b.length ? out : null;
  for (;;) {
    const start = i;
    if (start < from || start >= to) load(start, WINDOW);
    let end: number;
    for (;;) {
      const r = w.element(start - from, keys.length);
      // Whole only if it ended before the window's end (or the window reaches the body's end).
      if (r >= 0 && (from + r < to || to === b.length)) {
        end = from + r;
        break;
      }
      if (to === b.length && from === start) return null; // the whole rest was there: invalid
      load(start, Math.max(WINDOW, 2 * (to - from)));
    }
    let found: Array<[number, number] | undefined> | null = null;
    if (b[start] === OPEN_CURLY && w.lastEscapedKey() === 0) {
      found = new Array<[number, number] | undefined>(keys.length);
      const res = new Int32Array(w.memory.buffer, RES, 2 * keys.length);
      for (let f = 0; f < keys.length; f++) {
        const s = res[2 * f] as number;
        if (s >= 0) found[f] = [from + s, from + (res[2 * f + 1] as number)];
      }
    }
    out.push({ start, end, compact: w.lastSawWs() === 0, fields: found });
    i = ws(b, end);
    const c = b[i];
    if (c === COMMA) {
      i = ws(b, i + 1);
      continue;
    }
    if (c === CLOSE_SQUARE) return ws(b, i + 1) === b.length ? out : null;
    return null;
  }
}
