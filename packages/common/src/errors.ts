/**
 * Errors with stable, documented ids. The ids and messages of InitVariablesError 1-35, SetupError
 * 100-103 and PullError 300-301 come from the vendor's troubleshooting table; ids from 36 up are
 * ours (see docs/errors.md). Every error renders as `<Type>(<id>): <message>` so operators can grep
 * the id, and crosses IPC as a plain {name, code, message} object.
 */
export type CollectorErrorName =
  | 'InitVariablesError'
  | 'SetupError'
  | 'PullError'
  | 'OutputError'
  | 'RuntimeError';

export interface SerializedError {
  name: CollectorErrorName;
  code: number;
  message: string;
}

export abstract class CollectorError extends Error {
  abstract override readonly name: CollectorErrorName;
  readonly code: number;
  /** The message without the `<Type>(<id>): ` prefix. */
  readonly detail: string;

  constructor(code: number, detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.code = code;
    this.detail = detail;
  }

  /** `InitVariablesError(20): inputs.darktrace mandatory property is missing or empty` */
  override toString(): string {
    return `${this.name}(${this.code}): ${this.detail}`;
  }

  toJSON(): SerializedError {
    return { name: this.name, code: this.code, message: this.detail };
  }
}

/** Configuration and definitions errors: the process exits with code 2. */
export class InitVariablesError extends CollectorError {
  override readonly name = 'InitVariablesError' as const;
}

/** Credential / permission checks against the appliance (ids 100-103). */
export class SetupError extends CollectorError {
  override readonly name = 'SetupError' as const;
}

/**
 * A setup failure another try can fix soon (network error, timeout, cut connection, HTTP 408, 429
 * or 5xx): same id, name and message as any SetupError; the subclass only tells the setup loop to
 * retry with the short backoff, after `retryAfterMs` when the appliance sent `Retry-After`.
 */
export class TransientSetupError extends SetupError {
  constructor(code: number, detail: string, readonly retryAfterMs: number | null = null) {
    super(code, detail);
  }
}

/** A pull failed (300: HTTP error, 301: anything else). The window is retried, never skipped. */
export class PullError extends CollectorError {
  override readonly name = 'PullError' as const;

  /** `retryAfterMs`: the appliance's `Retry-After` on the last attempt; the puller's next try waits that long. */
  constructor(code: number, detail: string, readonly retryAfterMs: number | null = null) {
    super(code, detail);
  }
}

/**
 * PullError(301) for a response over `max_response_size_in_mb`. Same id, name and message as any
 * PullError(301); the subclass only tells a time-slot puller that a smaller window can succeed.
 */
export class ResponseTooLargeError extends PullError {}

/** Delivery side: TLS material, connection, spool (ids 400 up, ours). */
export class OutputError extends CollectorError {
  override readonly name = 'OutputError' as const;
}

/** Supervisor / process lifecycle (ids 500 up, ours). */
export class RuntimeError extends CollectorError {
  override readonly name = 'RuntimeError' as const;
}

const registry: Record<CollectorErrorName, new (code: number, detail: string) => CollectorError> = {
  InitVariablesError,
  SetupError,
  PullError,
  OutputError,
  RuntimeError,
};

export function serializeError(err: unknown): SerializedError {
  if (err instanceof CollectorError) return err.toJSON();
  const message = err instanceof Error ? err.message : String(err);
  return { name: 'RuntimeError', code: 500, message };
}

export function deserializeError(e: SerializedError): CollectorError {
  const Ctor = registry[e.name] ?? RuntimeError;
  return new Ctor(e.code, e.message);
}

/** The id as operators grep it and readiness reports it: `SetupError(101)`. */
export function errorId(e: Pick<SerializedError, 'name' | 'code'>): string {
  return `${e.name}(${e.code})`;
}

export function formatError(e: SerializedError | CollectorError): string {
  const s = e instanceof CollectorError ? e.toJSON() : e;
  return `${s.name}(${s.code}): ${s.message}`;
}
