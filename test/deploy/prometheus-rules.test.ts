/**
 * deploy/prometheus/alerts.yml with the real promtool (Debian's `prometheus` package, installed by
 * scripts/setup.sh): the rules check, the unit tests in alerts.test.yml pass, every alert has a
 * firing and a silent case there, and the unit tests catch a broken rule.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ALERTS_FILE, ALERTS_TEST_FILE, alertExpressions, run } from './helpers.js';

interface RuleTest {
  name: string;
  input_series: { series: string; values: string }[];
  alert_rule_test: { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string> }[] }[];
}

describe('prometheus alerting rules (promtool)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('promtool check rules: valid', async () => {
    const r = await run('promtool', ['check', 'rules', ALERTS_FILE], { allowFail: true });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${alertExpressions().length} rules found`);
  });

  it('promtool test rules: every alert fires for a collector in trouble and stays silent for a healthy one', async () => {
    const r = await run('promtool', ['test', 'rules', ALERTS_TEST_FILE], { allowFail: true, cwd: path.dirname(ALERTS_TEST_FILE) });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('SUCCESS');

    const tests = (parseYaml(await readFile(ALERTS_TEST_FILE, 'utf8')) as { tests: RuleTest[] }).tests;
    for (const { name: alert } of alertExpressions()) {
      const cases = tests.flatMap((t) => t.alert_rule_test.filter((c) => c.alertname === alert).map((c) => ({ t, c })));
      const firing = cases.filter(({ c }) => c.exp_alerts.length > 0);
      expect(firing.length, `${alert}: a case where it fires`).toBeGreaterThan(0);
      // Silent: a case expecting no alert, or an instance in the same input that never fires.
      const silent = cases.some(({ t, c }) => {
        if (c.exp_alerts.length === 0) return true;
        const instances = new Set(t.input_series.map((s) => /instance="([^"]+)"/.exec(s.series)?.[1]).filter(Boolean));
        const fired = new Set(c.exp_alerts.map((a) => a.exp_labels['instance']));
        return [...instances].some((i) => !fired.has(i));
      });
      expect(silent, `${alert}: a case where it stays silent`).toBe(true);
    }
  });

  it('the unit tests catch a broken rule', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'darktrace-rules-'));
    dirs.push(dir);
    const rules = await readFile(ALERTS_FILE, 'utf8');
    const broken = rules.replace('expr: module_global_status == 0', 'expr: module_global_status == 1');
    expect(broken).not.toBe(rules);
    await writeFile(path.join(dir, 'alerts.yml'), broken);
    await copyFile(ALERTS_TEST_FILE, path.join(dir, 'alerts.test.yml'));
    const r = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { allowFail: true, cwd: dir });
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain('alertname: DarktraceCollectorNotReady');
  });
});
