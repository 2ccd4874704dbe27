/**
 * Polling outside vitest's `vi.waitFor` / `expect.poll` (bench, shared helpers, conditions with a
 * diagnostic): `until` polls `fn` until it returns something other than undefined or false.
 */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every `stepMs` for at most `ms`; resolves with its first value that is not undefined/false, else throws naming `what` (and `diag()`). */
export async function until<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms: number,
  what = 'a condition',
  diag: () => Promise<string> | string = () => '',
  stepMs = 100,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} ${String(last ?? '')}\n${await diag()}`);
    await sleep(stepMs);
  }
}

/** `until` for a predicate whose timeout is a finding, not an error: true when it held within `ms`. */
export const settles = (pred: () => boolean, ms: number, stepMs = 100): Promise<boolean> =>
  until(pred, ms, 'a condition', undefined, stepMs).then(() => true, () => false);
