/** CollectorMetrics turns worker totals into Prometheus counters that never go backwards. */
import { describe, expect, it } from 'vitest';
import type { InputMetrics } from '@devo-collector/common';
import { CollectorMetrics } from '../src/metrics.js';

function input(received: number, errors: number): InputMetrics {
  return {
    vendorRequests: { '/modelbreaches': received },
    received: { modelbreaches: received },
    removed: {},
    filtered: {},
    pullErrors: { 'modelbreaches:300': errors },
    cursorLagSeconds: { modelbreaches: 42 },
    servicesReady: { modelbreaches: true },
    health: {},
  };
}

describe('CollectorMetrics', () => {
  it('labels pull errors by service and id, and survives a worker restart', async () => {
    const m = new CollectorMetrics();
    m.updateInput(input(10, 1));
    m.updateInput(input(25, 3));
    let text = await m.registry.metrics();
    expect(text).toMatch(/^pull_errors\{service="modelbreaches",error_id="300"\} 3$/m);
    expect(text).toMatch(/^msg_incoming_received\{service="modelbreaches"\} 25$/m);
    expect(text).toMatch(/^cursor_lag_seconds\{service="modelbreaches"\} 42$/m);
    // The input worker restarted: its totals start from zero again; the counter keeps going.
    m.updateInput(input(4, 0));
    text = await m.registry.metrics();
    expect(text).toMatch(/^msg_incoming_received\{service="modelbreaches"\} 29$/m);
    expect(text).toMatch(/^pull_errors\{service="modelbreaches",error_id="300"\} 3$/m);
  });
});
