/**
 * Table test: every documented InitVariablesError id (1-19 definitions, 20-35 user config) and our
 * own ids (36+) is produced by a config or definitions file that triggers it, with its message.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileConfig, InitVariablesError } from '../src/index.js';
import { bundledDefinitions, compileIn, configWorkspace, here, type Dict } from './helpers.js';

const cwd = configWorkspace('cfg-');
writeFileSync(path.join(cwd, 'empty-token'), ' \n');
const PUB = 'PUBLICTOKEN-abcdef0123456789';
const PRIV = 'PRIVATETOKEN-fedcba9876543210';

function baseConfig(): Dict {
  return {
    globals: { id: '1', name: 'dt', persistence: { type: 'filesystem', config: { directory_name: 'state' } } },
    outputs: { devo_1: { type: 'devo_platform', config: { address: 'collector-eu.devo.io', port: 443, chain: 'chain.crt', cert: 'domain.crt', key: 'domain.key' } } },
    inputs: {
      darktrace: {
        id: '12345',
        enabled: true,
        credentials: { public_token: PUB, private_token: PRIV, instance: 'azeus1-75836-01.cloud.darktrace.com' },
        services: {
          modelbreaches: { start_time_in_utc_format: '2024-01-01T00:00:00', request_period_in_seconds: 60 },
          aianalyst_incidentevents: {},
          antigena: {},
          summarystatistics: {},
          status: {},
        },
      },
    },
  };
}

const svc = (d: Dict) => d.collector_inputs.darktrace.services;
const mp = (d: Dict, s = 'modelbreaches') => svc(d)[s].module_properties;
const dt = (c: Dict) => c.inputs.darktrace;
const ms = (c: Dict) => dt(c).services.modelbreaches;

interface Case {
  id: number;
  message: RegExp;
  defs?: (d: Dict) => void;
  cfg?: (c: Dict) => void;
  env?: Record<string, string>;
}

const cases: Case[] = [
  { id: 1, message: /"module_globals" mandatory property is missing or empty/, defs: (d) => delete d.collector_inputs.darktrace.module_globals },
  { id: 2, message: /"module_globals" property must be a dictionary/, defs: (d) => (d.collector_inputs.darktrace.module_globals = [1]) },
  { id: 3, message: /"base_url" mandatory property is missing or empty/, defs: (d) => delete mp(d).base_url },
  { id: 4, message: /"base_url" property must be a string/, defs: (d) => (mp(d).base_url = 42) },
  { id: 5, message: /"date_format" mandatory property is missing or empty/, defs: (d) => delete mp(d).date_format },
  { id: 6, message: /"date_format" property must be a string/, defs: (d) => (mp(d).date_format = 7) },
  { id: 7, message: /modelbreaches.module_properties" mandatory property is missing or empty/, defs: (d) => delete svc(d).modelbreaches.module_properties },
  { id: 8, message: /modelbreaches.module_properties" property must be a dictionary/, defs: (d) => (svc(d).modelbreaches.module_properties = 'x') },
  { id: 9, message: /\.endpoint" mandatory property is missing or empty/, defs: (d) => delete mp(d).endpoint },
  { id: 10, message: /\.endpoint" property must be a string/, defs: (d) => (mp(d).endpoint = ['x']) },
  { id: 11, message: /time_window_interval_in_minutes" mandatory property is missing or empty/, defs: (d) => delete mp(d).time_window_interval_in_minutes },
  { id: 12, message: /time_window_interval_in_minutes" property must be an integer/, defs: (d) => (mp(d).time_window_interval_in_minutes = '60') },
  { id: 13, message: /time_window_interval_in_minutes" property can not be a negative value/, defs: (d) => (mp(d).time_window_interval_in_minutes = -5) },
  { id: 14, message: /\.devo_tag" mandatory property is missing or empty/, defs: (d) => delete mp(d).devo_tag },
  { id: 15, message: /\.devo_tag" property must be a string/, defs: (d) => (mp(d).devo_tag = 3) },
  { id: 16, message: /\.unique_id" property must be a string/, defs: (d) => (mp(d).unique_id = 3) },
  { id: 17, message: /persistence_version" mandatory property is missing or empty/, defs: (d) => delete mp(d).persistence_version },
  { id: 18, message: /persistence_version" property must be an integer/, defs: (d) => (mp(d).persistence_version = 1.5) },
  { id: 19, message: /persistence_version" property can not be a negative value/, defs: (d) => (mp(d).persistence_version = -1) },
  { id: 20, message: /^inputs\.darktrace mandatory property is missing or empty$/, cfg: (c) => delete c.inputs.darktrace },
  { id: 21, message: /^inputs\.darktrace property must be a dictionary$/, cfg: (c) => (c.inputs.darktrace = 'yes') },
  { id: 22, message: /^inputs\.darktrace\.credentials mandatory property is missing or empty$/, cfg: (c) => delete dt(c).credentials },
  { id: 23, message: /^inputs\.darktrace\.credentials property must be a dictionary$/, cfg: (c) => (dt(c).credentials = ['a']) },
  { id: 24, message: /public_token mandatory property is missing or empty/, cfg: (c) => (dt(c).credentials.public_token = '') },
  { id: 25, message: /public_token property must be a string/, cfg: (c) => (dt(c).credentials.public_token = 12345) },
  { id: 26, message: /private_token mandatory property is missing or empty/, cfg: (c) => delete dt(c).credentials.private_token },
  { id: 27, message: /private_token property must be a string/, cfg: (c) => (dt(c).credentials.private_token = true) },
  { id: 28, message: /instance mandatory property is missing or empty/, cfg: (c) => (dt(c).credentials.instance = null) },
  { id: 29, message: /instance property must be a string/, cfg: (c) => (dt(c).credentials.instance = 8080) },
  { id: 30, message: /^inputs\.darktrace\.services\.modelbreaches mandatory property is missing or empty$/, cfg: (c) => (dt(c).services.modelbreaches = null) },
  { id: 31, message: /^inputs\.darktrace\.services\.modelbreaches property must be a dictionary$/, cfg: (c) => (dt(c).services.modelbreaches = 'on') },
  { id: 32, message: /override_devo_tag property must be a string/, cfg: (c) => (ms(c).override_devo_tag = 5) },
  { id: 33, message: /start_time_in_utc_format property must be a string/, cfg: (c) => (ms(c).start_time_in_utc_format = 20240101) },
  { id: 34, message: /start_time_in_utc_format does not match the format %Y-%m-%dT%H:%M:%S/, cfg: (c) => (ms(c).start_time_in_utc_format = '2024/01/01 00:00') },
  { id: 35, message: /override_time_window_interval_in_minutes property must be an int/, cfg: (c) => (ms(c).override_time_window_interval_in_minutes = '60') },
  { id: 36, message: /services\.modelbreach is not a known service/, cfg: (c) => (dt(c).services.modelbreach = {}) },
  { id: 37, message: /request_period_in_seconds must be a positive integer, got 0/, cfg: (c) => (ms(c).request_period_in_seconds = 0) },
  { id: 38, message: /override_time_window_interval_in_minutes must be at least 1/, cfg: (c) => (ms(c).override_time_window_interval_in_minutes = 0) },
  { id: 39, message: /is in the future/, cfg: (c) => (ms(c).start_time_in_utc_format = '2999-01-01T00:00:00') },
  { id: 40, message: /is not a valid Devo tag/, cfg: (c) => (ms(c).override_devo_tag = 'My Tag') },
  { id: 41, message: /instance must be a host name or base URL/, cfg: (c) => (dt(c).credentials.instance = 'https://dt.example.com/api?x=1') },
  { id: 42, message: /plain http to a non-loopback host/, cfg: (c) => (dt(c).credentials.instance = 'http://dt.example.com:8080') },
  { id: 43, message: /inputs\.darktrace\.id must be a short unique id/, cfg: (c) => delete dt(c).id },
  { id: 44, message: /inputs\.darktrace\.enabled must be true or false/, cfg: (c) => (dt(c).enabled = 'yes') },
  { id: 45, message: /ca_file .* cannot be read/, cfg: (c) => (dt(c).ca_file = 'missing-ca.pem') },
  { id: 46, message: /^outputs mandatory property is missing or empty$/, cfg: (c) => delete c.outputs },
  { id: 47, message: /outputs\.devo_1\.type must be one of/, cfg: (c) => (c.outputs.devo_1.type = 'kafka') },
  { id: 48, message: /outputs\.devo_1\.config\.port must be an integer 1-65535/, cfg: (c) => (c.outputs.devo_1.config.port = 70000) },
  { id: 49, message: /outputs\.devo_1\.config\.key file .* does not exist/, cfg: (c) => (c.outputs.devo_1.config.key = 'nope.key') },
  { id: 50, message: /globals\.queue_max_size_in_mb must be <= 5120, got 99999/, cfg: (c) => (c.globals.queue_max_size_in_mb = 99999) },
  { id: 52, message: /the configuration must be a mapping/, cfg: (c) => Object.assign(c, { __replace: 'text' }) },
  { id: 53, message: /collector definitions must be a YAML mapping/, defs: (d) => Object.assign(d, { __replace: 'text' }) },
  { id: 54, message: /inputs\.sentinel is not a known input/, cfg: (c) => (c.inputs.sentinel = {}) },
  { id: 56, message: /^inputs\.darktrace\.services\.modelbreaches\.overide_devo_tag is not a known key \(did you mean override_devo_tag\?\)$/, cfg: (c) => (ms(c).overide_devo_tag = 'my.app.x.y') },
  { id: 56, message: /^globals\.web_service\.prot is not a known key \(did you mean port\?\)$/, cfg: (c) => (c.globals.web_service = { prot: 3000 }) },
  { id: 56, message: /^outputs\.devo_1\.config\.adress is not a known key \(did you mean address\?\)$/, cfg: (c) => (c.outputs.devo_1.config.adress = 'x') },
  { id: 56, message: /^inputs\.darktrace\.credentials\.private_tokn is not a known key \(did you mean private_token\?\)$/, cfg: (c) => (dt(c).credentials.private_tokn = 'x') },
  { id: 56, message: /^inputs\.darktrace\.requests_limits\[0\]\.perod is not a known key \(did you mean period\?\)$/, cfg: (c) => (dt(c).requests_limits = [{ perod: '1m', number_of_requests: 5 }]) },
  { id: 56, message: /^globalz is not a known key \(did you mean globals\?\)$/, cfg: (c) => (c.globalz = {}) },
  { id: 57, message: /override_devo_tag "my\.app\.a\.b" and .*override_tag "my\.app\.c\.d" disagree/, cfg: (c) => Object.assign(ms(c), { override_devo_tag: 'my.app.a.b', override_tag: 'my.app.c.d' }) },
  { id: 58, message: /^inputs\.darktrace\.requests_limits\[0\]\.period must be a number and a unit/, cfg: (c) => (dt(c).requests_limits = [{ period: '1 minute', number_of_requests: 5 }]) },
  { id: 58, message: /services\.antigena\.requests_limits\[1\]\.number_of_requests must be -1 \(unlimited\) or an integer 1-9999999, got 0/, cfg: (c) => (dt(c).services.antigena.requests_limits = [{ period: '1d', number_of_requests: -1 }, { period: '1h', number_of_requests: 0 }]) },
  { id: 58, message: /^inputs\.darktrace\.requests_limits must be a list/, cfg: (c) => (dt(c).requests_limits = '10/m') },
  { id: 59, message: /^inputs\.darktrace\.credentials\.public_token references the environment variable DT_NOT_SET_ANYWHERE, which is not set$/, cfg: (c) => (dt(c).credentials.public_token = '${DT_NOT_SET_ANYWHERE}') },
  { id: 59, message: /^outputs\.devo_1\.config\.address has a "\$\{" without its closing "\}"/, cfg: (c) => (c.outputs.devo_1.config.address = 'collector-${REGION.devo.io') },
  { id: 60, message: /credentials\.public_token and inputs\.darktrace\.credentials\.public_token_file are both set/, cfg: (c) => (dt(c).credentials.public_token_file = 'pub.txt') },
  { id: 61, message: /credentials\.private_token_file file ".*no-such-token" cannot be read \(ENOENT\)/, cfg: (c) => { delete dt(c).credentials.private_token; dt(c).credentials.private_token_file = 'no-such-token'; } },
  { id: 61, message: /credentials\.private_token_file file ".*empty-token" is empty/, cfg: (c) => { delete dt(c).credentials.private_token; dt(c).credentials.private_token_file = 'empty-token'; } },
];

function run(c: Case): unknown {
  const defs = bundledDefinitions();
  const cfg = baseConfig();
  c.defs?.(defs);
  c.cfg?.(cfg);
  const d = defs.__replace ? defs.__replace : defs;
  const r = cfg.__replace ? cfg.__replace : cfg;
  return compileIn(cwd, r, { defs: d, env: c.env ?? {} });
}

describe('compileConfig error ids', () => {
  it('accepts the base configuration and resolves every field', () => {
    const c = run({ id: 0, message: /x/ }) as ReturnType<typeof compileConfig>;
    const input = c.inputs[0]!;
    expect(input.baseUrl).toBe('https://azeus1-75836-01.cloud.darktrace.com');
    expect(input.services.map((s) => s.name)).toEqual(['modelbreaches', 'aianalyst_incidentevents', 'antigena', 'summarystatistics', 'status']);
    const mb = input.services[0]!;
    expect(mb).toMatchObject({ kind: 'time-slot', endpoint: '/modelbreaches', tag: 'edr.darktrace.respond.model_breach', uniqueId: 'pbid', windowMs: 3_600_000, requestPeriodMs: 60_000 });
    expect(mb.startTimeMs).toBe(Date.parse('2024-01-01T00:00:00Z'));
    expect(input.services[3]).toMatchObject({ kind: 'stateless', tag: 'edr.darktrace.respond.summary' });
    expect(c.outputs[0]!.chainPath).toBe(path.join(cwd, 'certs', 'chain.crt'));
    expect(c.globals.persistence.directory).toBe(path.join(cwd, 'state'));
  });

  for (const c of cases) {
    it(`InitVariablesError(${c.id})`, () => {
      let caught: unknown;
      try {
        run(c);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InitVariablesError);
      const err = caught as InitVariablesError;
      expect(err.code).toBe(c.id);
      expect(err.detail).toMatch(c.message);
      expect(err.toString()).toBe(`InitVariablesError(${c.id}): ${err.detail}`);
      expect(err.toString()).not.toContain(PUB);
      expect(err.toString()).not.toContain(PRIV);
    });
  }

  it('covers every documented id 1-35', () => {
    const ids = new Set(cases.map((c) => c.id));
    for (let i = 1; i <= 35; i++) expect(ids.has(i), `id ${i}`).toBe(true);
  });

  it('accepts start times with a trailing Z and milliseconds', () => {
    const c = run({ id: 0, message: /x/, cfg: (x) => (ms(x).start_time_in_utc_format = '2024-01-01T00:00:00.250Z') }) as ReturnType<typeof compileConfig>;
    expect(c.inputs[0]!.services[0]!.startTimeMs).toBe(Date.parse('2024-01-01T00:00:00.250Z'));
  });

  it('allows plain http only to loopback, and an explicit opt-in elsewhere', () => {
    const a = run({ id: 0, message: /x/, cfg: (x) => (dt(x).credentials.instance = 'http://127.0.0.1:18443') }) as ReturnType<typeof compileConfig>;
    expect(a.inputs[0]!.baseUrl).toBe('http://127.0.0.1:18443');
    const b = run({ id: 0, message: /x/, cfg: (x) => { dt(x).credentials.instance = 'http://dt.lan:80'; dt(x).allow_insecure_http = true; } }) as ReturnType<typeof compileConfig>;
    expect(b.inputs[0]!.baseUrl).toBe('http://dt.lan');
  });
});

describe('vendor keys, aliases and secrets outside the file', () => {
  const ok = (cfg: (c: Dict) => void, env?: Record<string, string>) => run({ id: 0, message: /x/, cfg, ...(env ? { env } : {}) }) as ReturnType<typeof compileConfig>;

  it('accepts every key the vendor documents (type: SSL, the sender retry keys, environment, multiprocessing, ...)', () => {
    const c = ok((x) => {
      Object.assign(x.outputs.devo_1.config, {
        type: 'SSL', connecting_retries: 5, connecting_max_wait_in_seconds: 60, connecting_initial_wait_in_seconds: 2,
        sending_timeout: 5, sending_retries: 5, sending_max_wait_in_seconds: 60, sending_initial_wait_in_seconds: 2,
        period_sender_stats_in_seconds: 300, stall_timeout_in_seconds: 30,
      });
      x.outputs.console_1 = { type: 'console', config: { destination: 'standard' } };
      Object.assign(x.globals, { multiprocessing: false, devo_sender_compression_level: 6, devo_sender_compression_buffer_in_bytes: 51200, devo_sender_threshold_for_using_gzip_in_transport_layer: 1.1 });
      Object.assign(dt(x), { environment: 'prod', proxy: null, requests_limits: [{ period: '1d', number_of_requests: -1 }] });
    });
    expect(c.outputs[0]!.type).toBe('devo_platform');
    expect(c.outputs[0]!.stallTimeoutMs).toBe(30_000);
    expect(c.inputs[0]!.requestsLimits).toEqual([{ period: '1d', periodMs: 86_400_000, numberOfRequests: -1 }]);
  });

  it('takes override_tag as an alias of override_devo_tag and accepts the vendor example tag my.app.test2', () => {
    const c = ok((x) => {
      ms(x).override_tag = 'my.app.test2';
      dt(x).services.antigena = { override_devo_tag: 'my.app.devo.com', override_tag: 'my.app.devo.com' };
    });
    const [mb, , an] = c.inputs[0]!.services;
    expect(mb!.tag).toBe('my.app.test2');
    expect(mb!.overridingRules[0]).toEqual({ serviceKey: 'override_tag', value: 'my.app.test2', definitionKey: 'devo_tag', definitionValue: 'edr.darktrace.respond.model_breach' });
    expect(an!.tag).toBe('my.app.devo.com');
    expect(c.inputs[0]!.services[1]!.overridingRules[0]).toMatchObject({ serviceKey: 'override_tag', value: null });
  });

  it('parses requests_limits at the input and the service, including the single-mapping 2022 form', () => {
    const c = ok((x) => {
      dt(x).requests_limits = [{ period: '1m', number_of_requests: 30 }, { period: '1d', number_of_requests: 10000 }];
      ms(x).requests_limits = { period: '10s', number_of_requests: 2, behavior: 'wait' };
    });
    expect(c.inputs[0]!.requestsLimits!.map((l) => l.periodMs)).toEqual([60_000, 86_400_000]);
    expect(c.inputs[0]!.services[0]!.requestsLimits).toEqual([{ period: '10s', periodMs: 10_000, numberOfRequests: 2 }]);
    expect(c.inputs[0]!.services[1]!.requestsLimits).toBeNull();
  });

  it('resolves ${VAR} in any string value, with $${ for a literal ${', () => {
    const c = ok((x) => {
      dt(x).credentials.public_token = '${DT_PUB}';
      dt(x).credentials.private_token = 'pre-${DT_PRIV}-post';
      x.outputs.devo_1.config.address = 'collector-${REGION}.devo.io';
      x.globals.name = 'a$${b}';
    }, { DT_PUB: 'from-env-public-0123', DT_PRIV: 'secret', REGION: 'us' });
    expect(c.inputs[0]!.credentials).toEqual({ publicToken: 'from-env-public-0123', privateToken: 'pre-secret-post' });
    expect(c.outputs[0]!.address).toBe('collector-us.devo.io');
    expect(c.globals.name).toBe('a${b}');
  });

  it('checks a resolved value like any other; a missing variable names the variable, never a value', () => {
    let err: unknown;
    try {
      ok((x) => (dt(x).credentials.instance = '${DT_INSTANCE}'), { DT_INSTANCE: 'https://dt.example.com/with/path' });
    } catch (e) {
      err = e;
    }
    expect((err as InitVariablesError).code).toBe(41); // the resolved value is checked like any other
    let missing: unknown;
    try {
      ok((x) => (dt(x).credentials.private_token = '${DT_PRIV_MISSING}'), { DT_PUB: PUB });
    } catch (e) {
      missing = e;
    }
    expect(String(missing)).toBe('InitVariablesError(59): inputs.darktrace.credentials.private_token references the environment variable DT_PRIV_MISSING, which is not set');
  });

  it('reads public_token_file / private_token_file, trimmed', () => {
    writeFileSync(path.join(cwd, 'pub.secret'), `  ${PUB}\n`);
    writeFileSync(path.join(cwd, 'priv.secret'), `${PRIV}\n`);
    const c = ok((x) => {
      const cr = dt(x).credentials;
      delete cr.public_token;
      delete cr.private_token;
      cr.public_token_file = 'pub.secret';
      cr.private_token_file = path.join(cwd, 'priv.secret');
    });
    expect(c.inputs[0]!.credentials).toEqual({ publicToken: PUB, privateToken: PRIV });
  });
});

describe('the known-key table', () => {
  it('lists every key the compiler reads (a key read but not listed could never be set)', async () => {
    const { KNOWN_KEYS } = await import('../src/config/known-keys.js');
    const leaves = new Set(KNOWN_KEYS.flatMap((k) => k.replace(/\[\]/g, '').split('.')));
    const read = new Set<string>();
    for (const f of ['input-config.ts', 'outputs-config.ts', 'globals-config.ts', 'requests-limits.ts', 'token-files.ts']) {
      const text = readFileSync(path.resolve(here, '../src/config', f), 'utf8');
      for (const m of text.matchAll(/\b[a-z]\.([a-z]+(?:_[a-z0-9]+)+)\b/g)) read.add(m[1]!);
      for (const m of text.matchAll(/^\s+([a-z]+(?:_[a-z0-9]+)+): \{ type/gm)) read.add(m[1]!);
    }
    expect(read.size).toBeGreaterThan(20);
    expect([...read].filter((k) => !leaves.has(k))).toEqual([]);
  });
});

describe('shipped example configurations', () => {
  for (const f of ['config/config.example.yaml', 'config/demo.yaml']) {
    it(`${f} uses known keys only`, async () => {
      const { checkKnownKeys } = await import('../src/config/known-keys.js');
      const raw = parse(readFileSync(path.resolve(here, '../../..', f), 'utf8'));
      expect(() => checkKnownKeys(raw)).not.toThrow();
    });
  }
});
