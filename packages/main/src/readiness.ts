/**
 * Readiness computed from what happens (ARCHITECTURE "Readiness tells the truth"): the collector
 * is ready only when MainProcess runs, both workers are ready, at least one service of an enabled
 * input exists, every such service is ok and every output is ok. Every cause of "not ready" is a
 * reason naming its documented id (docs/errors.md, docs/operations.md "Readiness").
 */
import type { HealthReason, OutputHealth, ServiceHealth } from '@devo-collector/common';

/** Documented in docs/errors.md. */
export const READINESS_ID = {
  /** No enabled input (or an enabled input without services): nothing is collected. */
  noEnabledInput: 'RuntimeError(510)',
  /** A service's setup has neither succeeded nor failed yet. */
  serviceStarting: 'RuntimeError(511)',
  /** InputProcess or OutputProcess is starting, restarting after a crash, or stopping. */
  workerNotReady: 'RuntimeError(512)',
  /** MainProcess is starting or stopping. */
  collectorNotRunning: 'RuntimeError(513)',
} as const;

export type WorkerReadiness = 'starting' | 'ready' | 'stopping' | 'stopped' | 'exited' | 'none';

export interface ReadinessInput {
  supervisor: 'starting' | 'running' | 'stopping' | 'stopped';
  input: WorkerReadiness;
  output: WorkerReadiness;
  /** Since when each worker is in its state (epoch ms), for the reason's `since`. */
  inputSinceMs: number;
  outputSinceMs: number;
  supervisorSinceMs: number;
  /** Service names of the enabled inputs, from the configuration. */
  enabledServices: readonly string[];
  /** Output names, from the configuration. */
  outputs: readonly string[];
  /** What the workers last reported (absent: nothing reported by the current worker yet). */
  serviceHealth: Readonly<Record<string, ServiceHealth>>;
  outputHealth: Readonly<Record<string, OutputHealth>>;
}

export interface ReadinessReason {
  /** `collector`, `input`, `output`, `service:<name>` or `output:<name>`. */
  component: string;
  state: string;
  id: string;
  message: string;
  /** ISO time the condition began. */
  since: string;
}

export interface Readiness {
  ready: boolean;
  reasons: ReadinessReason[];
  services: Record<string, ServiceHealth>;
  outputs: Record<string, OutputHealth>;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const unknown = (sinceMs: number): HealthReason => ({ id: 'RuntimeError(500)', message: 'reported without a reason', sinceMs });

function reason(component: string, state: string, r: HealthReason): ReadinessReason {
  return { component, state, id: r.id, message: r.message, since: iso(r.sinceMs) };
}

export function computeReadiness(x: ReadinessInput): Readiness {
  const reasons: ReadinessReason[] = [];
  if (x.supervisor !== 'running') {
    reasons.push(reason('collector', x.supervisor, { id: READINESS_ID.collectorNotRunning, message: `the collector is ${x.supervisor}`, sinceMs: x.supervisorSinceMs }));
  }
  for (const [role, state, since] of [['input', x.input, x.inputSinceMs], ['output', x.output, x.outputSinceMs]] as const) {
    if (state !== 'ready') {
      const name = role === 'input' ? 'InputProcess' : 'OutputProcess';
      reasons.push(reason(role, state, { id: READINESS_ID.workerNotReady, message: `${name} is ${state === 'exited' ? 'down (restart pending)' : state}`, sinceMs: since }));
    }
  }
  if (x.enabledServices.length === 0) {
    reasons.push(
      reason('collector', 'no-input', {
        id: READINESS_ID.noEnabledInput,
        message: 'no enabled input with a service: nothing is collected (check inputs.darktrace.enabled and its services)',
        sinceMs: x.supervisorSinceMs,
      }),
    );
  }
  const starting = (): HealthReason => ({ id: READINESS_ID.serviceStarting, message: 'the setup (token check) has not completed yet', sinceMs: x.inputSinceMs });
  const services: Record<string, ServiceHealth> = {};
  for (const s of x.enabledServices) {
    const h = x.serviceHealth[s] ?? { state: 'starting', lastSuccessMs: null };
    // Every state but ok is a reason; a worker that sent none still gets a documented id.
    const shown: ServiceHealth = h.state !== 'ok' && !h.reason ? { ...h, reason: h.state === 'starting' ? starting() : unknown(x.inputSinceMs) } : h;
    services[s] = shown;
    if (shown.state !== 'ok' && shown.reason) reasons.push(reason(`service:${s}`, shown.state, shown.reason));
  }
  const outputs: Record<string, OutputHealth> = {};
  for (const o of x.outputs) {
    // Until the (new) output worker reports, nothing is known against the output: ok; the worker's
    // own reason (not ready) covers that moment.
    const h = x.outputHealth[o] ?? { state: 'ok' };
    const shown: OutputHealth = h.state !== 'ok' && !h.reason ? { ...h, reason: unknown(x.outputSinceMs) } : h;
    outputs[o] = shown;
    if (shown.state !== 'ok' && shown.reason) reasons.push(reason(`output:${o}`, shown.state, shown.reason));
  }
  return { ready: reasons.length === 0, reasons, services, outputs };
}
