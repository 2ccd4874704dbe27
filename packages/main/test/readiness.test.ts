/** The readiness model (readiness.ts) and the gauges that follow it, with fake worker reports. */
import { describe, expect, it } from 'vitest';
import type { OutputHealth, ServiceHealth } from '@devo-collector/common';
import { CollectorMetrics } from '../src/metrics.js';
import { computeReadiness, type ReadinessInput } from '../src/readiness.js';

const T = Date.UTC(2026, 0, 1);
const ok: ServiceHealth = { state: 'ok', lastSuccessMs: T };
function input(o: Partial<ReadinessInput> = {}): ReadinessInput {
  return {
    supervisor: 'running',
    input: 'ready',
    output: 'ready',
    inputSinceMs: T,
    outputSinceMs: T,
    supervisorSinceMs: T,
    enabledServices: ['modelbreaches', 'status'],
    outputs: ['devo_1'],
    serviceHealth: { modelbreaches: ok, status: ok },
    outputHealth: { devo_1: { state: 'ok' } },
    ...o,
  };
}
const ids = (x: ReadinessInput): string[] => computeReadiness(x).reasons.map((r) => `${r.component} ${r.state} ${r.id}`);

describe('computeReadiness', () => {
  it('ready when both workers, every enabled service and every output are ok', () => {
    const r = computeReadiness(input());
    expect(r.ready).toBe(true);
    expect(r.reasons).toEqual([]);
    expect(r.services).toEqual({ modelbreaches: ok, status: ok });
    expect(r.outputs).toEqual({ devo_1: { state: 'ok' } });
  });

  it('a failed setup is a reason with its id, message and since', () => {
    const failing: ServiceHealth = { state: 'failing', reason: { id: 'SetupError(101)', message: 'The tokens provided are incorrect.', sinceMs: T + 1000 }, lastSuccessMs: null };
    const r = computeReadiness(input({ serviceHealth: { modelbreaches: failing, status: ok } }));
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual([
      { component: 'service:modelbreaches', state: 'failing', id: 'SetupError(101)', message: 'The tokens provided are incorrect.', since: new Date(T + 1000).toISOString() },
    ]);
  });

  it('a service not reported yet is starting (RuntimeError(511))', () => {
    expect(ids(input({ serviceHealth: { modelbreaches: ok } }))).toEqual(['service:status starting RuntimeError(511)']);
    expect(ids(input({ serviceHealth: { modelbreaches: ok, status: { state: 'starting', lastSuccessMs: null } } }))).toEqual(['service:status starting RuntimeError(511)']);
  });

  it('no enabled input is not ready (RuntimeError(510))', () => {
    expect(ids(input({ enabledServices: [], serviceHealth: {} }))).toEqual(['collector no-input RuntimeError(510)']);
  });

  it('a worker down or restarting, or MainProcess not running, is not ready (RuntimeError(512), (513))', () => {
    expect(ids(input({ output: 'exited' }))).toEqual(['output exited RuntimeError(512)']);
    expect(ids(input({ input: 'starting' }))).toEqual(['input starting RuntimeError(512)']);
    expect(ids(input({ supervisor: 'stopping' }))).toEqual(['collector stopping RuntimeError(513)']);
  });

  it('an output stalled or blocked is a reason; one not reported yet counts as ok', () => {
    const stalled: OutputHealth = { state: 'stalled', reason: { id: 'OutputError(405)', message: 'no bytes accepted', sinceMs: T } };
    expect(ids(input({ outputHealth: { devo_1: stalled } }))).toEqual(['output:devo_1 stalled OutputError(405)']);
    expect(ids(input({ outputHealth: {} }))).toEqual([]);
    // A non-ok state without a reason still blocks readiness.
    expect(ids(input({ outputHealth: { devo_1: { state: 'blocked' } } }))).toEqual(['output:devo_1 blocked RuntimeError(500)']);
  });
});

describe('readiness gauges', () => {
  it('module_global_status follows readiness; service_state and output_state are one-hot', async () => {
    const m = new CollectorMetrics();
    const failing: ServiceHealth = { state: 'failing', reason: { id: 'SetupError(101)', message: 'x', sinceMs: T }, lastSuccessMs: null };
    m.updateReadiness(computeReadiness(input({ serviceHealth: { modelbreaches: failing, status: ok }, outputHealth: { devo_1: { state: 'blocked', reason: { id: 'RuntimeError(514)', message: 'full', sinceMs: T } } } })));
    let text = await m.registry.metrics();
    expect(text).toMatch(/^module_global_status 0$/m);
    expect(text).toMatch(/^service_state\{service="modelbreaches",state="failing"\} 1$/m);
    expect(text).toMatch(/^service_state\{service="modelbreaches",state="ok"\} 0$/m);
    expect(text).toMatch(/^service_state\{service="modelbreaches",state="starting"\} 0$/m);
    expect(text).toMatch(/^service_state\{service="status",state="ok"\} 1$/m);
    expect(text).toMatch(/^output_state\{output="devo_1",state="blocked"\} 1$/m);
    expect(text).toMatch(/^output_state\{output="devo_1",state="ok"\} 0$/m);
    m.updateReadiness(computeReadiness(input()));
    text = await m.registry.metrics();
    expect(text).toMatch(/^module_global_status 1$/m);
    expect(text).toMatch(/^service_state\{service="modelbreaches",state="failing"\} 0$/m);
    expect(text).toMatch(/^service_state\{service="modelbreaches",state="ok"\} 1$/m);
    expect(text).toMatch(/^output_state\{output="devo_1",state="ok"\} 1$/m);
    expect(text).toMatch(/^output_state\{output="devo_1",state="blocked"\} 0$/m);
  });

  it('spool_max_bytes per <output>.<group>, like spool_bytes', async () => {
    const m = new CollectorMetrics();
    m.updateOutput({
      enqueued: { standard: { count: 0, bytes: 0 }, lookup: { count: 0, bytes: 0 }, internal: { count: 0, bytes: 0 } },
      sent: {},
      spoolBytes: { 'devo_1.standard': 10 },
      spoolMaxBytes: { 'devo_1.standard': 1024 },
      connected: {},
      quarantinedSegments: 0,
      health: {},
    });
    const text = await m.registry.metrics();
    expect(text).toMatch(/^spool_bytes\{output="devo_1\.standard"\} 10$/m);
    expect(text).toMatch(/^spool_max_bytes\{output="devo_1\.standard"\} 1024$/m);
  });
});
