/**
 * The slice of the Darktrace API client the input needs. Structural on purpose: the real client
 * from `@devo-collector/darktrace` satisfies it, and unit tests can hand in a small fake.
 */
export type QueryValue = string | number | boolean;
export type Query = Record<string, QueryValue>;

/** A record's JSON as received: its size in bytes, whether it is compact, its text on demand. */
export interface RawText {
  readonly size: number;
  readonly compact: boolean;
  text(): string;
  /** The UTF-8 bytes as received, when the client has them (no decode, no copy). */
  bytes?(): Buffer;
}

export interface DarktraceApi {
  /** Signed GET; resolves with the parsed JSON body. Throws PullError(300/301). */
  get(endpoint: string, query?: Query, opts?: { signal?: AbortSignal }): Promise<unknown>;
  /**
   * Optional fast path for array answers: each element's own JSON (`raw`, decoded on demand;
   * `compact`: no whitespace outside strings) with its parsed value (`complete`) or, given
   * `fields`, an object of just those top-level fields. Resolves `{body}` when the answer is not
   * an array. Same errors as `get`. `release` frees the response the raw bytes are views of: call
   * it once nothing reads them again (the window is acked and committed).
   */
  getRecords?<T>(
    endpoint: string,
    query: Query | undefined,
    opts: { signal?: AbortSignal; fields?: readonly string[]; each: (value: unknown, raw: RawText, complete: boolean) => T },
  ): Promise<{ records: T[]; release?: () => void } | { body: unknown }>;
  /** Throws SetupError(100-103) when the appliance refuses the tokens or cannot be reached. */
  checkCredentials(endpoint: string, query?: Query): Promise<void>;
  close(): Promise<void>;
}
