/** Time renderings used by the documented log lines (all UTC). */

/** `2023-03-25 00:00:00+00:00` (time-slot lines). */
export function formatSlotTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}+00:00`;
}

/** `2023-03-27T10:52:12.289000+00:00` (Python isoformat with microseconds). */
export function formatPullStart(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000+00:00`;
}
