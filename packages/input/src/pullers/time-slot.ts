/** The windows ("time slots") of a time-slot service and the plan of one cycle. */
export interface TimeSlot {
  /** Slot bounds as planned; the cursor moves to `endMs` once the slot is committed. */
  startMs: number;
  endMs: number;
  /** What is asked: `startMs` minus the overlap for the first slot of a live-tail cycle. */
  queryStartMs: number;
}

/** Splits [cursor, now) into slots; only the first slot re-reads the overlap. Pure, for tests. */
export function planTimeSlots(p: {
  committedCursorMs: number | null;
  startTimeMs: number;
  nowMs: number;
  windowMs: number;
  overlapMs: number;
}): TimeSlot[] {
  const slots: TimeSlot[] = [];
  let s = p.committedCursorMs ?? p.startTimeMs;
  const windowMs = Math.max(1, p.windowMs);
  while (s < p.nowMs) {
    const e = Math.min(s + windowMs, p.nowMs);
    slots.push({ startMs: s, endMs: e, queryStartMs: s });
    s = e;
  }
  const first = slots[0];
  if (first && p.committedCursorMs !== null) first.queryStartMs = Math.max(p.startTimeMs, first.startMs - p.overlapMs);
  return slots;
}
