/**
 * Configuration never hides a mistake, and secrets can live outside the file: the real collector
 * (dist/main.js, forked) against the real simulator (it checks every signature), console output.
 * Tokens from `${VAR}` and from `*_token_file`; unknown keys, override_tag, enabled: false,
 * requests_limits enforced on the simulator's own request log, and a corrupt state file.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { PRIV, PUB, baseConfig, makeWorkspace, runCollector, writeConfig, type RunningCollector } from './helpers/collector.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 5, modelBreachesPerHour: 6 });
});
afterAll(async () => {
  await sim.close();
});

const NO_STACK = /^\s+at .+:\d+:\d+\)?$/m;

function assertClean(c: RunningCollector): void {
  expect(c.output()).not.toMatch(NO_STACK);
  expect(c.output()).not.toContain(PUB);
  expect(c.output()).not.toContain(PRIV);
}

/** Runs the collector in `dir` until it validated the tokens and delivered a breach; stops it (exit 0). */
async function collectsWith(dir: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const c = runCollector(dir, { env });
  try {
    await c.waitFor(/Tokens have been validated successfully/, 30_000);
    await c.waitFor(/"message_tag":"edr\.darktrace\.respond\.model_breach"/, 30_000);
  } finally {
    expect((await c.stop()).code).toBe(0);
  }
  assertClean(c);
}

describe('secrets outside the config file', () => {
  it('collects with tokens from ${VAR} references', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig(sim.url);
    cfg.inputs.darktrace.credentials.public_token = '${DT_PUBLIC_TOKEN}';
    cfg.inputs.darktrace.credentials.private_token = '${DT_PRIVATE_TOKEN}';
    writeConfig(dir, cfg);
    await collectsWith(dir, { DT_PUBLIC_TOKEN: PUB, DT_PRIVATE_TOKEN: PRIV });
  });

  it('collects with tokens from public_token_file / private_token_file (content trimmed)', async () => {
    const dir = makeWorkspace();
    mkdirSync(path.join(dir, 'secrets'));
    writeFileSync(path.join(dir, 'secrets', 'pub'), `${PUB}\n`, { mode: 0o600 });
    writeFileSync(path.join(dir, 'secrets', 'priv'), `  ${PRIV}\r\n`, { mode: 0o600 });
    const cfg = baseConfig(sim.url);
    const cr = cfg.inputs.darktrace.credentials;
    delete cr.public_token;
    delete cr.private_token;
    cr.public_token_file = 'secrets/pub';
    cr.private_token_file = path.join(dir, 'secrets', 'priv');
    writeConfig(dir, cfg);
    await collectsWith(dir);
  });

  it('exits 2 with the id for a missing variable, both token forms, and an unreadable token file', async () => {
    const dir = makeWorkspace();
    const cases: Array<[(cfg: Record<string, any>) => void, RegExp]> = [
      [(cfg) => (cfg.inputs.darktrace.credentials.private_token = '${DT_UNSET_PRIVATE}'),
        /InitVariablesError\(59\): inputs\.darktrace\.credentials\.private_token references the environment variable DT_UNSET_PRIVATE, which is not set/],
      [(cfg) => (cfg.inputs.darktrace.credentials.public_token_file = 'pub'),
        /InitVariablesError\(60\): inputs\.darktrace\.credentials\.public_token and inputs\.darktrace\.credentials\.public_token_file are both set/],
      [(cfg) => {
        delete cfg.inputs.darktrace.credentials.private_token;
        cfg.inputs.darktrace.credentials.private_token_file = 'not-a-file'; // a directory: unreadable even for root
      }, /InitVariablesError\(61\): inputs\.darktrace\.credentials\.private_token_file file ".*not-a-file" cannot be read \(EISDIR\)/],
      [(cfg) => {
        delete cfg.inputs.darktrace.credentials.private_token;
        cfg.inputs.darktrace.credentials.private_token_file = 'empty';
      }, /InitVariablesError\(61\): inputs\.darktrace\.credentials\.private_token_file file ".*empty" is empty/],
    ];
    mkdirSync(path.join(dir, 'not-a-file'));
    writeFileSync(path.join(dir, 'empty'), '\n');
    for (const [edit, re] of cases) {
      const cfg = baseConfig(sim.url);
      edit(cfg);
      writeConfig(dir, cfg);
      const c = runCollector(dir);
      expect((await c.exit).code).toBe(2);
      expect(c.output()).toMatch(re);
      assertClean(c);
    }
  });
});

describe('configuration never hides a mistake', () => {
  it('exits 2 on an unknown key, naming its path and the closest known key', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig(sim.url);
    cfg.inputs.darktrace.services.modelbreaches.overide_devo_tag = 'my.app.test2';
    writeConfig(dir, cfg);
    const c = runCollector(dir);
    expect((await c.exit).code).toBe(2);
    expect(c.output()).toMatch(
      /ERROR MainProcess::MainThread -> InitVariablesError\(56\): inputs\.darktrace\.services\.modelbreaches\.overide_devo_tag is not a known key \(did you mean override_devo_tag\?\)/,
    );
    assertClean(c);
  });

  it('honours override_tag with the vendor\'s init_variables() lines, and warns about a disabled input', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig(sim.url);
    cfg.inputs.darktrace.services.modelbreaches.override_tag = 'my.app.test2';
    writeConfig(dir, cfg);
    const c = runCollector(dir);
    try {
      await c.waitFor(/"message_tag":"my\.app\.test2"/, 30_000);
    } finally {
      expect((await c.stop()).code).toBe(0);
    }
    const owner = 'CollectorDarktracePuller\\(darktrace#10001,modelbreaches#predefined\\)';
    const seq = [
      `INFO InputProcess::MainThread -> ${owner} Starting the execution of init_variables\\(\\)`,
      'INFO InputProcess::MainThread -> Running overriding rules',
      'INFO InputProcess::MainThread -> Overriding rule #1 - service key <override_tag> with value <my\\.app\\.test2> overrides definition key <devo_tag> with value <edr\\.darktrace\\.respond\\.model_breach> when the first is not <None>',
      'INFO InputProcess::MainThread -> Validating the rate limiter config given by the user',
      'INFO InputProcess::MainThread -> <requests_limits> setting has not been defined\\. The generic settings will be used instead\\.',
      `INFO InputProcess::MainThread -> ${owner} Finalizing the execution of init_variables\\(\\)`,
    ].map((s) => new RegExp(s));
    let at = -1;
    for (const re of seq) {
      const i = c.lines.findIndex((l, n) => n > at && re.test(l));
      expect(i, `${re} after line ${at}`).toBeGreaterThan(at);
      at = i;
    }
    expect(c.output()).not.toMatch(/"message_tag":"edr\.darktrace\.respond\.model_breach"/);

    const off = baseConfig(sim.url);
    off.inputs.darktrace.enabled = false;
    writeConfig(dir, off);
    const d = runCollector(dir);
    try {
      await d.waitFor(/WARNING MainProcess::MainThread -> Input "darktrace" \(id 10001\) has "enabled: false": nothing will be collected from it/, 20_000);
      await d.waitFor(/Started all objects from "MainProcess" process/, 20_000); // signal handlers in place
    } finally {
      expect((await d.stop()).code).toBe(0);
    }
  });

  it('enforces requests_limits on every request the appliance sees, setup included', async () => {
    const limited = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 9, modelBreachesPerHour: 4 });
    try {
      const dir = makeWorkspace();
      const cfg = baseConfig(limited.url);
      // A 6-hour backfill in 1-hour windows: without the limit, 7+ requests within the first second.
      cfg.inputs.darktrace.services.modelbreaches = {
        start_time_in_utc_format: new Date(Date.now() - 6 * 3600_000).toISOString().slice(0, 19),
        request_period_in_seconds: 1,
        requests_limits: [{ period: '2s', number_of_requests: 2 }],
      };
      cfg.inputs.darktrace.services.summarystatistics = { request_period_in_seconds: 1 };
      cfg.inputs.darktrace.requests_limits = [{ period: '3s', number_of_requests: 4 }];
      writeConfig(dir, cfg);
      const c = runCollector(dir);
      try {
        await c.waitFor(/<requests_limits> setting has been defined \(input: 4 requests every 3s; service: 2 requests every 2s\)/, 20_000);
        await c.waitFor(/Rate limiter: inputs\.darktrace\.(services\.modelbreaches\.)?requests_limits\[0\] \(\d requests every \ds\) reached/, 30_000);
        await expect.poll(() => limited.requestLog().filter((e) => e.path === '/modelbreaches').length, { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(6);
      } finally {
        expect((await c.stop()).code).toBe(0);
      }
      const log = limited.requestLog();
      const maxIn = (times: number[], periodMs: number): number => {
        let best = 0;
        for (let i = 0, j = 0; j < times.length; j++) {
          while (times[j]! - times[i]! >= periodMs) i++;
          best = Math.max(best, j - i + 1);
        }
        return best;
      };
      const mb = log.filter((e) => e.path === '/modelbreaches').map((e) => e.timeMs);
      const all = log.map((e) => e.timeMs);
      expect(mb.length).toBeGreaterThanOrEqual(6);
      expect(maxIn(mb, 2000)).toBeLessThanOrEqual(2);
      expect(maxIn(all, 3000)).toBeLessThanOrEqual(4);
      // The limit binds (a window holds as many as it allows), so the check above could fail.
      expect(maxIn(all, 3000)).toBe(4);
    } finally {
      await limited.close();
    }
  });
});

describe('corrupt state', () => {
  it('stops the start with RuntimeError(501) naming the file and the remedy, and leaves the file as it was', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig(sim.url);
    writeConfig(dir, cfg);
    mkdirSync(path.join(dir, 'state'));
    const file = path.join(dir, 'state', 'darktrace;10001;modelbreaches.json');
    const text = '{"persistence_version":1,"input_name":"darktrace","cursor_ms":17';
    writeFileSync(file, text, { mode: 0o600 });
    const before = statSync(file);
    const c = runCollector(dir);
    const exit = await c.exit;
    expect(exit.code).not.toBe(0);
    expect(c.lines.filter((l) => l.includes('RuntimeError(501)'))).toHaveLength(1);
    const line = c.lines.find((l) => l.includes('RuntimeError(501)'));
    expect(line).toBeDefined();
    expect(line).toContain(`The state file "${file}" is corrupt (not valid JSON:`);
    expect(line).toMatch(/Nothing was changed\. Restore it from a backup, or remove it to start this service's state again \(the service then collects again from start_time_in_utc_format \(/);
    expect(c.lines.filter((l) => /ERROR MainProcess::MainThread -> The collector cannot start: .*RuntimeError\(501\)/.test(l))).toHaveLength(1);
    assertClean(c);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
  });
});
