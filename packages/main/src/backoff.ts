/** Restart delay: 1 s doubling to 30 s, with ±20 % jitter so two workers never restart in lockstep. */
export function restartDelayMs(attempt: number, baseMs = 1000, capMs = 30_000, random = Math.random): number {
  const raw = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}
