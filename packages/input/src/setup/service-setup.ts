/**
 * Setup of one service: validates the tokens against the service's own endpoint with the
 * documented log lines. A failure another try can fix soon (network error, timeout, cut
 * connection: SetupError(100); HTTP 408/429/5xx: SetupError(103)) is retried with the input's short
 * jittered backoff, or after the appliance's `Retry-After`; one it cannot fix (101 tokens, 102
 * permission, any other HTTP status) waits the long period (`setup_retry_period_in_seconds`,
 * default 60 s), so an operator can fix the tokens on the appliance without restarting.
 */
import {
  CollectorError,
  SetupError,
  TransientSetupError,
  createLogger,
  retryDelayMs,
  serializeError,
  sleep,
  type BackoffPolicy,
  type SerializedError,
  type ServiceConfig,
} from '@devo-collector/common';
import type { DarktraceApi } from '../client.js';
import { serviceProfile } from '../pullers/service-profile.js';

/** Short backoff of transient setup failures: 0.5-1 s, doubling, capped at 15-30 s. */
export const DEFAULT_SETUP_TRANSIENT_RETRY: BackoffPolicy = { baseMs: 1000, capMs: 30_000 };
export const DEFAULT_SETUP_RETRY_PERIOD_MS = 60_000;

export interface ServiceSetupOptions {
  inputName: string;
  inputId: string;
  service: ServiceConfig;
  client: DarktraceApi;
  /** Module name in "Setup for module <...> has been successfully executed". */
  moduleName: string;
  transientRetry?: BackoffPolicy;
  /** Delay between attempts when the tokens/permissions are refused. */
  slowRetryMs?: number;
  now?: () => number;
}

export interface SetupOutcome {
  ok: boolean;
  error?: SerializedError;
}

/** One attempt of `runUntilReady` and what follows it: the retry delay, and whether another try soon can fix it. */
export interface SetupAttempt extends SetupOutcome {
  transient: boolean;
  /** Delay before the next attempt; null after a success. */
  retryInMs: number | null;
}

export interface ServiceSetup {
  readonly componentName: string;
  /** One attempt, as `--validate` needs. */
  runOnce(): Promise<SetupOutcome>;
  /** Retries until the tokens validate (resolves true) or `signal` aborts (resolves false). */
  runUntilReady(signal: AbortSignal, onAttempt?: (a: SetupAttempt) => void): Promise<boolean>;
}

export function createServiceSetup(opts: ServiceSetupOptions): ServiceSetup {
  const componentName = `CollectorDarktracePullerSetup(${opts.inputName}#${opts.inputId},${opts.service.name}#predefined)`;
  const log = createLogger(componentName);
  const now = opts.now ?? Date.now;
  const transientRetry = opts.transientRetry ?? DEFAULT_SETUP_TRANSIENT_RETRY;
  const slowRetryMs = opts.slowRetryMs ?? DEFAULT_SETUP_RETRY_PERIOD_MS;

  function credentialQuery(): Record<string, string | number | boolean> | undefined {
    // The inventory can be large: one device is enough to check the tokens.
    if (opts.service.kind === 'lookup') return { count: 1 };
    if (opts.service.kind !== 'time-slot') return undefined;
    // A one-minute window keeps the check cheap while using the service's real parameters.
    const end = now();
    return serviceProfile(opts.service).windowQuery(end - 60_000, end);
  }

  async function attempt(): Promise<{ ok: true } | { ok: false; error: CollectorError }> {
    log.info('Starting the execution of setup()');
    try {
      await opts.client.checkCredentials(opts.service.endpoint, credentialQuery());
    } catch (err) {
      const e =
        err instanceof CollectorError
          ? err
          : new TransientSetupError(100, `Error occurred while requesting from the Darktrace server. Error message: ${String(err)}`);
      log.error(e.toString());
      return { ok: false, error: e };
    }
    log.info('Tokens have been validated successfully.');
    log.info('Finalizing the execution of setup()');
    log.info(`Setup for module <${opts.moduleName}> has been successfully executed`);
    return { ok: true };
  }

  async function runOnce(): Promise<SetupOutcome> {
    const a = await attempt();
    return a.ok ? { ok: true } : { ok: false, error: serializeError(a.error) };
  }

  async function runUntilReady(signal: AbortSignal, onAttempt?: (a: SetupAttempt) => void): Promise<boolean> {
    let transientFailures = 0;
    while (!signal.aborted) {
      const a = await attempt();
      if (a.ok) {
        onAttempt?.({ ok: true, transient: false, retryInMs: null });
        return true;
      }
      // SetupError(100) is a network failure whoever raised it (a fake client, an older caller).
      const transient = a.error instanceof TransientSetupError || (a.error instanceof SetupError && a.error.code === 100);
      let delay: number;
      if (!transient) {
        transientFailures = 0;
        delay = slowRetryMs;
      } else {
        delay = retryDelayMs(transientFailures, transientRetry, a.error instanceof TransientSetupError ? a.error.retryAfterMs : null);
        transientFailures++;
      }
      onAttempt?.({ ok: false, error: serializeError(a.error), transient, retryInMs: delay });
      log.info(`Setup will be retried in ${(delay / 1000).toFixed(1)} seconds`);
      await sleep(delay, signal);
    }
    return false;
  }

  return { componentName, runOnce, runUntilReady };
}
