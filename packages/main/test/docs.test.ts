/** The docs match the code: every config key the compiler reads and every error id it can raise is documented; every package README maps its src files. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/collector.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const read = (p: string) => readFileSync(path.join(repoRoot, p), 'utf8');

describe('docs match the code', () => {
  it('documents every configuration key read by the config compiler', () => {
    const doc = read('docs/configuration.md');
    const files = sources(path.join(repoRoot, 'packages/common/src/config')).concat(path.join(repoRoot, 'packages/main/src/config-loader.ts'));
    const keys = new Set<string>();
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      // property reads of snake_case keys (`s.request_period_in_seconds`) and schema keys (`queue_max_size_in_mb: {`)
      for (const m of text.matchAll(/\.([a-z]+(?:_[a-z0-9]+)+)\b/g)) keys.add(m[1]!);
      for (const m of text.matchAll(/^\s+([a-z]+(?:_[a-z0-9]+)+): \{ type/gm)) keys.add(m[1]!);
    }
    expect(keys.size).toBeGreaterThan(20);
    const missing = [...keys].filter((k) => !doc.includes(k));
    expect(missing).toEqual([]);
  });

  it('documents every key of the known-key table (the keys an unknown-key error accepts)', async () => {
    const { KNOWN_KEYS } = await import('@devo-collector/common');
    const doc = read('docs/configuration.md');
    const names = new Set(KNOWN_KEYS.map((k) => k.split('.').pop()!));
    expect(names.size).toBeGreaterThan(50);
    // `name`, `a.b.name`, or in a list of names (`a` / `name`, `a`, `name`).
    const documented = (n: string) => new RegExp(`[\`.]${n}\``).test(doc) || new RegExp(`[/,] \`?${n}\b`).test(doc);
    expect([...names].filter((n) => !documented(n))).toEqual([]);
  });

  it('documents every error id the code can raise', () => {
    const doc = read('docs/errors.md');
    const ids = new Set<number>();
    for (const pkg of ['common', 'main', 'darktrace', 'input', 'output']) {
      for (const f of sources(path.join(repoRoot, 'packages', pkg, 'src'))) {
        const text = readFileSync(f, 'utf8');
        for (const m of text.matchAll(/\bfail\((\d+),/g)) ids.add(Number(m[1]));
        for (const m of text.matchAll(/new (?:InitVariablesError|SetupError|PullError|OutputError|RuntimeError)\((\d+)/g)) ids.add(Number(m[1]));
      }
    }
    expect(ids.size).toBeGreaterThan(40);
    const documented = (id: number) => new RegExp(`^\\| ${id} \\|`, 'm').test(doc) || (id >= 400 && id < 500 && doc.includes('| 400-499 |'));
    expect([...ids].filter((id) => !documented(id))).toEqual([]);
    for (let i = 1; i <= 35; i++) expect(documented(i), `id ${i}`).toBe(true);
  });
});

describe('operations doc', () => {
  it('documents every metric the collector exports', () => {
    const doc = read('docs/operations.md');
    const src = read('packages/main/src/metrics.ts');
    const names = new Set<string>();
    for (const m of src.matchAll(/this\.(?:counter|gauge)\(\s*[`'"]([a-z_${}]+)[`'"]/g)) {
      const n = m[1]!;
      if (n.includes('${g}')) for (const g of ['standard', 'lookup', 'internal']) names.add(n.replace('${g}', g));
      else names.add(n);
    }
    expect(names.size).toBeGreaterThan(15);
    const documented = (n: string) => doc.includes(`\`${n}\``) || doc.includes(`\`${n.replace(/_(counter|bytes)$/, '_counter')}\` / \`_bytes\``);
    expect([...names].filter((n) => !documented(n))).toEqual([]);
  });
});

describe('package READMEs', () => {
  // Each package README maps every file under src (one row each) and answers "where does X happen",
  // so the maps cannot go stale: a new src file fails here until its row is added.
  it('maps every src file of every package in its README', () => {
    const packages = readdirSync(path.join(repoRoot, 'packages')).filter((p) => statSync(path.join(repoRoot, 'packages', p, 'src')).isDirectory());
    expect(packages.length).toBeGreaterThanOrEqual(6);
    for (const pkg of packages) {
      const dir = path.join(repoRoot, 'packages', pkg);
      const readme = read(`packages/${pkg}/README.md`);
      const start = readme.indexOf('\n## File map\n');
      expect(start, `${pkg}/README.md has a "## File map" section`).toBeGreaterThanOrEqual(0);
      const end = readme.indexOf('\n## ', start + 1);
      const map = readme.slice(start, end < 0 ? undefined : end);
      const files = allFiles(path.join(dir, 'src')).map((f) => path.relative(dir, f).split(path.sep).join('/'));
      expect(files.length).toBeGreaterThan(0);
      expect(files.filter((f) => !new RegExp(`^\\| \`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\` \\| .+\\|$`, 'm').test(map)), `${pkg}: src files missing from the file map`).toEqual([]);
      // and every row names a file that exists (a renamed or deleted file leaves no stale row)
      const rows = [...map.matchAll(/^\| `(src\/[^`]+)` \|/gm)].map((m) => m[1]!);
      expect(rows.filter((r) => !files.includes(r)), `${pkg}: file map rows without a file`).toEqual([]);
      expect(readme, `${pkg}/README.md answers "where does X happen"`).toMatch(/^## Where does X happen\n(?:\n?- \*\*Where .+\?\*\* .+\n(?: {2}.+\n)*){3,}/m);
    }
  });
});

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...allFiles(p));
    else out.push(p);
  }
  return out;
}
