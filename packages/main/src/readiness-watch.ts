/**
 * What the supervisor knows of readiness, kept apart from its lifecycle code: when each process
 * entered its current state, the health the current workers last reported, and the readiness last
 * logged. `refresh` runs on every event that can change readiness (a health/metrics message, a
 * worker or supervisor state change), so module_global_status and the state gauges follow it
 * continuously and each change is logged once.
 */
import type { CompiledConfig, Logger, OutputHealth, ServiceHealth } from '@devo-collector/common';
import type { CollectorMetrics } from './metrics.js';
import { computeReadiness, READINESS_ID, type Readiness, type ReadinessInput } from './readiness.js';
import type { WorkerRole } from './worker-handle.js';

export type ProcessStates = Pick<ReadinessInput, 'supervisor' | 'input' | 'output'>;

export class ReadinessWatch {
  /** Health the current workers reported (cleared when a worker goes: a new one reports afresh). */
  serviceHealth: Record<string, ServiceHealth> = {};
  outputHealth: Record<string, OutputHealth> = {};
  private readonly since: Record<WorkerRole | 'supervisor', number> = { input: Date.now(), output: Date.now(), supervisor: Date.now() };
  private readonly enabledServices: string[];
  private readonly outputs: string[];
  /** The last readiness, to log each change once. */
  private last: string | null = null;

  constructor(config: CompiledConfig, private readonly log: Logger, private readonly metrics?: CollectorMetrics) {
    this.enabledServices = config.inputs.filter((i) => i.enabled).flatMap((i) => i.services.map((s) => s.name));
    this.outputs = config.outputs.map((o) => o.name);
  }

  /** `who` entered a new state now; a worker that `went` takes its reported health with it. */
  entered(who: WorkerRole | 'supervisor', went = false): void {
    this.since[who] = Date.now();
    if (went && who === 'input') this.serviceHealth = {};
    if (went && who === 'output') this.outputHealth = {};
  }

  /** The readiness model (readiness.ts) over what the workers last reported; logged when it changed. */
  refresh(states: ProcessStates): Readiness {
    const r = computeReadiness({
      ...states,
      inputSinceMs: this.since.input,
      outputSinceMs: this.since.output,
      supervisorSinceMs: this.since.supervisor,
      enabledServices: this.enabledServices,
      outputs: this.outputs,
      serviceHealth: this.serviceHealth,
      outputHealth: this.outputHealth,
    });
    this.metrics?.updateReadiness(r);
    const key = r.ready ? 'ready' : r.reasons.map((x) => `${x.component} ${x.state} ${x.id}`).join('; ');
    if (states.supervisor !== 'running') return r;
    if (key !== this.last) {
      if (r.ready) this.log.info('Ready: every enabled service and every output is ok');
      // Starting services and restarting workers are routine (INFO); anything else is a problem.
      else if (r.reasons.every((x) => x.id === READINESS_ID.serviceStarting || x.id === READINESS_ID.workerNotReady)) this.log.info(`Not ready: ${key}`);
      else this.log.warn(`Not ready: ${key}`);
    }
    this.last = key;
    return r;
  }
}
