/**
 * The real Prometheus (Debian's `prometheus` package, installed by scripts/setup.sh) scraping a
 * running collector: dist/main.js forked against the Darktrace simulator, delivering over mutual
 * TLS to a receiver (a devo_platform output, so the certificate metrics exist too). Prometheus
 * loads deploy/prometheus/alerts.yml; its query API must return module_global_status, and its rule
 * API must show every rule evaluated without error.
 *
 * The same collector's /metrics must expose every metric that alerts.yml and
 * deploy/grafana/dashboard.json use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { type Collector, freePort, makeWorkspace, startTlsReceiver, type TlsReceiver, until, writeConfig } from '@devo-collector/testkit';
import { PRIV, PUB, artifactsRoot, collectorConfig, makeCerts, runCollector, tlsOutput } from '../reliability/helpers.js';
import { ALERTS_FILE, alertExpressions, dashboardExpressions, exposedMetricNames, metricNames } from './helpers.js';

const HOUR = 3_600_000;

describe('prometheus scraping a running collector', () => {
  let sim: Simulator;
  let receiver: TlsReceiver;
  let collector: Collector;
  let prometheus: ChildProcess | null = null;
  let promLog = '';
  let webPort = 0;
  let promPort = 0;
  let promDir = '';

  beforeAll(async () => {
    const root = artifactsRoot('prometheus-scrape');
    const certs = makeCerts(root);
    sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, host: '127.0.0.1', port: 0, seed: 5, dataStartMs: Date.now() - 3 * HOUR, modelBreachesPerHour: 20 });
    receiver = await startTlsReceiver(certs);
    webPort = await freePort();
    const ws = makeWorkspace(path.join(root, 'collector'));
    const start = new Date(Math.floor((Date.now() - 2 * HOUR) / HOUR) * HOUR).toISOString().slice(0, 19);
    writeConfig(ws, collectorConfig({
      simUrl: sim.url,
      outputs: tlsOutput(receiver.port, certs),
      services: { modelbreaches: { start_time_in_utc_format: start, request_period_in_seconds: 2 }, status: { request_period_in_seconds: 3 } },
      globals: { sender_stats_period_in_sec: 2, web_service: { enabled: true, host: '127.0.0.1', port: webPort } },
    }));
    collector = runCollector(ws);
    await until(async () => (await fetch(`http://127.0.0.1:${webPort}/ready`).then((r) => r.status, () => 0)) === 200, 60_000, 'the collector /ready',
      () => collector.lines.slice(-30).join('\n'));

    promPort = await freePort();
    promDir = mkdtempSync(path.join(tmpdir(), 'darktrace-prometheus-'));
    writeFileSync(path.join(promDir, 'prometheus.yml'), stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [ALERTS_FILE],
      scrape_configs: [{ job_name: 'devo-collector-darktrace', static_configs: [{ targets: [`127.0.0.1:${webPort}`] }] }],
    }));
    prometheus = spawn('prometheus', [
      `--config.file=${path.join(promDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ], { cwd: promDir, stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout!.on('data', (d: Buffer) => (promLog += d.toString()));
    prometheus.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
    prometheus.once('error', (e) => (promLog += `\nspawn error: ${e.message} (is Debian's prometheus package installed? scripts/setup.sh installs it)`));
    await until(async () => (await fetch(`http://127.0.0.1:${promPort}/-/ready`).then((r) => r.status, () => 0)) === 200, 60_000, 'prometheus /-/ready',
      () => promLog.split('\n').slice(-20).join('\n'));
  }, 120_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      const t = setTimeout(() => prometheus!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    await collector?.stop();
    await sim?.close();
    await receiver?.stop();
    if (promDir) rmSync(promDir, { recursive: true, force: true });
  }, 60_000);

  it('the query API returns module_global_status of the scraped collector; every rule evaluates', async () => {
    type QueryResult = { status: string; data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
    let last: QueryResult | null = null;
    await until(async () => {
      const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=module_global_status`);
      last = (await r.json()) as QueryResult;
      return last.status === 'success' && last.data.result.length === 1 && last.data.result[0]!.value[1] === '1';
    }, 60_000, 'module_global_status = 1 in the query API', () => `${JSON.stringify(last)}\n${promLog.split('\n').slice(-10).join('\n')}`);
    const sample = last!.data.result[0]!;
    expect(sample.metric).toEqual({ __name__: 'module_global_status', instance: `127.0.0.1:${webPort}`, job: 'devo-collector-darktrace' });

    // The alert rules loaded and evaluated against real series without errors; a ready collector
    // fires none of them.
    type RulesResult = { data: { groups: { rules: { name: string; health: string; lastError?: string; state: string }[] }[] } };
    const expected = alertExpressions().map((a) => a.name).sort();
    let rules: RulesResult['data']['groups'][number]['rules'] = [];
    await until(async () => {
      const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/rules`)).json()) as RulesResult;
      rules = r.data.groups.flatMap((g) => g.rules);
      return rules.length === expected.length && rules.every((x) => x.health === 'ok');
    }, 30_000, 'every rule evaluated', () => JSON.stringify(rules));
    expect(rules.map((x) => x.name).sort()).toEqual(expected);
    expect(rules.filter((x) => x.state !== 'inactive').map((x) => x.name)).toEqual([]);
  });

  it('every metric used by alerts.yml and dashboard.json exists in the collector\'s /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${webPort}/metrics`)).text();
    const exposed = exposedMetricNames(text);
    expect(exposed.has('module_global_status')).toBe(true);
    const used = new Map<string, string>();
    for (const { name, expr } of alertExpressions()) for (const m of metricNames(expr)) used.set(m, `alerts.yml ${name}`);
    for (const { panel, expr } of dashboardExpressions()) for (const m of metricNames(expr)) used.set(m, `dashboard.json "${panel}"`);
    expect(used.size).toBeGreaterThan(10);
    const missing = [...used].filter(([m]) => !exposed.has(m)).map(([m, where]) => `${m} (${where})`);
    expect(missing, 'metrics used but not exposed').toEqual([]);
  });
});

describe('metric name extraction', () => {
  it('finds metric names in PromQL, not functions, labels, strings or durations', () => {
    expect(metricNames('sum by (instance, service) (rate(msg_incoming_received{instance=~"$instance"}[5m]))')).toEqual(['msg_incoming_received']);
    expect(metricNames('spool_bytes / spool_max_bytes > 0.8').sort()).toEqual(['spool_bytes', 'spool_max_bytes']);
    expect(metricNames('cursor_lag_seconds > 3600 and deriv(cursor_lag_seconds[15m]) > 0.5')).toEqual(['cursor_lag_seconds']);
    expect(metricNames('output_state{state="stalled"} == 1')).toEqual(['output_state']);
    expect(metricNames('certificate_expiry_seconds < 14 * 86400')).toEqual(['certificate_expiry_seconds']);
    expect(metricNames('increase(pull_errors{error_id="PullError(300)"}[1h])')).toEqual(['pull_errors']);
  });
});
