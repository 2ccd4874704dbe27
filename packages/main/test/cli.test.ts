/** The real CLI as an operator runs it: bad configs exit 2 with the documented id, no stack, no token. */
import { describe, expect, it } from 'vitest';
import { PRIV, PUB, baseConfig, makeWorkspace, runCollector, writeConfig } from './helpers/collector.js';

function assertClean(output: string): void {
  expect(output).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m); // no stack frames
  expect(output).not.toContain(PUB);
  expect(output).not.toContain(PRIV);
}

describe('CLI', () => {
  it('--help and --version', async () => {
    const h = runCollector(makeWorkspace(), { args: ['--help'] });
    expect((await h.exit).code).toBe(0);
    expect(h.output()).toContain('--config FILE');
    const v = runCollector(makeWorkspace(), { args: ['--version'] });
    expect((await v.exit).code).toBe(0);
    expect(v.output()).toMatch(/^\d+\.\d+\.\d+$/m);
  });

  it('exits 2 with InitVariablesError(20) when inputs.darktrace is missing', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig('http://127.0.0.1:9');
    delete cfg.inputs.darktrace;
    writeConfig(dir, cfg);
    const c = runCollector(dir); // resolves under config/
    expect((await c.exit).code).toBe(2);
    expect(c.output()).toMatch(/ERROR MainProcess::MainThread -> InitVariablesError\(20\): inputs\.darktrace mandatory property is missing or empty/);
    assertClean(c.output());
  });

  it('exits 2 with the id for a bad value, never printing the tokens', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig('http://127.0.0.1:9');
    cfg.inputs.darktrace.services.modelbreaches.start_time_in_utc_format = 'yesterday';
    writeConfig(dir, cfg, 'c.yaml', '.');
    const c = runCollector(dir, { args: ['--config', 'c.yaml'] });
    expect((await c.exit).code).toBe(2);
    expect(c.output()).toContain('InitVariablesError(34)');
    assertClean(c.output());
  });

  it('exits 2 for a missing file, invalid YAML, unknown flags, and no config at all', async () => {
    const dir = makeWorkspace();
    const missing = runCollector(dir, { args: ['--config', 'nope.yaml'] });
    expect((await missing.exit).code).toBe(2);
    expect(missing.output()).toContain('InitVariablesError(51)');
    writeConfig(dir, 'globals: [unclosed', 'bad.yaml');
    const bad = runCollector(dir, { args: ['--config', 'bad.yaml'] });
    expect((await bad.exit).code).toBe(2);
    expect(bad.output()).toContain('InitVariablesError(52)');
    const flag = runCollector(dir, { args: ['--confg', 'x'] });
    expect((await flag.exit).code).toBe(2);
    const none = runCollector(dir, { args: ['--job-config', `${dir}/j.json`, '--collector-config', `${dir}/c.json`] });
    expect((await none.exit).code).toBe(2);
    expect(none.output()).toContain('InitVariablesError(51)');
    for (const c of [missing, bad, flag, none]) assertClean(c.output());
  });

  it('logs the documented configuration-loading lines', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig('http://127.0.0.1:9');
    delete cfg.inputs.darktrace.credentials;
    writeConfig(dir, cfg);
    const c = runCollector(dir);
    await c.exit;
    expect(c.output()).toMatch(/INFO MainProcess::MainThread -> Loading configuration using the following files: \{"full_config":"config.yaml"/);
    expect(c.output()).toContain('Using the default location for "job_config_loc" file: "/etc/devo/job/job_config.json"');
    expect(c.output()).toMatch(/Results of validation of config files parameters: \{"config":".*config\/config.yaml","config_validated":true/);
    expect(c.output()).toContain('InitVariablesError(22)');
  });

  it('reads Collector Server mode files', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig('http://127.0.0.1:9');
    delete cfg.inputs.darktrace.credentials.instance;
    writeConfig(dir, JSON.stringify({ global_overrides: {}, inputs: cfg.inputs }), 'job.json', '.');
    writeConfig(dir, JSON.stringify({ job_id: 7, job_name: 'dt job', loggers: [{ type: 'console' }] }), 'collector.json', '.');
    const c = runCollector(dir, { args: ['--job-config', 'job.json', '--collector-config', 'collector.json'] });
    expect((await c.exit).code).toBe(2);
    expect(c.output()).toContain('InitVariablesError(28)');
  });
});
