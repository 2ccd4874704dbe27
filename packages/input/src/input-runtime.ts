/**
 * Wires one input process: an API client per Darktrace input, a state store, a setup and a puller
 * per service. Used by the IPC worker and by the development entry (with another sink).
 * Lifecycle: 'created' -> open() -> 'open' -> start() -> 'running' -> stop() -> 'stopped'.
 */
import { createDarktraceClient } from '@devo-collector/darktrace';
import { type BackoffPolicy, type CompiledConfig, type DarktraceInputConfig, type SerializedError, createLogger, proxyRoute, scoreFiltersText } from '@devo-collector/common';
import type { DarktraceApi } from './client.js';
import type { BatchSink } from './delivery/batch-sink.js';
import { InputMetricsRegistry } from './metrics.js';
import type { Puller } from './pullers/puller.js';
import { createLookupPuller } from './pullers/lookup-puller.js';
import { createStatelessPuller } from './pullers/stateless-puller.js';
import { createTimeSlotPuller } from './pullers/time-slot-puller.js';
import { createServiceSetup, type ServiceSetup } from './setup/service-setup.js';
import { clientRequestsLimits, logInitVariables } from './setup/init-variables.js';
import { openStateStore, type StateStore } from './state/state-store.js';

export type RuntimeState = 'created' | 'open' | 'running' | 'stopping' | 'stopped';

export interface InputRuntimeOptions {
  config: CompiledConfig;
  saveState: boolean;
  sink: BatchSink;
  createClient?: (input: DarktraceInputConfig, metrics: InputMetricsRegistry) => DarktraceApi;
  maxInFlightBytes?: number;
  /** Short backoff of transient setup failures (the long period is the input's `setupRetryMs`). */
  setupTransientRetry?: BackoffPolicy;
  pullRetry?: BackoffPolicy;
  /** A service's health changed (metrics.health): the worker reports it at once. */
  onHealthChange?: () => void;
}

export interface SetupResult {
  service: string;
  ok: boolean;
  error?: SerializedError;
}

export interface InputRuntime {
  readonly state: RuntimeState;
  readonly metrics: InputMetricsRegistry;
  readonly pullers: readonly Puller[];
  /** Opens clients and state stores; throws on failure (the worker answers `init-failed`). */
  open(): Promise<void>;
  /** `--validate`: one setup attempt per service. */
  validate(): Promise<SetupResult[]>;
  /** Starts setups and pullers; `onSetupResult` is called once per service when its setup first succeeds or fails. */
  start(onSetupResult?: (r: SetupResult) => void): void;
  stop(deadlineMs: number): Promise<void>;
}

interface ServiceUnit {
  input: DarktraceInputConfig;
  setup: ServiceSetup;
  puller: Puller;
  store: StateStore;
  ready: { promise: Promise<boolean>; resolve: (ok: boolean) => void };
}

export function defaultClientFactory(input: DarktraceInputConfig, metrics: InputMetricsRegistry): DarktraceApi {
  return createDarktraceClient({
    baseUrl: input.baseUrl,
    publicToken: input.credentials.publicToken,
    privateToken: input.credentials.privateToken,
    caPem: input.caFile,
    tlsVerify: input.tlsVerify,
    proxy: input.proxy,
    requestTimeoutMs: input.requestTimeoutMs,
    maxResponseBytes: input.maxResponseBytes,
    requestsPerSecond: input.requestsPerSecond,
    requestsLimits: clientRequestsLimits(input),
    onLimitReached: (i) =>
      createLogger('MainThread').info(
        `Rate limiter: ${i.label} reached, requests to ${i.scope} wait${i.waitMs === null ? ' for a request in flight to end' : ` ${(i.waitMs / 1000).toFixed(1)} s`}`,
      ),
    maxRetries: input.maxRetries,
    onRequest: (i) => metrics.vendorRequest(i.endpoint),
  });
}

export function createInputRuntime(opts: InputRuntimeOptions): InputRuntime {
  const metrics = new InputMetricsRegistry(() => opts.onHealthChange?.());
  const log = createLogger('MainThread');
  const units: ServiceUnit[] = [];
  const clients: DarktraceApi[] = [];
  const setupAc = new AbortController();
  let state: RuntimeState = 'created';
  const makeClient = opts.createClient ?? defaultClientFactory;
  const g = opts.config.globals;
  const persistenceMode = !opts.saveState || g.persistence.type === 'memory' ? 'memory' : 'filesystem';

  async function open(): Promise<void> {
    if (state !== 'created') throw new Error(`open() in state ${state}`);
    for (const input of opts.config.inputs.filter((i) => i.enabled)) {
      logRoute(input);
      const client = makeClient(input, metrics);
      clients.push(client);
      for (const service of input.services) {
        const timeSlot = service.kind === 'time-slot';
        const moduleName = timeSlot ? 'CollectorDarktracePuller' : service.kind === 'lookup' ? 'LookupServicePuller' : 'StatelessServicePuller';
        const ownerName = `${moduleName}(${input.name}#${input.id},${service.name}#predefined)`;
        const store = await openStateStore({
          mode: persistenceMode,
          directory: g.persistence.directory,
          inputName: input.name,
          inputId: input.id,
          service: service.name,
          startTimeText: timeSlot ? service.startTimeText : null,
          filtersText: timeSlot ? scoreFiltersText(service.scoreFilters) : undefined,
          version: service.persistenceVersion,
          ownerName,
          // A state file that cannot be written (disk full) makes the service failing while it lasts.
          onWriteBlocked: (b) => metrics.health.stateWriteBlocked(service.name, b),
        });
        logInitVariables(log, ownerName, input, service);
        let resolveReady: (ok: boolean) => void = () => undefined;
        const promise = new Promise<boolean>((r) => (resolveReady = r));
        const pullerOpts = {
          inputName: input.name,
          inputId: input.id,
          service,
          client,
          store,
          sink: opts.sink,
          maxMessagesPerBatch: g.queueWrapMaxMessages,
          maxInFlightBytes: opts.maxInFlightBytes,
          ready: promise,
          metrics,
          retry: opts.pullRetry,
        };
        const puller = timeSlot ? createTimeSlotPuller(pullerOpts) : service.kind === 'lookup' ? createLookupPuller(pullerOpts) : createStatelessPuller(pullerOpts);
        const setup = createServiceSetup({
          inputName: input.name,
          inputId: input.id,
          service,
          client,
          moduleName,
          slowRetryMs: input.setupRetryMs,
          transientRetry: opts.setupTransientRetry,
        });
        metrics.setReady(service.name, false);
        metrics.health.register(service.name, service.requestPeriodMs);
        if (store.writeBlocked) metrics.health.stateWriteBlocked(service.name, store.writeBlocked);
        units.push({ input, setup, puller, store, ready: { promise, resolve: resolveReady } });
      }
    }
    state = 'open';
  }

  /** One line telling how the appliance is reached, when a proxy is configured (never its credentials). */
  function logRoute(input: DarktraceInputConfig): void {
    if (!input.proxy) return;
    const route = proxyRoute(input.proxy, input.baseUrl);
    const from = input.proxy.source === 'config' ? 'inputs.darktrace.proxy' : 'the proxy environment';
    if (route.via === 'proxy') log.info(`The Darktrace server ${input.baseUrl} is reached through the proxy ${route.display} (from ${from})`);
    else log.info(`The Darktrace server ${input.baseUrl} is reached directly (${route.reason}; proxy from ${from})`);
  }

  async function validate(): Promise<SetupResult[]> {
    const out: SetupResult[] = [];
    for (const u of units) {
      const r = await u.setup.runOnce();
      out.push({ service: u.puller.service, ...r });
    }
    return out;
  }

  function start(onSetupResult?: (r: SetupResult) => void): void {
    if (state !== 'open') throw new Error(`start() in state ${state}`);
    state = 'running';
    for (const u of units) {
      let failureReported = false;
      // The vendor's start lines, logged by the starting thread (the puller's with a single dash).
      log.info(`${u.setup.componentName} -> Starting thread`);
      log.info(`${u.puller.name} - Starting thread`);
      u.puller.start();
      void u.setup
        .runUntilReady(setupAc.signal, (a) => {
          const service = u.puller.service;
          if (a.ok) {
            metrics.setReady(service, true);
            metrics.health.setupSucceeded(service);
          } else if (a.error) {
            metrics.health.setupFailed(service, a.error, a.transient, a.retryInMs ?? 0);
          }
          // Report the success, and the first failure only (the retries log their own lines).
          if (a.ok || !failureReported) onSetupResult?.({ service, ok: a.ok, ...(a.error ? { error: a.error } : {}) });
          if (!a.ok) failureReported = true;
        })
        .then((ok) => u.ready.resolve(ok));
    }
  }

  async function stop(deadlineMs: number): Promise<void> {
    if (state === 'stopped' || state === 'stopping') return;
    state = 'stopping';
    setupAc.abort();
    metrics.health.close();
    for (const u of units) u.ready.resolve(false);
    await Promise.all(units.map((u) => u.puller.stop(deadlineMs)));
    await Promise.all(units.map((u) => u.store.close().catch((e: unknown) => log.error(`Could not close state: ${String(e)}`))));
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    state = 'stopped';
  }

  return {
    get state() {
      return state;
    },
    metrics,
    get pullers() {
      return units.map((u) => u.puller);
    },
    open,
    validate,
    start,
    stop,
  };
}
