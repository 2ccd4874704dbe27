/**
 * The vendor's `init_variables()` sequence, logged per service when the input opens (spec,
 * "Initialization"). The checks themselves ran once in the supervisor (compileConfig); these lines
 * report what they settled: the overriding rules and the rate limits in force.
 */
import { describeRequestsLimits, scoreFiltersText, type DarktraceInputConfig, type Logger, type RequestsLimit, type ServiceConfig } from '@devo-collector/common';
import type { LimitSpec } from '@devo-collector/darktrace';

const shown = (v: string | number | null): string => (v === null ? 'None' : String(v));

export function logInitVariables(log: Logger, ownerName: string, input: DarktraceInputConfig, service: ServiceConfig): void {
  log.info(`${ownerName} Starting the execution of init_variables()`);
  log.info('Validating service metadata');
  log.info('Validating defined module definition');
  log.info('Validating common input config');
  log.info('Validating service input config');
  log.info('Running overriding rules');
  service.overridingRules.forEach((r, i) => {
    log.info(
      `Overriding rule #${i + 1} - service key <${r.serviceKey}> with value <${shown(r.value)}> overrides definition key <${r.definitionKey}> with value <${shown(r.definitionValue)}> when the first is not <None>`,
    );
  });
  log.info('Validating the rate limiter config given by the user');
  if (input.requestsLimits === null && service.requestsLimits === null) {
    log.info('<requests_limits> setting has not been defined. The generic settings will be used instead.');
  } else {
    const parts = [
      ...(input.requestsLimits ? [`input: ${describeRequestsLimits(input.requestsLimits)}`] : []),
      ...(service.requestsLimits ? [`service: ${describeRequestsLimits(service.requestsLimits)}`] : []),
    ];
    log.info(`<requests_limits> setting has been defined (${parts.join('; ')}); every request to the appliance is limited by it`);
  }
  const filters = scoreFiltersText(service.scoreFilters);
  // Said once at start, so a SOC reading the log knows the records below a score are not collected.
  if (filters) log.info(`Score filters in force: ${filters.replace(/&/g, ', ')} (the appliance returns only records at or above them)`);
  log.info('Adding raw config to the collector store');
  log.info('Running custom validation rules');
  log.info(`${ownerName} Finalizing the execution of init_variables()`);
}

function specs(limits: readonly RequestsLimit[] | null, at: string): LimitSpec[] {
  return (limits ?? []).flatMap((l, i) =>
    l.numberOfRequests < 0 ? [] : [{ periodMs: l.periodMs, max: l.numberOfRequests, label: `${at}[${i}] (${describeRequestsLimits([l])})` }]);
}

/** The client's rate-limit windows for an input: its own list, and each service's on its endpoint. */
export function clientRequestsLimits(input: DarktraceInputConfig): { shared: LimitSpec[]; byEndpoint: Record<string, LimitSpec[]> } {
  const byEndpoint: Record<string, LimitSpec[]> = {};
  for (const s of input.services) {
    const own = specs(s.requestsLimits, `inputs.${input.name}.services.${s.name}.requests_limits`);
    if (own.length > 0) byEndpoint[s.endpoint] = own;
  }
  return { shared: specs(input.requestsLimits, `inputs.${input.name}.requests_limits`), byEndpoint };
}
