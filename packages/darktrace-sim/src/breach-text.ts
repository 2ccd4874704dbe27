/**
 * The JSON text of a breach without building and stringifying a 6 KB object per record: the
 * record is rendered once with marker strings in place of the per-record values, its JSON is cut
 * at the markers, and a record's text is the cut pieces joined with its own values. Model and
 * device texts are cached per variant. The result is byte-identical to
 * `JSON.stringify(renderBreach(r, opts))` (test/breach-text.test.ts), at a few percent of its cost.
 *
 * Why not cache each record's text: the collector reads almost every record exactly once (a window
 * is re-read only for its overlap or after a failure), so a per-record cache would hold up to
 * 60k x 6 KB = 370 MB in the throughput run for almost no hits. The pieces cached here are
 * one 6 KB layout plus 16 model and 24 device texts, whatever the data volume.
 */
import { breachDevice, breachModel, breachObject, renderBreach, type BreachRow } from './breaches.js';

type Slot = 'pbid' | 'time' | 'creationTime' | 'score' | 'model' | 'device';
const SLOTS: readonly Slot[] = ['pbid', 'time', 'creationTime', 'score', 'model', 'device'];
const MARK = '@@sim-slot:';
const marker = (s: Slot) => `${MARK}${s}@@`;

interface Compiled {
  /** literals[i] comes before slots[i]; the last literal closes the record. */
  literals: string[];
  slots: Slot[];
}

function compile(): Compiled {
  const text = JSON.stringify(
    breachObject({
      pbid: marker('pbid'),
      time: marker('time'),
      creationTime: marker('creationTime'),
      score: marker('score'),
      model: marker('model'),
      device: marker('device'),
    }),
  );
  const literals: string[] = [];
  const slots: Slot[] = [];
  const re = new RegExp(`"${MARK}(\\w+)@@"`, 'g');
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    literals.push(text.slice(last, m.index));
    const slot = m[1] as Slot;
    if (!SLOTS.includes(slot)) throw new Error(`breach template: unknown slot ${slot}`);
    slots.push(slot);
    last = m.index + m[0].length;
  }
  literals.push(text.slice(last));
  // The template itself must not contain the marker text, or the cut would be wrong.
  if (literals.some((l) => l.includes(MARK))) throw new Error('breach template contains the slot marker');
  return { literals, slots };
}

let layout: Compiled | undefined;
/** Model and device objects are built once per variant, so their identity is a cache key. */
const texts = new WeakMap<object, string>();

function textOf(value: object): string {
  let t = texts.get(value);
  if (t === undefined) {
    t = JSON.stringify(value);
    texts.set(value, t);
  }
  return t;
}

/** Overrides (records added live) may add or reorder keys, and odd numbers have their own JSON: those render the plain way. */
function plain(r: BreachRow): boolean {
  return r.overrides !== undefined || !Number.isFinite(r.pbid) || !Number.isFinite(r.time) || !Number.isFinite(r.creationTime) || !Number.isFinite(r.score);
}

/** One breach's text: the bytes of the one-element array, without its brackets. */
export function renderBreachText(r: BreachRow, opts: { historicModelOnly: boolean }): string {
  const bytes = renderBreachesJson([r], opts);
  return bytes.toString('utf8', 1, bytes.length - 1);
}

/** Slot values of one row as they are written: ASCII number texts (`String` is `JSON.stringify` for finite numbers) and cached object bytes. */
function slotPiece(r: BreachRow, slot: Slot, opts: { historicModelOnly: boolean }): string | Buffer {
  switch (slot) {
    case 'pbid':
      return String(r.pbid);
    case 'time':
      return String(r.time);
    case 'creationTime':
      return String(r.creationTime);
    case 'score':
      return String(r.score);
    case 'model':
      return bytesOf(breachModel(r.variant, opts.historicModelOnly));
    case 'device':
      return bytesOf(breachDevice(r.variant));
  }
}

const byteTexts = new WeakMap<object, Buffer>();

function bytesOf(value: object): Buffer {
  let b = byteTexts.get(value);
  if (b === undefined) {
    b = Buffer.from(textOf(value), 'utf8');
    byteTexts.set(value, b);
  }
  return b;
}

let literalBytes: Buffer[] | undefined;
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/**
 * `JSON.stringify(rows.map(renderBreach))` as UTF-8 bytes, written straight into one buffer: a
 * window of 2,500 breaches is 15 MB, and joining per-record strings would build and flatten
 * ~40k string pieces and then encode the result once more.
 */
export function renderBreachesJson(rows: readonly BreachRow[], opts: { historicModelOnly: boolean }): Buffer {
  layout ??= compile();
  const { literals, slots } = layout;
  literalBytes ??= literals.map((l) => Buffer.from(l, 'utf8'));
  const lits = literalBytes;
  const pieces: Array<string | Buffer> = [OPEN];
  let length = 1;
  const add = (p: string | Buffer) => {
    pieces.push(p);
    // Number texts are ASCII; a slow-path record text may not be.
    length += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
  };
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k] as BreachRow;
    if (k > 0) add(COMMA);
    if (plain(r)) {
      add(JSON.stringify(renderBreach(r, opts)));
      continue;
    }
    add(lits[0] as Buffer);
    for (let i = 0; i < slots.length; i++) {
      add(slotPiece(r, slots[i] as Slot, opts));
      add(lits[i + 1] as Buffer);
    }
  }
  add(CLOSE);
  const out = Buffer.allocUnsafe(length);
  let off = 0;
  for (const p of pieces) off += typeof p === 'string' ? out.write(p, off, 'utf8') : p.copy(out, off);
  return out;
}
