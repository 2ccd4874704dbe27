/**
 * Helpers of the deploy tests (Kubernetes manifests, Prometheus rules, the Grafana dashboard):
 * running the real tools (kubectl, podman, promtool, prometheus) and reading what they render.
 * Receivers, certificates, ports, polling and the collector runner come from packages/testkit.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEPLOY = path.join(ROOT, 'deploy');
export const BASE_DIR = path.join(DEPLOY, 'kubernetes', 'base');
export const TWO_TENANTS_DIR = path.join(DEPLOY, 'kubernetes', 'examples', 'two-tenants');
export const ALERTS_FILE = path.join(DEPLOY, 'prometheus', 'alerts.yml');
export const ALERTS_TEST_FILE = path.join(DEPLOY, 'prometheus', 'alerts.test.yml');
const DASHBOARD_FILE = path.join(DEPLOY, 'grafana', 'dashboard.json');

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; rejects (with its output) on a non-zero exit unless allowFail. */
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; allowFail?: boolean; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      reject(missing ? new Error(`${cmd} is not installed: scripts/setup.sh installs podman, runc and prometheus (promtool); kubectl comes with the machine image`) : e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const r = { code: code ?? -1, stdout, stderr };
      if (r.code !== 0 && !opts.allowFail) {
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${r.code}\n--- stdout\n${tail(stdout)}\n--- stderr\n${tail(stderr)}`));
      } else resolve(r);
    });
  });
}

export const tail = (s: string, lines = 40): string => s.split('\n').slice(-lines).join('\n');

export async function httpStatus(url: string): Promise<number> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

// ---- Kubernetes YAML -------------------------------------------------------------------------------

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, any>;

/** `kubectl kustomize DIR`, parsed into objects. */
export async function kustomize(dir: string): Promise<{ text: string; objects: K8sObject[] }> {
  const r = await run('kubectl', ['kustomize', dir], { timeoutMs: 60_000 });
  return { text: r.stdout, objects: parseStream(r.stdout) };
}

function parseStream(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

// ---- metric names used by the rules and the dashboard ---------------------------------------------

const PROMQL_WORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan',
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'changes', 'resets', 'abs', 'absent', 'absent_over_time', 'clamp_min', 'clamp_max',
  'max_over_time', 'min_over_time', 'avg_over_time', 'sum_over_time', 'count_over_time', 'last_over_time', 'predict_linear', 'time', 'vector',
  'scalar', 'label_replace', 'label_join', 'histogram_quantile', 'round', 'ceil', 'floor', 'timestamp', 'sort', 'sort_desc', 'present_over_time',
]);

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, label names or strings. */
export function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const noMatchers = noStrings.replace(/\{[^}]*\}/g, '{}'); // label matchers
  const noGrouping = noMatchers.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1()');
  const noRanges = noGrouping.replace(/\[[^\]]*\]/g, '[]');
  const names = new Set<string>();
  for (const m of noRanges.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const w = m[0];
    const after = noRanges.slice((m.index ?? 0) + w.length).trimStart();
    if (PROMQL_WORDS.has(w.toLowerCase()) || after.startsWith('(')) continue;
    if (/^\d/.test(w) || /^[smhdwy]$/.test(w)) continue;
    if (w.startsWith('$')) continue;
    names.add(w);
  }
  return [...names];
}

/** Every expression of deploy/prometheus/alerts.yml (alert and recording rules). */
export function alertExpressions(): { name: string; expr: string }[] {
  const doc = parseYaml(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ name: r.alert ?? r.record ?? '?', expr: String(r.expr) })));
}

/** Every target expression of deploy/grafana/dashboard.json (panels, rows' panels, template queries). */
export function dashboardExpressions(): { panel: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: any[]; templating?: { list?: any[] } };
  const out: { panel: string; expr: string }[] = [];
  const visit = (panels: any[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push({ panel: String(p.title), expr: t.expr });
      if (Array.isArray(p.panels)) visit(p.panels);
    }
  };
  visit(dash.panels);
  for (const v of dash.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (v.type === 'query' && typeof q === 'string') {
      const m = /label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)/.exec(q);
      out.push({ panel: `variable ${v.name}`, expr: m ? m[1]! : q });
    }
  }
  return out;
}

/** Metric names in a Prometheus text exposition (`# TYPE` lines and samples). */
export function exposedMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) /.exec(line);
    if (t) {
      names.add(t[1]!);
      continue;
    }
    const s = /^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/.exec(line);
    if (s) names.add(s[1]!);
  }
  return names;
}
