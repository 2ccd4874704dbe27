/**
 * The slice of the Darktrace API client the input needs. Structural on purpose: the real client
 * from `@devo-collector/darktrace` satisfies it, and unit tests can hand in a small fake.
 */
export type QueryValue = string | number | boolean;
export type Query = Record<string, QueryValue>;

export interface DarktraceApi {
  /** Signed GET; resolves with the parsed JSON body. Throws PullError(300/301). */
  get(endpoint: string, query?: Query, opts?: { signal?: AbortSignal }): Promise<unknown>;
  /**
   * Optional fast path for array answers: each element's own JSON text (`compact`: no whitespace
   * outside strings) with its parsed value (`complete`) or, given `fields`, an object of just
   * those top-level fields. Resolves `{body}` when the answer is not an array. Same errors as `get`.
   */
  getRecords?<T>(
    endpoint: string,
    query: Query | undefined,
    opts: { signal?: AbortSignal; fields?: readonly string[]; each: (value: unknown, text: string, compact: boolean, complete: boolean) => T },
  ): Promise<{ records: T[] } | { body: unknown }>;
  /** Throws SetupError(100-103) when the appliance refuses the tokens or cannot be reached. */
  checkCredentials(endpoint: string, query?: Query): Promise<void>;
  close(): Promise<void>;
}
