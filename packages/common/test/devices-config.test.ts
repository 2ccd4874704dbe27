/**
 * `inputs.darktrace.services.devices` (opt-in lookup service): defaults from the bundled
 * definitions (3600 s, darktrace_devices), overrides, and the ids of a bad lookup name or period
 * (InitVariablesError 70-72), unknown keys under devices (56).
 */
import { describe, expect, it } from 'vitest';
import type { CompiledConfig } from '../src/index.js';
import { bundledDefinitions, compileIn, here, initError, type Dict } from './helpers.js';

function compile(services: Dict, editDefs: (d: Dict) => void = () => undefined): CompiledConfig {
  const defs = bundledDefinitions();
  editDefs(defs);
  const cfg = {
    globals: { id: '1', name: 'dt', persistence: { type: 'memory' } },
    outputs: { console_1: { type: 'console' } },
    inputs: { darktrace: { id: '7', credentials: { public_token: 'p', private_token: 'q', instance: 'dt.example.com' }, services } },
  };
  return compileIn(here, cfg, { defs, nowMs: Date.now() });
}

const idOf = (fn: () => unknown): { code: number; detail: string } => {
  const e = initError(fn);
  return { code: e.code, detail: e.detail };
};

const devicesDefs = (d: Dict) => d.collector_inputs.darktrace.services.devices.module_properties;

describe('services.devices', () => {
  it('is off unless configured; `devices: {}` takes the definitions defaults', () => {
    expect(compile({ status: {} }).inputs[0]!.services.map((s) => s.name)).toEqual(['status']);
    const svc = compile({ devices: {} }).inputs[0]!.services[0]!;
    expect(svc).toMatchObject({ name: 'devices', kind: 'lookup', endpoint: '/devices', lookupName: 'darktrace_devices', requestPeriodMs: 3_600_000, tag: 'my.lookup.darktrace_devices', uniqueId: 'did' });
  });

  it('request_period_in_seconds and lookup_name override the defaults', () => {
    const svc = compile({ devices: { request_period_in_seconds: 600, lookup_name: 'dt_inventory_2' } }).inputs[0]!.services[0]!;
    expect(svc).toMatchObject({ requestPeriodMs: 600_000, lookupName: 'dt_inventory_2', tag: 'my.lookup.dt_inventory_2' });
  });

  it('a lookup_name Devo refuses is InitVariablesError(72); a bad period is 37', () => {
    expect(idOf(() => compile({ devices: { lookup_name: 'dt-devices' } }))).toMatchObject({ code: 72, detail: expect.stringMatching(/^inputs\.darktrace\.services\.devices\.lookup_name must be a Devo lookup name .*got "dt-devices"$/) });
    expect(idOf(() => compile({ devices: { lookup_name: 5 } })).code).toBe(72);
    expect(idOf(() => compile({ devices: { request_period_in_seconds: 0 } })).code).toBe(37);
  });

  it('keys that mean nothing for a lookup are unknown keys (56)', () => {
    expect(idOf(() => compile({ devices: { start_time_in_utc_format: '2024-01-01T00:00:00' } }))).toMatchObject({ code: 56, detail: expect.stringMatching(/services\.devices\.start_time_in_utc_format is not a known key/) });
    expect(idOf(() => compile({ devices: { lookup_nme: 'x' } }))).toMatchObject({ code: 56, detail: expect.stringMatching(/did you mean lookup_name\?/) });
  });

  it('definitions: a bad lookup_name is 70, a bad request_period_in_seconds 71', () => {
    expect(idOf(() => compile({ status: {} }, (d) => (devicesDefs(d).lookup_name = 'a b'))).code).toBe(70);
    expect(idOf(() => compile({ status: {} }, (d) => (devicesDefs(d).request_period_in_seconds = -1))).code).toBe(71);
  });
});
