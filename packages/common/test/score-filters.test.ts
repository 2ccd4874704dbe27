/**
 * minscore / mingroupscore: the ranges of the API guide per service (InitVariablesError 62-64),
 * what the compiled service carries, and the text persisted with the state.
 */
import { describe, expect, it } from 'vitest';
import { scoreFiltersText, type CompiledConfig, type InitVariablesError } from '../src/index.js';
import { compileIn, configWorkspace, initError, type Dict } from './helpers.js';

const cwd = configWorkspace('cfg-scores-');

function compile(services: Dict, env: Record<string, string> = {}): CompiledConfig {
  const cfg = {
    globals: { id: '1', name: 'dt', persistence: { type: 'filesystem', config: { directory_name: 'state' } } },
    outputs: { devo_1: { type: 'devo_platform', config: { address: 'collector-eu.devo.io', port: 443, chain: 'chain.crt', cert: 'domain.crt', key: 'domain.key' } } },
    inputs: { darktrace: { id: '1', credentials: { public_token: 'PUB-0123456789', private_token: 'PRIV-0123456789', instance: 'dt.example.com' }, services } },
  };
  return compileIn(cwd, cfg, { env });
}

const error = (services: Dict): InitVariablesError => initError(() => compile(services));

describe('score filters: accepted values', () => {
  it('carries minscore 0-1 for modelbreaches and minscore/mingroupscore 0-100 for AI Analyst events', () => {
    const c = compile({
      modelbreaches: { minscore: 0.35 },
      aianalyst_incidentevents: { minscore: 40, mingroupscore: 62.5 },
      antigena: {},
      status: {},
    });
    const [mb, ai, an, st] = c.inputs[0]!.services;
    expect(mb!.scoreFilters).toEqual({ minscore: 0.35 });
    expect(ai!.scoreFilters).toEqual({ minscore: 40, mingroupscore: 62.5 });
    expect(an!.scoreFilters).toEqual({});
    expect(st!.scoreFilters).toEqual({});
  });

  it('accepts both ends of each range, null as "not set", and a numeric string from ${VAR}', () => {
    const c = compile(
      { modelbreaches: { minscore: '${MB_MIN}' }, aianalyst_incidentevents: { minscore: 0, mingroupscore: 100 }, antigena: { minscore: null } },
      { MB_MIN: ' 1 ' },
    );
    const [mb, ai, an] = c.inputs[0]!.services;
    expect(mb!.scoreFilters).toEqual({ minscore: 1 });
    expect(ai!.scoreFilters).toEqual({ minscore: 0, mingroupscore: 100 });
    expect(an!.scoreFilters).toEqual({});
  });

  it('writes the persisted text in key order, empty for none', () => {
    expect(scoreFiltersText({ mingroupscore: 40, minscore: 0.5 })).toBe('minscore=0.5&mingroupscore=40');
    expect(scoreFiltersText({})).toBe('');
  });
});

describe('score filters: InitVariablesError 62-64', () => {
  const cases: Array<{ id: number; services: Dict; message: RegExp }> = [
    { id: 62, services: { modelbreaches: { minscore: 1.01 } }, message: /^inputs\.darktrace\.services\.modelbreaches\.minscore must be a number from 0 to 1 \(the model breach score\), got 1\.01$/ },
    // The 0-100 scale of the vendor UI given to the 0-1 API parameter is the likely mistake.
    { id: 62, services: { modelbreaches: { minscore: 50 } }, message: /modelbreaches\.minscore must be a number from 0 to 1 .*got 50$/ },
    { id: 62, services: { modelbreaches: { minscore: -0.1 } }, message: /modelbreaches\.minscore must be a number from 0 to 1/ },
    { id: 62, services: { modelbreaches: { minscore: 'high' } }, message: /modelbreaches\.minscore must be a number from 0 to 1 .*got "high"$/ },
    { id: 62, services: { modelbreaches: { minscore: true } }, message: /modelbreaches\.minscore must be a number/ },
    { id: 62, services: { modelbreaches: { minscore: 0.1234567 } }, message: /modelbreaches\.minscore must have at most 6 decimal places, got 0\.1234567$/ },
    { id: 62, services: { modelbreaches: { minscore: 1e-7 } }, message: /at most 6 decimal places/ },
    { id: 63, services: { aianalyst_incidentevents: { minscore: 101 } }, message: /^inputs\.darktrace\.services\.aianalyst_incidentevents\.minscore must be a number from 0 to 100 \(the AI Analyst event score\), got 101$/ },
    { id: 63, services: { aianalyst_incidentevents: { mingroupscore: -1 } }, message: /aianalyst_incidentevents\.mingroupscore must be a number from 0 to 100 \(the AI Analyst incident \(group\) score\)/ },
    { id: 63, services: { aianalyst_incidentevents: { mingroupscore: [40] } }, message: /mingroupscore must be a number/ },
    { id: 64, services: { modelbreaches: { mingroupscore: 40 } }, message: /^inputs\.darktrace\.services\.modelbreaches\.mingroupscore is not a filter of the modelbreaches service \(only aianalyst_incidentevents take mingroupscore\)$/ },
    { id: 64, services: { antigena: { minscore: 0.5 } }, message: /antigena\.minscore is not a filter of the antigena service \(only modelbreaches, aianalyst_incidentevents take minscore\)/ },
    { id: 64, services: { status: { minscore: 0.5 } }, message: /status\.minscore is not a filter of the status service/ },
  ];
  for (const c of cases) {
    it(`InitVariablesError(${c.id}): ${JSON.stringify(c.services)}`, () => {
      const err = error(c.services);
      expect(err.code).toBe(c.id);
      expect(err.detail).toMatch(c.message);
      expect(err.toString()).toBe(`InitVariablesError(${c.id}): ${err.detail}`);
    });
  }

  it('knows the keys (a typo is id 56, with the hint)', () => {
    const err = error({ modelbreaches: { min_score: 0.5 } });
    expect(err.code).toBe(56);
    expect(err.detail).toMatch(/modelbreaches\.min_score is not a known key \(did you mean minscore\?\)/);
  });
});
