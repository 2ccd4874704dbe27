/**
 * Setup of one service: validates the tokens against the service's own endpoint with the
 * documented log lines. SetupError(100) (network) and 106 (proxy unreachable) retry with backoff;
 * 101-105 (tokens, permission, unexpected HTTP, proxy credentials or refusal) are logged with their
 * id and retried slowly, so an operator can fix the tokens on the appliance (or the proxy's rules)
 * without restarting the collector.
 */
import { CollectorError, SetupError, createLogger, serializeError, type SerializedError, type ServiceConfig } from '@devo-collector/common';
import { backoffDelayMs, sleep, type BackoffPolicy } from '../backoff.js';
import type { DarktraceApi } from '../client.js';
import { serviceProfile } from '../pullers/service-profile.js';

export interface ServiceSetupOptions {
  inputName: string;
  inputId: string;
  service: ServiceConfig;
  client: DarktraceApi;
  /** Module name in "Setup for module <...> has been successfully executed". */
  moduleName: string;
  networkRetry?: BackoffPolicy;
  /** Delay between attempts when the tokens/permissions are refused. */
  slowRetryMs?: number;
  now?: () => number;
}

export interface SetupOutcome {
  ok: boolean;
  error?: SerializedError;
}

export interface ServiceSetup {
  readonly componentName: string;
  /** One attempt, as `--validate` needs. */
  runOnce(): Promise<SetupOutcome>;
  /** Retries until the tokens validate (resolves true) or `signal` aborts (resolves false). */
  runUntilReady(signal: AbortSignal, onAttempt?: (o: SetupOutcome) => void): Promise<boolean>;
}

export function createServiceSetup(opts: ServiceSetupOptions): ServiceSetup {
  const componentName = `CollectorDarktracePullerSetup(${opts.inputName}#${opts.inputId},${opts.service.name}#predefined)`;
  const log = createLogger(componentName);
  const now = opts.now ?? Date.now;
  const networkRetry = opts.networkRetry ?? { baseMs: 1000, capMs: 60_000 };
  const slowRetryMs = opts.slowRetryMs ?? 60_000;

  function credentialQuery(): Record<string, string | number | boolean> | undefined {
    if (opts.service.kind !== 'time-slot') return undefined;
    // A one-minute window keeps the check cheap while using the service's real parameters.
    const end = now();
    return serviceProfile(opts.service).windowQuery(end - 60_000, end);
  }

  async function runOnce(): Promise<SetupOutcome> {
    log.info('Starting the execution of setup()');
    try {
      await opts.client.checkCredentials(opts.service.endpoint, credentialQuery());
    } catch (err) {
      const e = err instanceof CollectorError ? err : new SetupError(100, `Error occurred while requesting from the Darktrace server. Error message: ${String(err)}`);
      log.error(e.toString());
      return { ok: false, error: serializeError(e) };
    }
    log.info('Tokens have been validated successfully.');
    log.info('Finalizing the execution of setup()');
    log.info(`Setup for module <${opts.moduleName}> has been successfully executed`);
    return { ok: true };
  }

  async function runUntilReady(signal: AbortSignal, onAttempt?: (o: SetupOutcome) => void): Promise<boolean> {
    let networkFailures = 0;
    while (!signal.aborted) {
      const outcome = await runOnce();
      onAttempt?.(outcome);
      if (outcome.ok) return true;
      const network = outcome.error?.code === 100 || outcome.error?.code === 106;
      const delay = network ? backoffDelayMs(networkFailures++, networkRetry) : slowRetryMs;
      log.info(`Setup will be retried in ${(delay / 1000).toFixed(1)} seconds`);
      await sleep(delay, signal);
    }
    return false;
  }

  return { componentName, runOnce, runUntilReady };
}
