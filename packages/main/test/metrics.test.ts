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

  it('certificate_expiry_seconds: seconds until each tracked certificate expires, computed at scrape time', async () => {
    const m = new CollectorMetrics();
    expect(await m.registry.metrics()).not.toMatch(/^certificate_expiry_seconds\{/m);
    const now = Date.now();
    const certs = [
      { output: 'devo_1', certificate: 'chain' as const, path: '/c/chain.crt', notAfterMs: now + 400 * 86_400_000, subject: 'CN=ca', certificates: 2 },
      { output: 'devo_1', certificate: 'cert' as const, path: '/c/client.crt', notAfterMs: now + 10 * 86_400_000, subject: 'CN=c', certificates: 1 },
    ];
    m.trackCertificates(() => certs);
    const text = await m.registry.metrics();
    const value = (certificate: string, file: string): number =>
      Number(new RegExp(`^certificate_expiry_seconds\\{output="devo_1",certificate="${certificate}",path="${file}"\\} (-?\\d+)$`, 'm').exec(text)?.[1]);
    expect(Math.abs(value('cert', '/c/client.crt') - 10 * 86_400)).toBeLessThanOrEqual(2);
    expect(Math.abs(value('chain', '/c/chain.crt') - 400 * 86_400)).toBeLessThanOrEqual(2);
    // A certificate no longer read (file gone) drops its series.
    certs.pop();
    expect(await m.registry.metrics()).not.toContain('path="/c/client.crt"');
  });
});
